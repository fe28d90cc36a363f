import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// Business units and applications: what each owns, its findings and scores, and (for the CCoE)
/// their definitions as the same YAML `canopy org import` reads.
extension ConsoleController {
    static let unassigned = "-"

    func unitName(_ id: String?, _ ownership: Ownership, _ t: Localizer) -> String {
        guard let id else { return t("units.none") }
        return ownership.businessUnit(id)?.displayName(zh: t.language == .zhTW) ?? id
    }

    @Sendable func businessUnits(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let summary = try await dependencies.cache.ownershipSummary(scope: p.scope, dependencies: dependencies)
        let ownership = try await dependencies.cache.ownership(store)
        var body = "<h1>\(HTML.escape(t("units.title")))</h1><p>\(HTML.escape(t(ownership.businessUnits.isEmpty ? "units.implicit" : "units.intro")))</p>"
        if p.user.role.canManageOwnership {
            body += "<p><a class=\"button\" href=\"/business-units/edit\">\(HTML.escape(t("units.edit")))</a></p>"
        }
        body += "<section class=\"tiles\">"
        for unit in summary.units {
            let name = unit.unit.displayName(zh: p.zh)
            body += "<article class=\"tile\"><h2><a href=\"/business-units/\(HTML.escape(unit.unit.id))\">\(HTML.escape(name))</a></h2>"
            body += Chart.gauge(unit.passRate, title: "\(name) — \(t("overview.passRate"))")
            body += "<p>\(unit.resources) \(HTML.escape(t("units.resources"))) · \(unit.openFindings) \(HTML.escape(t("units.openFindings")))<br>"
            body += "\(unit.accounts.count) \(HTML.escape(t("units.accounts"))) · \(unit.applications.count) \(HTML.escape(t("units.applications")))</p></article>"
        }
        body += "</section><h2>\(HTML.escape(t("units.applicationsTitle")))</h2>"
        body += HTML.table(
            [t("col.application"), t("col.businessUnit"), t("col.tier"), t("col.rtoRpo"), t("col.resources"), t("col.openFindings"), t("overview.passRate")],
            summary.applications.map { app in
                let a = app.application
                return [
                    "<a href=\"/applications/\(HTML.escape(a.id))\">\(HTML.escape(a.displayName(zh: p.zh)))</a>",
                    HTML.escape(a.businessUnit.isEmpty ? "" : unitName(a.businessUnit, ownership, t)), HTML.escape(a.tier ?? ""),
                    HTML.escape(Self.objectives(a)), String(app.resources), String(app.openFindings), Layout.percent(app.passRate),
                ]
            })
        body += "<p><a href=\"/inventory?application=\(Self.unassigned)\">\(summary.unassignedResources) \(HTML.escape(t("units.unassigned")))</a>"
        if summary.resourcesWithoutUnit > 0 {
            body += " · <a href=\"/inventory?unit=\(Self.unassigned)\">\(summary.resourcesWithoutUnit) \(HTML.escape(t("units.withoutUnit")))</a>"
        }
        body += "</p>"
        return render(p, context, title: t("units.title"), active: "/business-units", path: "/business-units", body)
    }

    static func objectives(_ app: CanopyModel.Application) -> String {
        guard app.rtoMinutes != nil || app.rpoMinutes != nil else { return "" }
        return [app.rtoMinutes, app.rpoMinutes].map { $0.map { "\($0) min" } ?? "–" }.joined(separator: " / ")
    }

    @Sendable func businessUnit(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let id = context.parameters.get("unit") ?? ""
        let summary = try await dependencies.cache.ownershipSummary(scope: p.scope, dependencies: dependencies)
        // A unit outside a bu-owner's scope reads exactly like one that does not exist.
        guard let unit = summary.units.first(where: { $0.unit.id == id }) else { throw p.notFound() }
        let name = unit.unit.displayName(zh: p.zh)
        var body = "<h1>\(HTML.escape(name))</h1><p>"
        body += [
            unit.unit.owners.isEmpty ? nil : "\(t("col.owners")): \(unit.unit.owners.joined(separator: ", "))",
            unit.unit.costCenter.map { "\(t("col.costCenter")): \($0)" },
            unit.unit.organizationalUnits.isEmpty ? nil : "\(t("col.ou")): \(unit.unit.organizationalUnits.joined(separator: ", "))",
        ].compactMap { $0.map(HTML.escape) }.joined(separator: " · ") + "</p>"
        body += "<p><a href=\"/findings\(HTML.escape(HTML.query([("unit", id)])))\">\(unit.openFindings) \(HTML.escape(t("units.openFindings")))</a> · "
        body += "<a href=\"/inventory\(HTML.escape(HTML.query([("unit", id)])))\">\(unit.resources) \(HTML.escape(t("units.resources")))</a></p>"
        body += "<section class=\"row\"><div>" + Chart.gauge(unit.passRate, title: "\(name) — \(t("overview.passRate"))") + "</div><div>"
        let severities = (1...5).reversed().map { (label: Layout.severityName($0, t), value: Severity(ocsfID: $0).flatMap { unit.openBySeverity[$0.rawValue] } ?? 0, colour: Chart.severityColours[$0]) }
        body += "<h2>\(HTML.escape(t("overview.openFindings")))</h2>" + Chart.bars(severities, title: "\(name) — \(t("overview.openFindings"))") + "</div></section>"
        // Every framework's score over this unit's accounts (within what the user may see).
        let unitScope = AccessScope(accounts: Set(unit.accounts))
        let frameworks = dependencies.engine.frameworks
        let assessments = try await dependencies.cache.assessments(frameworks.map(\.id), level: nil, scope: unitScope, dependencies: dependencies)
        body += "<h2>\(HTML.escape(t("nav.compliance")))</h2>" + HTML.table(
            [t("col.framework"), t("overview.passRate"), t("status.failed")],
            zip(frameworks, assessments).map { framework, a in
                [
                    "<a href=\"/compliance/\(HTML.escape(framework.id))\">\(HTML.escape(p.zh ? (framework.nameZh ?? framework.name) : framework.name))</a>",
                    Layout.percent(a.summary.passRate), String(a.summary.counts["failed"] ?? 0),
                ]
            })
        let accounts = try await store.accounts().filter { unit.accounts.contains($0.id) }
        body += "<h2>\(HTML.escape(t("units.accountsTitle")))</h2>" + HTML.table(
            [t("col.account"), t("col.name"), t("col.ou")],
            accounts.map { [HTML.escape($0.id), HTML.escape($0.name), HTML.escape($0.organizationalUnit ?? "")] })
        let apps = summary.applications.filter { $0.application.businessUnit == id }
        body += "<h2>\(HTML.escape(t("units.applicationsTitle")))</h2>" + HTML.table(
            [t("col.application"), t("col.tier"), t("col.rtoRpo"), t("col.resources"), t("col.openFindings"), t("overview.passRate")],
            apps.map { app in
                [
                    "<a href=\"/applications/\(HTML.escape(app.application.id))\">\(HTML.escape(app.application.displayName(zh: p.zh)))</a>",
                    HTML.escape(app.application.tier ?? ""), HTML.escape(Self.objectives(app.application)), String(app.resources),
                    String(app.openFindings), Layout.percent(app.passRate),
                ]
            })
        return render(p, context, title: name, active: "/business-units", path: "/business-units/\(id)", body)
    }

    @Sendable func application(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let id = context.parameters.get("application") ?? ""
        let summary = try await dependencies.cache.ownershipSummary(scope: p.scope, dependencies: dependencies)
        guard let app = summary.applications.first(where: { $0.application.id == id }) else { throw p.notFound() }
        let ownership = try await dependencies.cache.ownership(store)
        let a = app.application
        let name = a.displayName(zh: p.zh)
        var body = "<h1>\(HTML.escape(name))</h1><dl class=\"facts\">"
        let selector = a.selector.tags.sorted { $0.key < $1.key }.map { "tag:\($0.key) ∈ {\($0.value.joined(separator: ", "))}" }
            + (a.selector.accounts.isEmpty ? [] : ["account ∈ {\(a.selector.accounts.joined(separator: ", "))}"])
            + (a.selector.types.isEmpty ? [] : ["type ∈ {\(a.selector.types.joined(separator: ", "))}"])
            + (a.selector.regions.isEmpty ? [] : ["region ∈ {\(a.selector.regions.joined(separator: ", "))}"])
        let facts: [(String, String)] = [
            (t("col.businessUnit"), a.businessUnit.isEmpty ? "" : unitName(a.businessUnit, ownership, t)), (t("col.tier"), a.tier ?? "–"),
            (t("col.rto"), a.rtoMinutes.map { "\($0) min" } ?? "–"), (t("col.rpo"), a.rpoMinutes.map { "\($0) min" } ?? "–"),
            (t("col.owners"), a.owners.joined(separator: ", ")), (t("col.selector"), selector.joined(separator: " ∧ ")),
            (t("overview.passRate"), Layout.percent(app.passRate)),
        ]
        body += facts.map { "<dt>\(HTML.escape($0.0))</dt><dd>\(HTML.escape($0.1))</dd>" }.joined() + "</dl>"
        let findings = try await store.findings(FindingQuery(accounts: p.scope.accountList, statuses: [.new, .inProgress], application: id, limit: 200))
        body += "<h2>\(HTML.escape(t("overview.openFindings"))) (\(app.openFindings))</h2>" + HTML.table(
            [t("col.severity"), t("col.check"), t("col.resource"), t("col.status")],
            findings.map { f in
                [
                    "<span class=\"sev sev\(f.severityID)\">\(HTML.escape(Layout.severityName(f.severityID, t)))</span>", HTML.escape(f.title),
                    "<a href=\"/resource\(HTML.escape(HTML.query([("uid", f.resourceUID)])))\">\(HTML.escape(f.resourceName))</a>",
                    HTML.escape(t("status.\(f.status.rawValue)")),
                ]
            })
        let resources = try await dependencies.cache.resources(store).filter { p.scope.allows($0.account) && ownership.applicationID(of: $0) == id }
        body += "<h2>\(HTML.escape(t("units.resourcesTitle"))) (\(resources.count))</h2>" + HTML.table(
            [t("col.name"), t("col.type"), t("col.account"), t("col.region")],
            resources.prefix(500).map { r in
                [
                    "<a href=\"/resource\(HTML.escape(HTML.query([("uid", r.uid)])))\">\(HTML.escape(r.name))</a>", HTML.escape(r.type),
                    HTML.escape(r.account), HTML.escape(r.region),
                ]
            })
        return render(p, context, title: name, active: "/business-units", path: "/applications/\(id)", body)
    }

    /// The definitions as YAML in a text area: what `canopy org export` writes.
    @Sendable func editOwnership(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        guard p.user.role.canManageOwnership else { throw p.forbidden() }
        return try await ownershipEditor(p, context, text: OwnershipFile.render(try await store.ownership()), error: nil)
    }

    func ownershipEditor(_ p: Page, _ context: CanopyRequestContext, text: String, error: String?) async throws -> Response {
        let t = p.t
        var body = "<h1>\(HTML.escape(t("units.edit")))</h1><p>\(HTML.escape(t("units.editHelp")))</p>"
        body += HTML.alert(error)
        body += "<form method=\"post\" action=\"/business-units/edit\" class=\"stack\">" + Self.csrfField(context)
        body += "<label for=\"ownership\">ownership.yaml</label><textarea id=\"ownership\" name=\"yaml\" rows=\"28\" spellcheck=\"false\">\(HTML.escape(text))</textarea>"
        body += "<button type=\"submit\">\(HTML.escape(t("action.save")))</button></form>"
        var response = render(p, context, title: t("units.edit"), active: "/business-units", path: "/business-units/edit", body)
        if error != nil { response.status = .badRequest }
        return response
    }

    /// Saves the whole file at once (all or nothing), then re-evaluates so findings follow.
    @Sendable func saveOwnership(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageOwnership }
        let text = form["yaml"] ?? ""
        let ownership: Ownership
        do { ownership = try OwnershipFile.parse(text, file: "ownership.yaml") } catch let error as PolicyError {
            return try await ownershipEditor(p, context, text: text, error: "\(error)")
        }
        do {
            if try await store.replaceOwnership(ownership, actor: p.user.name) { try await dependencies.engine.refresh(store: store) }
        } catch let error as StoreError {
            return try await ownershipEditor(p, context, text: text, error: "\(error)")
        }
        return Layout.redirect("/business-units")
    }
}

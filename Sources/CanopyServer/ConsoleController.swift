import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// The console's pages. Every query runs with the user's scope, so a business-unit owner never
/// reads another unit's resources or findings, whatever id they put in the address.
struct ConsoleController {
    let dependencies: ServerDependencies
    var store: any CanopyStore { dependencies.store }

    func addRoutes(to router: Router<CanopyRequestContext>) {
        router.get("", use: overview)
        router.get("inventory", use: inventory)
        router.get("resource", use: resource)
        router.get("findings", use: findings)
        router.post("findings/triage", use: triage)
        router.get("compliance", use: compliance)
        router.get("compliance/:framework", use: framework)
        router.get("compliance/:framework/report", use: report)
        router.get("scans", use: scans)
        router.get("scans/diff", use: scanDiff)
        router.get("audit", use: audit)
        router.get("audit/export.csv", use: auditExport)
        router.get("costs", use: costs)
        router.get("costs/chargeback", use: chargeback)
        router.get("carbon", use: carbon)
        router.get("lake", use: lake)
        router.get("security", use: security)
        router.get("security/finding", use: securityFinding)
        router.post("security/triage", use: triageSecurity)
        router.post("security/suppressions", use: createSuppression)
        router.post("security/suppressions/delete", use: deleteSuppression)
        router.get("hosts", use: hosts)
        router.post("hosts/baseline", use: applyHostBaseline)
        router.post("hosts/enrollments", use: enrollHost)
        router.post("hosts/enrollments/revoke", use: revokeHostEnrollment)
        router.get("business-units", use: businessUnits)
        router.get("business-units/edit", use: editOwnership)
        router.post("business-units/edit", use: saveOwnership)
        router.get("business-units/:unit", use: businessUnit)
        router.get("applications/:application", use: application)
        router.get("exceptions", use: exceptions)
        router.post("exceptions", use: requestException)
        router.post("exceptions/decide", use: decideException)
        router.get("settings", use: settings)
        router.post("settings/users", use: createUser)
        router.post("settings/users/update", use: updateUser)
        router.post("settings/tokens", use: createToken)
        router.post("settings/tokens/revoke", use: revokeToken)
        router.post("settings/webhooks", use: createWebhook)
        router.post("settings/webhooks/test", use: testWebhook)
        router.post("settings/webhooks/delete", use: deleteWebhook)
    }

    struct Page {
        var user: User
        var scope: AccessScope
        var t: Localizer
        var zh: Bool { t.language == .zhTW }

        func forbidden() -> PageError { PageError(status: .forbidden, titleKey: "error.forbidden", detail: t("error.role"), language: t.language) }
        func notFound() -> PageError { PageError(status: .notFound, titleKey: "error.notFound", detail: t("error.notFoundDetail"), language: t.language) }
        func badRequest(_ detail: String) -> PageError { PageError(status: .badRequest, titleKey: "error.badRequest", detail: detail, language: t.language) }
    }

    /// A state-changing form post: the session's CSRF token must come back with it, and the
    /// user's role must allow the action.
    func formPost(_ request: Request, _ context: CanopyRequestContext, allowed: (Role) -> Bool) async throws -> (Page, [String: String]) {
        let p = try await page(request, context)
        let form = try await request.form(context: context)
        guard let session = context.session, Secrets.equal(form["csrf"] ?? "", session.csrfToken) else {
            throw PageError(status: .forbidden, titleKey: "error.forbidden", detail: "CSRF", language: p.t.language)
        }
        guard allowed(p.user.role) else { throw p.forbidden() }
        return (p, form)
    }

    /// The hidden field every form carries.
    static func csrfField(_ context: CanopyRequestContext) -> String {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(context.session?.csrfToken ?? ""))\">"
    }

    func page(_ request: Request, _ context: CanopyRequestContext) async throws -> Page {
        let user = try context.consoleUser(request)
        return Page(user: user, scope: try await AccessScope.of(user, store: store), t: Localizer(language: context.language, catalogue: dependencies.catalogue))
    }

    func render(_ p: Page, _ context: CanopyRequestContext, title: String, active: String, path: String, _ body: String) -> Response {
        Layout.response(Layout.page(title: title, body: body, t: p.t, user: p.user, active: active, path: path, csrf: context.session?.csrfToken))
    }

    @Sendable func overview(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let open = try await store.findings(FindingQuery(accounts: p.scope.accountList, statuses: [.new, .inProgress]))
        let bySeverity = Dictionary(grouping: open, by: \.severityID).mapValues(\.count)
        var body = "<h1>\(HTML.escape(t("overview.title")))</h1><section class=\"tiles\">"
        let frameworks = dependencies.engine.frameworks
        let assessments = try await dependencies.cache.assessments(frameworks.map(\.id), level: nil, scope: p.scope, dependencies: dependencies)
        for (framework, a) in zip(frameworks, assessments) {
            let name = t.language == .zhTW ? (framework.nameZh ?? framework.name) : framework.name
            body += "<article class=\"tile\"><h2><a href=\"/compliance/\(HTML.escape(framework.id))\">\(HTML.escape(name))</a></h2>"
            body += Chart.gauge(a.summary.passRate, title: "\(name) — \(t("overview.passRate"))")
            body += "<p>\(HTML.escape(t("overview.passRate"))): \(Layout.percent(a.summary.passRate))</p>"
            body += Chart.sparkline(a.trend.compactMap(\.passRate), title: "\(name) — \(t("overview.trend"))") + "</article>"
        }
        body += "</section><section class=\"row\"><div><h2>\(HTML.escape(t("overview.openFindings"))) (\(open.count))</h2>"
        let severities = (1...5).reversed().map { (label: Layout.severityName($0, t), value: bySeverity[$0] ?? 0, colour: Chart.severityColours[$0]) }
        body += Chart.bars(severities, title: t("overview.openFindings"))
        var perCheck: [String: Int] = [:]
        for finding in open { perCheck[finding.checkID, default: 0] += 1 }
        let topChecks: [(check: String, count: Int)] = perCheck.map { (check: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.check < $1.check }
        body += "</div><div><h2>\(HTML.escape(t("overview.topChecks")))</h2>"
        let rows: [[String]] = topChecks.prefix(8).map { item in
            let link = "/findings" + HTML.query([("check", item.check)])
            return ["<a href=\"\(HTML.escape(link))\">\(HTML.escape(item.check))</a>", String(item.count)]
        }
        body += HTML.table([t("col.check"), t("col.count")], rows)
        body += "</div></section>"
        let summary = try await dependencies.cache.ownershipSummary(scope: p.scope, dependencies: dependencies)
        body += "<h2><a href=\"/business-units\">\(HTML.escape(t("overview.businessUnits")))</a></h2><section class=\"tiles\">"
        for unit in summary.units {
            let name = unit.unit.displayName(zh: p.zh)
            body += "<article class=\"tile\"><h3><a href=\"/business-units/\(HTML.escape(unit.unit.id))\">\(HTML.escape(name))</a></h3>"
                + Chart.gauge(unit.passRate, title: "\(name) — \(t("overview.passRate"))")
                + "<p>\(unit.openFindings) \(HTML.escape(t("units.openFindings"))) · \(unit.resources) \(HTML.escape(t("units.resources")))</p></article>"
        }
        body += "</section>"
        let resources = try await dependencies.cache.resources(store).filter { p.scope.allows($0.account) }
        let byType = Dictionary(grouping: resources, by: \.type).map { (label: $0.key, value: $0.value.count, colour: String?.none) }.sorted { $0.value > $1.value }.prefix(10)
        body += "<h2>\(HTML.escape(t("overview.resources"))) (\(resources.count))</h2>" + Chart.bars(Array(byType), title: t("overview.resources"))
        return render(p, context, title: t("overview.title"), active: "/", path: "/", body)
    }

    /// Business-unit and application pickers for a filter form ("-": what none claims).
    func ownershipFilters(_ p: Page, selectedUnit: String?, selectedApplication: String?) async throws -> String {
        let t = p.t
        let summary = try await dependencies.cache.ownershipSummary(scope: p.scope, dependencies: dependencies)
        func options(_ items: [(id: String, name: String)], selected: String?) -> String {
            "<option value=\"\">\(HTML.escape(t("filter.any")))</option>"
                + (items + [(id: Self.unassigned, name: t("units.none"))]).map {
                    "<option value=\"\(HTML.escape($0.id))\"\($0.id == selected ? " selected" : "")>\(HTML.escape($0.name))</option>"
                }.joined()
        }
        return "<label>\(HTML.escape(t("col.businessUnit"))) <select name=\"unit\">"
            + options(summary.units.map { (id: $0.unit.id, name: $0.unit.displayName(zh: p.zh)) }, selected: selectedUnit) + "</select></label>"
            + "<label>\(HTML.escape(t("col.application"))) <select name=\"application\">"
            + options(summary.applications.map { (id: $0.application.id, name: $0.application.displayName(zh: p.zh)) }, selected: selectedApplication)
            + "</select></label>"
    }

    @Sendable func inventory(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        func parameter(_ name: String) -> String? { q.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        let type = parameter("type").map { $0.contains(".") ? $0 : "aws.\($0)" }
        var accounts = p.scope.accountList
        if let account = parameter("account") {
            accounts = p.scope.allows(account) ? [account] : []
        }
        var tags: [String: String?] = [:]
        if let tag = parameter("tag") {
            let pair = tag.split(separator: "=", maxSplits: 1).map(String.init)
            tags[pair[0]] = pair.count > 1 ? pair[1] : nil
        }
        let provider = try parameter("provider").map { text in
            guard let provider = Provider(rawValue: text) else { throw p.badRequest("provider: \(text)") }
            return provider
        }
        let region = parameter("region")
        let unit = parameter("unit")
        let application = parameter("application")
        let allowed = accounts.map(Set.init)
        let ownership = try await dependencies.cache.ownership(store)
        let accountsByID = Dictionary(try await store.accounts().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let matching = try await dependencies.cache.resources(store).lazy.filter { r in
            (type == nil || r.type == type) && (allowed?.contains(r.account) ?? true) && (region == nil || r.region == region)
                && (provider == nil || r.provider == provider)
                && tags.allSatisfy { key, value in value.map { r.tags[key] == $0 } ?? (r.tags[key] != nil) }
                && (application == nil || (ownership.applicationID(of: r) ?? Self.unassigned) == application)
                && (unit == nil || (ownership.businessUnitID(of: r, account: accountsByID[r.account]) ?? Self.unassigned) == unit)
        }
        let total = matching.count
        let resources = Array(matching.prefix(500))
        var body = "<h1>\(HTML.escape(t("inventory.title")))</h1><form method=\"get\" action=\"/inventory\" class=\"filters\">"
        body += "<label>\(HTML.escape(t("col.provider"))) <select name=\"provider\"><option value=\"\">\(HTML.escape(t("filter.any")))</option>"
        for option in Provider.allCases {
            body += "<option value=\"\(option.rawValue)\"\(option == provider ? " selected" : "")>\(HTML.escape(t("provider.\(option.rawValue)")))</option>"
        }
        body += "</select></label>"
        for (name, label) in [("type", "col.type"), ("account", "col.account"), ("region", "col.region"), ("tag", "col.tag")] {
            body += "<label>\(HTML.escape(t(label))) <input name=\"\(name)\" value=\"\(HTML.escape(q.get(name) ?? ""))\"></label>"
        }
        body += try await ownershipFilters(p, selectedUnit: unit, selectedApplication: application)
        body += "<button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form>"
        body += "<p>\(total) \(HTML.escape(t("inventory.shown")))\(total > resources.count ? " (\(resources.count))" : "")</p>"
        body += HTML.table(
            [t("col.name"), t("col.type"), t("col.account"), t("col.region"), t("col.application"), t("col.tags")],
            resources.map { r in
                let app = ownership.applicationID(of: r)
                return [
                    "<a href=\"/resource\(HTML.escape(HTML.query([("uid", r.uid)])))\">\(HTML.escape(r.name))</a>", HTML.escape(r.type), HTML.escape(r.account),
                    HTML.escape(r.region), app.map { "<a href=\"/applications/\(HTML.escape($0))\">\(HTML.escape(ownership.application($0)?.displayName(zh: p.zh) ?? $0))</a>" } ?? "",
                    HTML.escape(r.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
                ]
            })
        return render(p, context, title: t("inventory.title"), active: "/inventory", path: "/inventory", body)
    }

    @Sendable func resource(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        guard let uid = request.uri.queryParameters.get("uid"),
            let resource = try await store.resource(uid: uid), p.scope.allows(resource.account)
        else {
            // Out of scope reads exactly like absent: nothing tells a guesser the id exists.
            throw PageError(status: .notFound, titleKey: "error.notFound", detail: t("error.notFoundDetail"), language: t.language)
        }
        let timeline = try await store.timeline(uid: uid)
        let findings = try await store.findings(FindingQuery(statuses: nil, resourceUID: uid))
        var body = "<h1>\(HTML.escape(resource.name))</h1><p><code>\(HTML.escape(resource.uid))</code><br>\(HTML.escape(resource.type)) · \(HTML.escape(resource.account)) · \(HTML.escape(resource.region))</p>"
        body += "<h2>\(HTML.escape(t("resource.findings")))</h2>" + HTML.table(
            [t("col.check"), t("col.severity"), t("col.status"), t("col.lastSeen")],
            findings.map { [HTML.escape($0.title), HTML.escape(Layout.severityName($0.severityID, t)), HTML.escape(t("status.\($0.status.rawValue)")), HTML.escape(Timestamps.iso8601($0.lastSeen))] })
        body += "<h2>\(HTML.escape(t("resource.tags")))</h2>" + HTML.table([t("col.key"), t("col.value")], resource.tags.sorted { $0.key < $1.key }.map { [HTML.escape($0.key), HTML.escape($0.value)] })
        body += "<h2>\(HTML.escape(t("resource.timeline")))</h2>" + HTML.table(
            [t("col.scan"), t("col.change"), t("col.details")],
            timeline.map { change in
                [String(change.scanID), HTML.escape(t("change.\(change.kind.rawValue)")), HTML.escape(change.differences.prefix(5).map { "\($0.path): \($0.before?.compactText ?? "∅") → \($0.after?.compactText ?? "∅")" }.joined(separator: "; "))]
            })
        body += "<h2>\(HTML.escape(t("resource.properties")))</h2><pre>\(HTML.escape(Self.pretty(resource.properties)))</pre>"
        return render(p, context, title: resource.name, active: "/inventory", path: "/resource", body)
    }

    static func pretty(_ value: JSONValue) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value.canonicalJSON().utf8)),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { return value.canonicalJSON() }
        return String(decoding: data, as: UTF8.self)
    }
}

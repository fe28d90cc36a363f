import CanopyLake
import CanopyModel
import CanopyPolicy
import CanopySecurity
import CanopyStore
import Foundation
import Hummingbird

/// The findings hub in the console: every source in one list, most urgent first, with whose it
/// is and why it was raised; one finding with its events and triage; suppression rules.
extension ConsoleController {
    @Sendable func security(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        func parameter(_ name: String) -> String? { q.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        let filter: SecurityFindingFilter
        do {
            filter = try FindingsHub.filter(
                accounts: p.scope.accountList, source: parameter("source"), findingClass: parameter("class"), severity: parameter("severity"),
                status: parameter("status"))
        } catch let problem as FindingsHub.ParameterProblem {
            throw p.badRequest(problem.message)
        }
        let unit = parameter("unit").flatMap { $0 == Self.unassigned ? nil : $0 }
        let application = parameter("application").flatMap { $0 == Self.unassigned ? nil : $0 }
        let overdue = parameter("overdue") == "1"
        let views = try await FindingsHub.list(
            store: store, FindingsHub.Selection(filter: filter, overdueOnly: overdue, businessUnit: unit, application: application))

        var body = "<h1>\(HTML.escape(t("security.title")))</h1>"
        let open = views.filter(\.status.isOpen)
        let tiles: [(String, String, String)] = [
            (t("security.open"), String(open.count), ""), (t("security.critical"), String(open.filter { $0.priority >= 5 }.count), open.contains { $0.priority >= 5 } ? "failed" : ""),
            (t("security.overdue"), String(open.filter(\.overdue).count), open.contains(where: \.overdue) ? "failed" : ""),
            (t("security.correlated"), String(open.filter { !$0.reasons.isEmpty }.count), ""),
            (t("security.detections"), String(open.filter { $0.finding.findingClass == .detection }.count), ""),
        ]
        body += "<div class=\"tiles\">" + tiles.map { "<div class=\"tile \($0.2)\"><span>\(HTML.escape($0.0))</span><strong>\(HTML.escape($0.1))</strong></div>" }.joined() + "</div>"

        let sources = Set(try await store.securityFindings(SecurityFindingFilter(accounts: p.scope.accountList), limit: nil).map(\.source))
            .union([FindingsHub.guardrailSource]).sorted()
        body += "<form method=\"get\" action=\"/security\" class=\"filters\">"
        body += "<label>\(HTML.escape(t("security.source"))) <select name=\"source\"><option value=\"\">\(HTML.escape(t("filter.any")))</option>"
            + sources.map { "<option\(parameter("source") == $0 ? " selected" : "")>\(HTML.escape($0))</option>" }.joined() + "</select></label>"
        body += "<label>\(HTML.escape(t("security.class"))) <select name=\"class\"><option value=\"\">\(HTML.escape(t("filter.any")))</option>"
            + SecurityFinding.FindingClass.allCases.map { c in
                "<option value=\"\(c)\"\(parameter("class") == "\(c)" ? " selected" : "")>\(HTML.escape(t("security.class.\(c)")))</option>"
            }.joined() + "</select></label>"
        body += try await ownershipFilters(p, selectedUnit: parameter("unit"), selectedApplication: parameter("application"))
        body += "<label>\(HTML.escape(t("col.severity"))) <select name=\"severity\"><option value=\"\">\(HTML.escape(t("filter.any")))</option>"
        for severity in Severity.allCases.reversed() {
            body += "<option value=\"\(severity.rawValue)\"\(parameter("severity") == severity.rawValue ? " selected" : "")>≥ \(HTML.escape(Layout.severityName(severity.ocsfID, t)))</option>"
        }
        body += "</select></label><label>\(HTML.escape(t("col.status"))) <select name=\"status\"><option value=\"\">\(HTML.escape(t("findings.openAndWaived")))</option>"
        for status in FindingStatus.allCases.map(\.rawValue) + ["all"] {
            body += "<option value=\"\(status)\"\(parameter("status") == status ? " selected" : "")>\(HTML.escape(t("status.\(status)")))</option>"
        }
        body += "</select></label><label><input type=\"checkbox\" name=\"overdue\" value=\"1\"\(overdue ? " checked" : "")> \(HTML.escape(t("security.overdueOnly")))</label>"
        body += "<button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form>"

        let shown = views.prefix(500)
        body += "<p>\(views.count) \(HTML.escape(t("findings.shown")))\(views.count > shown.count ? " (\(shown.count))" : "")</p>"
        body += HTML.table(
            [t("security.priority"), t("col.severity"), t("security.source"), t("security.finding"), t("col.businessUnit"), t("col.application"), t("col.resource"),
             t("col.status"), t("security.due"), t("security.why")],
            shown.map { view in
                let f = view.finding
                let due = view.dueAt.map { (view.overdue ? "<strong class=\"failed\">\(HTML.escape(t("security.overdue")))</strong> " : "") + HTML.escape(String(Timestamps.iso8601($0).prefix(10))) } ?? ""
                return [
                    "<span class=\"sev sev\(view.priority)\">\(HTML.escape(Layout.severityName(view.priority, t)))</span>",
                    "<span class=\"sev sev\(f.severityID)\">\(HTML.escape(Layout.severityName(f.severityID, t)))</span>", HTML.escape(f.source),
                    "<a href=\"/security/finding\(HTML.escape(HTML.query([("uid", f.uid)])))\">\(HTML.escape(f.title))</a>",
                    HTML.escape(view.context.businessUnit ?? ""),
                    HTML.escape(view.context.application ?? "") + (view.context.criticality.map { " <small>\(HTML.escape($0))</small>" } ?? ""),
                    HTML.escape(f.resourceUID ?? f.principal ?? ""), HTML.escape(t("status.\(view.status.rawValue)")), due,
                    HTML.escape(view.reasons.joined(separator: "; ")),
                ]
            })
        let export = "/api/v1/security/findings" + HTML.query(
            [("source", parameter("source") ?? ""), ("class", parameter("class") ?? ""), ("severity", parameter("severity") ?? ""), ("status", parameter("status") ?? "")])
        body += "<p><a href=\"\(HTML.escape(export + (export.contains("?") ? "&" : "?") + "format=ocsf"))\">OCSF JSON</a> · <a href=\"\(HTML.escape(export))\">JSON</a></p>"
        body += try await suppressionSection(p, context)
        return render(p, context, title: t("security.title"), active: "/security", path: "/security", body)
    }

    func suppressionSection(_ p: Page, _ context: CanopyRequestContext) async throws -> String {
        let t = p.t
        let rules = try await store.findingSuppressions().filter(p.scope.mayRead)
        let now = Date()
        var body = "<h2>\(HTML.escape(t("security.suppressions")))</h2>"
        let canManage = p.user.role.canApproveExceptions
        if rules.isEmpty {
            body += "<p>\(HTML.escape(t("security.noSuppressions")))</p>"
        } else {
            body += HTML.table(
                [t("security.source"), t("security.rule"), t("col.resource"), t("col.account"), t("security.reason"), t("security.expires"), t("security.by")]
                    + (canManage ? [""] : []),
                rules.map { r in
                    var row = [
                        HTML.escape(r.source ?? "*"), HTML.escape(r.ruleID ?? "*"), HTML.escape(r.resourceUID ?? "*"), HTML.escape(r.account ?? "*"), HTML.escape(r.reason),
                        HTML.escape(String(Timestamps.iso8601(r.expiresAt).prefix(10))) + (r.isActive(at: now) ? "" : " (\(HTML.escape(t("security.expired"))))"), HTML.escape(r.createdBy),
                    ]
                    if canManage {
                        row.append(
                            "<form method=\"post\" action=\"/security/suppressions/delete\" class=\"inline\">\(Self.csrfField(context))<input type=\"hidden\" name=\"id\" value=\"\(r.id)\"><button type=\"submit\">\(HTML.escape(t("security.remove")))</button></form>")
                    }
                    return row
                })
        }
        if canManage {
            body += "<form method=\"post\" action=\"/security/suppressions\" class=\"filters\">\(Self.csrfField(context))"
            for (name, label) in [("source", t("security.source")), ("rule", t("security.rule")), ("resource", t("col.resource")), ("account", t("col.account"))] {
                body += "<label>\(HTML.escape(label)) <input name=\"\(name)\"></label>"
            }
            body += "<label>\(HTML.escape(t("security.reason"))) <input name=\"reason\" required size=\"40\"></label>"
            body += "<label>\(HTML.escape(t("security.days"))) <input name=\"days\" type=\"number\" min=\"1\" max=\"366\" value=\"30\" required></label>"
            body += "<button type=\"submit\">\(HTML.escape(t("security.suppress")))</button></form>"
        }
        return body
    }

    @Sendable func securityFinding(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let uid = request.uri.queryParameters.get("uid") ?? ""
        guard let view = try await FindingsHub.view(uid: uid, store: store), p.scope.allows(view.finding.account) else { throw p.notFound() }
        let f = view.finding
        var body = "<h1>\(HTML.escape(f.title))</h1>"
        var facts: [(String, String)] = [
            (t("security.source"), HTML.escape("\(f.source) · \(t("security.class.\(f.findingClass)"))")), (t("security.rule"), HTML.escape(f.ruleID)),
            (t("col.severity"), "<span class=\"sev sev\(f.severityID)\">\(HTML.escape(Layout.severityName(f.severityID, t)))</span>"),
            (t("security.priority"), "<span class=\"sev sev\(view.priority)\">\(HTML.escape(Layout.severityName(view.priority, t)))</span>"),
            (t("col.status"), HTML.escape(t("status.\(view.status.rawValue)")) + (view.suppression.map { " — " + HTML.escape($0.reason) } ?? "")),
            (t("col.account"), HTML.escape(view.context.accountName.map { "\($0) (\(f.account))" } ?? f.account) + (f.region.isEmpty ? "" : " · " + HTML.escape(f.region))),
            (t("col.businessUnit"), HTML.escape(view.context.businessUnit ?? "—")),
            (t("col.application"), HTML.escape(view.context.application ?? "—") + (view.context.criticality.map { " (\(HTML.escape($0)))" } ?? "")),
            (t("security.environment"), HTML.escape(view.context.environment ?? "—")), (t("security.owners"), HTML.escape(view.context.owners.joined(separator: ", "))),
            (t("col.resource"), f.resourceUID.map { uid in
                view.context.inInventory ? "<a href=\"/resource\(HTML.escape(HTML.query([("uid", uid)])))\">\(HTML.escape(uid))</a>" : HTML.escape(uid)
            } ?? "—"),
            (t("security.seen"), HTML.escape("\(Timestamps.iso8601(f.firstSeen)) … \(Timestamps.iso8601(f.lastSeen))")),
            (t("security.due"), view.dueAt.map { HTML.escape(Timestamps.iso8601($0)) + (view.overdue ? " <strong class=\"failed\">\(HTML.escape(t("security.overdue")))</strong>" : "") } ?? "—"),
        ]
        if let principal = f.principal { facts.append((t("lake.principal"), HTML.escape(principal))) }
        if !f.techniques.isEmpty { facts.append(("MITRE ATT&CK", HTML.escape(f.techniques.joined(separator: ", ")))) }
        if let assignee = f.assignee { facts.append((t("col.assignee"), HTML.escape(assignee))) }
        if let note = f.note { facts.append((t("security.note"), HTML.escape(note))) }
        body += "<dl class=\"facts\">" + facts.map { "<dt>\(HTML.escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
        if !view.reasons.isEmpty {
            body += "<h2>\(HTML.escape(t("security.why")))</h2><ul>" + view.reasons.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        }
        if !f.description.isEmpty { body += "<p>\(HTML.escape(f.description))</p>" }
        let events = try await store.securityFindingEvents(uid: uid)
        if !events.isEmpty, p.user.role.canReadActivity {
            var rows: [[String]] = []
            for id in events.prefix(100) {
                guard let e = try await store.lakeEvents(LakeFilter(clauses: [.init(field: .eventID, op: .equal, value: id)], accounts: p.scope.accountList), limit: 1).first
                else { continue }
                rows.append([
                    HTML.escape(Timestamps.iso8601(e.eventTime)), HTML.escape(e.eventSource), HTML.escape(e.eventName), HTML.escape(e.userARN ?? e.userType ?? ""),
                    HTML.escape(e.sourceIP ?? ""), "<a href=\"/lake\(HTML.escape(HTML.query([("q", "eventID=\(e.eventID)")])))\">\(HTML.escape(e.eventID))</a>",
                ])
            }
            body += "<h2>\(HTML.escape(t("lake.events"))) (\(events.count))</h2>"
                + HTML.table([t("col.time"), t("lake.source"), t("lake.event"), t("lake.principal"), t("lake.ip"), "eventID"], rows)
        }
        if p.user.role.canTriage {
            body += "<h2>\(HTML.escape(t("col.triage")))</h2><form method=\"post\" action=\"/security/triage\" class=\"filters\">\(Self.csrfField(context))"
                + "<input type=\"hidden\" name=\"uid\" value=\"\(HTML.escape(uid))\"><label>\(HTML.escape(t("col.status"))) <select name=\"status\"><option value=\"\"></option>"
                + [FindingStatus.new, .inProgress, .resolved].map { "<option value=\"\($0.rawValue)\">\(HTML.escape(t("status.\($0.rawValue)")))</option>" }.joined()
                + "</select></label><label>\(HTML.escape(t("col.assignee"))) <input name=\"assignee\" value=\"\(HTML.escape(f.assignee ?? ""))\"></label>"
                + "<label>\(HTML.escape(t("security.note"))) <input name=\"note\" size=\"40\" value=\"\(HTML.escape(f.note ?? ""))\"></label>"
                + "<button type=\"submit\">\(HTML.escape(t("action.save")))</button></form>"
        }
        body += "<p><a href=\"/api/v1/security/findings/\(HTML.escape(uid.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? uid))?format=ocsf\">OCSF JSON</a></p>"
        return render(p, context, title: f.title, active: "/security", path: "/security/finding", body)
    }

    @Sendable func triageSecurity(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canTriage }
        let uid = form["uid"] ?? ""
        guard let view = try await FindingsHub.view(uid: uid, store: store), p.scope.allows(view.finding.account) else { throw p.notFound() }
        let status = form["status"].flatMap(FindingStatus.init(rawValue:)).flatMap { $0 == .suppressed ? nil : $0 }
        try await FindingsHub.triage(uid: view.finding.uid, status: status, assignee: form["assignee"], note: form["note"], actor: p.user.name, store: store)
        return Layout.redirect("/security/finding" + HTML.query([("uid", uid)]))
    }

    @Sendable func createSuppression(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canApproveExceptions }
        let now = Date()
        guard let days = form["days"].flatMap(Int.init), (1...366).contains(days) else { throw p.badRequest(p.t("security.days") + ": 1–366") }
        func given(_ name: String) -> String? { form[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) } }
        let suppression = FindingSuppression(
            source: given("source"), ruleID: given("rule"), resourceUID: given("resource"), account: given("account"), reason: given("reason") ?? "",
            expiresAt: now.addingTimeInterval(TimeInterval(days) * 86_400), createdBy: p.user.name, createdAt: now)
        if let problem = FindingsHub.problem(with: suppression, now: now) { throw p.badRequest(problem) }
        _ = try await store.saveFindingSuppression(suppression, actor: p.user.name)
        return Layout.redirect("/security")
    }

    @Sendable func deleteSuppression(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canApproveExceptions }
        guard let id = form["id"].flatMap(Int64.init), try await store.deleteFindingSuppression(id: id, actor: p.user.name) else { throw p.notFound() }
        return Layout.redirect("/security")
    }
}

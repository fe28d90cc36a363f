import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// Findings (with triage), compliance, scans and the audit log.
extension ConsoleController {
    @Sendable func findings(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        var statuses: [FindingStatus]? = [.new, .inProgress, .suppressed]
        if let status = q.get("status"), !status.isEmpty {
            guard status == "all" || FindingStatus(rawValue: status) != nil else {
                throw PageError(status: .badRequest, titleKey: "error.badRequest", detail: "status: \(status)", language: t.language)
            }
            statuses = status == "all" ? nil : [FindingStatus(rawValue: status)!]
        }
        var accounts = p.scope.accountList
        if let account = q.get("account"), !account.isEmpty { accounts = p.scope.allows(account) ? [account] : [] }
        let check = q.get("check").flatMap { $0.isEmpty ? nil : [$0] }
        var minimum: Int?
        if let severity = q.get("severity"), !severity.isEmpty {
            guard let level = Severity(rawValue: severity)?.ocsfID else { throw p.badRequest("severity: \(severity)") }
            minimum = level
        }
        let application = q.get("application").flatMap { $0.isEmpty || $0 == Self.unassigned ? nil : $0 }
        var items = try await store.findings(
            FindingQuery(checkIDs: check, accounts: accounts, statuses: statuses, minimumSeverityID: minimum, application: application))
        let ownership = try await dependencies.cache.ownership(store)
        if q.get("application") == Self.unassigned { items = items.filter { $0.application == nil } }
        if let unit = q.get("unit"), !unit.isEmpty {
            let accountsByID = Dictionary(try await store.accounts().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            items = items.filter { f in (ownership.businessUnitID(application: f.application, account: accountsByID[f.account]) ?? Self.unassigned) == unit }
        }
        let total = items.count
        items = Array(items.prefix(500))
        var body = "<h1>\(HTML.escape(t("findings.title")))</h1><form method=\"get\" action=\"/findings\" class=\"filters\">"
        body += "<label>\(HTML.escape(t("col.check"))) <input name=\"check\" value=\"\(HTML.escape(q.get("check") ?? ""))\"></label>"
        body += "<label>\(HTML.escape(t("col.account"))) <input name=\"account\" value=\"\(HTML.escape(q.get("account") ?? ""))\"></label>"
        body += try await ownershipFilters(p, selectedUnit: q.get("unit"), selectedApplication: q.get("application"))
        body += "<label>\(HTML.escape(t("col.severity"))) <select name=\"severity\"><option value=\"\">\(HTML.escape(t("filter.any")))</option>"
        for severity in Severity.allCases.reversed() {
            body += "<option value=\"\(severity.rawValue)\"\(q.get("severity") == severity.rawValue ? " selected" : "")>≥ \(HTML.escape(Layout.severityName(severity.ocsfID, t)))</option>"
        }
        body += "</select></label>"
        body += "<label>\(HTML.escape(t("col.status"))) <select name=\"status\"><option value=\"\">\(HTML.escape(t("findings.openAndWaived")))</option>"
        for status in FindingStatus.allCases.map(\.rawValue) + ["all"] {
            body += "<option value=\"\(status)\"\(q.get("status") == status ? " selected" : "")>\(HTML.escape(t("status.\(status)")))</option>"
        }
        body += "</select></label><button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form><p>\(total) \(HTML.escape(t("findings.shown")))\(total > items.count ? " (\(items.count))" : "")</p>"
        let canTriage = p.user.role.canTriage
        body += HTML.table(
            [t("col.severity"), t("col.check"), t("col.resource"), t("col.account"), t("col.status"), t("col.assignee"), t("col.lastSeen")] + (canTriage ? [t("col.triage")] : []),
            items.map { f in
                var row = [
                    "<span class=\"sev sev\(f.severityID)\">\(HTML.escape(Layout.severityName(f.severityID, t)))</span>", HTML.escape(f.title),
                    "<a href=\"/resource\(HTML.escape(HTML.query([("uid", f.resourceUID)])))\">\(HTML.escape(f.resourceName))</a>", HTML.escape(f.account),
                    HTML.escape(t("status.\(f.status.rawValue)")), HTML.escape(f.assignee ?? ""), HTML.escape(Timestamps.iso8601(f.lastSeen)),
                ]
                if canTriage, let csrf = context.session?.csrfToken {
                    row.append(
                        "<form method=\"post\" action=\"/findings/triage\" class=\"triage\"><input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(csrf))\"><input type=\"hidden\" name=\"uid\" value=\"\(HTML.escape(f.uid))\">"
                            + "<select name=\"status\" aria-label=\"\(HTML.escape(t("col.status")))\">" + ["new", "in_progress", "resolved"].map { "<option value=\"\($0)\"\(f.status.rawValue == $0 ? " selected" : "")>\(HTML.escape(t("status.\($0)")))</option>" }.joined() + "</select>"
                            + "<input name=\"assignee\" aria-label=\"\(HTML.escape(t("col.assignee")))\" value=\"\(HTML.escape(f.assignee ?? ""))\" size=\"10\"><input name=\"note\" aria-label=\"\(HTML.escape(t("col.note")))\" value=\"\(HTML.escape(f.note ?? ""))\" size=\"14\">"
                            + "<button type=\"submit\">\(HTML.escape(t("action.save")))</button></form>"
                            + "<a href=\"/exceptions\(HTML.escape(HTML.query([("check", f.checkID), ("selector", f.resourceUID)])))#request\">\(HTML.escape(t("exceptions.requestOne")))</a>")
                }
                return row
            })
        return render(p, context, title: t("findings.title"), active: "/findings", path: "/findings", body)
    }

    @Sendable func triage(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canTriage }
        let uid = form["uid"] ?? ""
        // Scope first: a finding outside the user's accounts is "not found".
        guard let finding = try await store.findings(FindingQuery(uids: [uid], accounts: p.scope.accountList, statuses: nil)).first else {
            throw p.notFound()
        }
        let status = form["status"].flatMap(FindingStatus.init(rawValue:)).flatMap { $0 == .suppressed ? nil : $0 }
        _ = try await store.triage(findingUID: finding.uid, status: status, assignee: form["assignee"], note: form["note"], actor: p.user.name, at: Date())
        return Layout.redirect("/findings")
    }

    @Sendable func compliance(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        var rows: [[String]] = []
        let frameworks = dependencies.engine.frameworks
        let assessments = try await dependencies.cache.assessments(frameworks.map(\.id), level: nil, scope: p.scope, dependencies: dependencies)
        for (framework, a) in zip(frameworks, assessments) {
            let c = a.summary.counts
            let name = t.language == .zhTW ? (framework.nameZh ?? framework.name) : framework.name
            rows.append([
                "<a href=\"/compliance/\(HTML.escape(framework.id))\">\(HTML.escape(name))</a>", String(a.requirements.count), String(c["passed"] ?? 0),
                String(c["failed"] ?? 0), String(c["waived"] ?? 0), String((c["manual"] ?? 0) + (c["attested"] ?? 0) + (c["attested-failed"] ?? 0)),
                Layout.percent(a.summary.passRate), Chart.sparkline(a.trend.compactMap(\.passRate), title: "\(name) — \(t("overview.trend"))"),
            ])
        }
        let body = "<h1>\(HTML.escape(t("compliance.title")))</h1>" + HTML.table(
            [t("col.framework"), t("col.requirements"), t("status.passed"), t("status.failed"), t("status.waived"), t("col.manual"), t("overview.passRate"), t("overview.trend")], rows)
        return render(p, context, title: t("compliance.title"), active: "/compliance", path: "/compliance", body)
    }

    func assessment(_ request: Request, _ context: CanopyRequestContext, _ p: Page) async throws -> FrameworkAssessment {
        let id = context.parameters.get("framework") ?? ""
        let level = request.uri.queryParameters.get("level").flatMap { $0.isEmpty ? nil : $0 }
        do {
            return try await dependencies.cache.assessment(id, level: level, scope: p.scope, dependencies: dependencies)
        } catch let error as ComplianceError {
            throw PageError(status: .notFound, titleKey: "error.notFound", detail: "\(error)", language: p.t.language)
        }
    }

    @Sendable func framework(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let a = try await assessment(request, context, p)
        let name = t.language == .zhTW ? (a.nameZh ?? a.name) : a.name
        var body = "<h1>\(HTML.escape(name))</h1><p>\(HTML.escape(a.source ?? ""))</p><div class=\"row\">"
        body += Chart.gauge(a.summary.passRate, title: t("overview.passRate"))
        body += Chart.line(a.trend.map { (label: String(Timestamps.iso8601($0.evaluatedAt).prefix(10)), value: $0.passRate) }, title: t("overview.trend")) + "</div>"
        let base = "/compliance/\(a.frameworkID)/report"
        body += "<p>\(HTML.escape(t("compliance.download"))): " + ["html", "csv", "json"].map {
            "<a href=\"\(HTML.escape(base + HTML.query([("format", $0), ("level", a.level ?? ""), ("lang", t.language.rawValue)])))\">\($0.uppercased())</a>"
        }.joined(separator: " · ") + "</p>"
        body += HTML.table(
            [t("col.requirement"), t("col.title"), t("col.status"), t("col.checks"), t("col.failing")],
            a.requirements.map { r in
                [
                    HTML.escape(r.requirement.id), HTML.escape(t.language == .zhTW ? (r.requirement.titleZh ?? r.requirement.title) : r.requirement.title),
                    "<span class=\"st \(r.status.rawValue)\">\(HTML.escape(t("requirement.\(r.status.rawValue)")))</span>",
                    r.checks.map { "<a href=\"/findings\(HTML.escape(HTML.query([("check", $0.id)])))\">\(HTML.escape($0.id))</a>" }.joined(separator: "<br>"),
                    String(r.checks.reduce(0) { $0 + $1.failed }),
                ]
            })
        return render(p, context, title: name, active: "/compliance", path: "/compliance/\(a.frameworkID)", body)
    }

    @Sendable func report(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let format = AuditReport.Format(rawValue: request.uri.queryParameters.get("format") ?? "html") ?? .html
        let a = try await assessment(request, context, p)
        let text = try AuditReport.render(a, format: format, language: p.t.language == .zhTW ? .zhTW : .en)
        let type = format == .html ? "text/html; charset=utf-8" : format == .csv ? "text/csv; charset=utf-8" : "application/json"
        return Response(
            status: .ok,
            headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(a.frameworkID)-audit.\(format.rawValue)\""],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func scans(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let scans = try await store.scans(limit: 50).map(p.scope.visible)
        let complete = scans.filter { $0.status == .complete }
        var body = "<h1>\(HTML.escape(t("scans.title")))</h1>"
        if complete.count >= 2 {
            func picker(_ name: String, _ label: String, _ selected: Int64) -> String {
                "<label>\(HTML.escape(t(label))) <select name=\"\(name)\">" + complete.map {
                    "<option value=\"\($0.id)\"\($0.id == selected ? " selected" : "")>#\($0.id) · \(HTML.escape(Timestamps.iso8601($0.startedAt)))</option>"
                }.joined() + "</select></label>"
            }
            body += "<form method=\"get\" action=\"/scans/diff\" class=\"filters\">" + picker("from", "scans.from", complete[1].id) + picker("to", "scans.to", complete[0].id)
                + "<button type=\"submit\">\(HTML.escape(t("scans.compare")))</button></form>"
        }
        body += HTML.table(
            [t("col.scan"), t("col.started"), t("col.status"), t("col.resources"), t("col.units"), t("col.errors")],
            scans.map { s in
                [
                    String(s.id), HTML.escape(Timestamps.iso8601(s.startedAt)), HTML.escape(s.status.rawValue), String(s.resourceCount),
                    "\(s.unitsTotal - s.unitsFailed)/\(s.unitsTotal)", HTML.escape(s.errors.map { "\($0.unit): \($0.code)" }.joined(separator: "; ")),
                ]
            })
        return render(p, context, title: t("scans.title"), active: "/scans", path: "/scans", body)
    }

    @Sendable func audit(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        guard p.user.role.canReadAuditLog else { throw PageError(status: .forbidden, titleKey: "error.forbidden", detail: t("error.role"), language: t.language) }
        let entries = try await store.auditLog(limit: 200)
        let intact = try await store.firstBrokenAuditEntry() == nil
        let body = "<h1>\(HTML.escape(t("audit.title")))</h1><p>\(HTML.escape(t(intact ? "audit.intact" : "audit.broken"))) · <a href=\"/audit/export.csv\">\(HTML.escape(t("audit.export")))</a></p>" + HTML.table(
            [t("col.id"), t("col.time"), t("col.actor"), t("col.address"), t("col.action"), t("col.target"), t("col.details")],
            entries.map { [String($0.id), HTML.escape(Timestamps.iso8601($0.at)), HTML.escape($0.actor), HTML.escape($0.address), HTML.escape($0.action), HTML.escape($0.target), HTML.escape($0.details.canonicalJSON())] })
        return render(p, context, title: t("audit.title"), active: "/audit", path: "/audit", body)
    }
}

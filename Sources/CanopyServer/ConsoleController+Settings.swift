import CanopyCompliance
import CanopyModel
import CanopyRemediation
import CanopyStore
import Foundation
import Hummingbird

/// Exceptions, scan diffs, settings (users and API tokens) and the audit-log export.
extension ConsoleController {
    @Sendable func exceptions(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        return try await exceptionsPage(request, p, context, error: nil)
    }

    func exceptionsPage(_ request: Request, _ p: Page, _ context: CanopyRequestContext, error: String?) async throws -> Response {
        let t = p.t
        let q = request.uri.queryParameters
        let byUID = Dictionary(try await dependencies.cache.resources(store).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let waivers = try await store.waivers().filter { p.scope.mayConcern($0, resources: byUID) }.sorted { $0.id > $1.id }
        let now = Date()
        var body = "<h1>\(HTML.escape(t("exceptions.title")))</h1><p>\(HTML.escape(t("exceptions.intro")))</p>"
        body += HTML.alert(error)
        let approver = p.user.role.canApproveExceptions
        body += HTML.table(
            [t("col.id"), t("col.check"), t("col.selector"), t("col.status"), t("col.expires"), t("col.requestedBy"), t("col.approvedBy"), t("col.reason")]
                + (approver ? [t("col.decision")] : []),
            waivers.map { w in
                var state = t("exception.\(w.state.rawValue)")
                if w.state == .approved, !w.isInForce(at: now) { state += " (\(t("exception.expired")))" }
                var row = [
                    String(w.id), HTML.escape(w.checkID), "<code>\(HTML.escape(w.selector))</code>", HTML.escape(state),
                    HTML.escape(Timestamps.iso8601(w.expiresAt).prefix(10).description), HTML.escape(w.requestedBy), HTML.escape(w.approvedBy ?? ""),
                    HTML.escape(w.reason),
                ]
                if approver {
                    let decisions: [ExceptionWorkflow.Decision] = w.state == .requested ? [.approve, .reject] : w.state == .approved ? [.revoke] : []
                    row.append(
                        decisions.map { decision in
                            "<form method=\"post\" action=\"/exceptions/decide\" class=\"inline\">" + Self.csrfField(context)
                                + "<input type=\"hidden\" name=\"id\" value=\"\(w.id)\"><input type=\"hidden\" name=\"decision\" value=\"\(decision.rawValue)\">"
                                + "<button type=\"submit\">\(HTML.escape(t("exception.\(decision.rawValue)")))</button></form>"
                        }.joined(separator: " "))
                }
                return row
            })
        if p.user.role.canTriage {
            body += "<h2 id=\"request\">\(HTML.escape(t("exceptions.request")))</h2><form method=\"post\" action=\"/exceptions\" class=\"stack\">" + Self.csrfField(context)
            body += "<label>\(HTML.escape(t("col.check"))) <select name=\"check\">"
            for check in dependencies.engine.checks.sorted(by: { $0.id < $1.id }) {
                body += "<option value=\"\(HTML.escape(check.id))\"\(q.get("check") == check.id ? " selected" : "")>\(HTML.escape(check.id)) — \(HTML.escape(p.zh ? (check.titleZh ?? check.title) : check.title))</option>"
            }
            body += "</select></label>"
            body += "<label>\(HTML.escape(t("col.selector"))) <input name=\"selector\" required value=\"\(HTML.escape(q.get("selector") ?? ""))\" placeholder=\"arn:… | account:123456789012 | tag:Env=dev | *\"></label>"
            body += "<label>\(HTML.escape(t("col.reason"))) <textarea name=\"reason\" rows=\"3\" required></textarea></label>"
            body += "<label>\(HTML.escape(t("exceptions.days"))) <input name=\"days\" type=\"number\" min=\"1\" max=\"\(ExceptionWorkflow.maximumDays)\" value=\"90\"></label>"
            body += "<button type=\"submit\">\(HTML.escape(t("exceptions.submit")))</button></form>"
        }
        var response = render(p, context, title: t("exceptions.title"), active: "/exceptions", path: "/exceptions", body)
        if error != nil { response.status = .badRequest }
        return response
    }

    @Sendable func requestException(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canTriage }
        let selector = (form["selector"] ?? "").trimmingCharacters(in: .whitespaces)
        // A business-unit owner may only ask about what is theirs: a resource or account in scope.
        if p.scope.accounts != nil {
            let byUID = Dictionary(try await dependencies.cache.resources(store).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
            guard p.scope.owns(selector: selector, resources: byUID) else { return try await exceptionsPage(request, p, context, error: p.t("exceptions.scopeOnly")) }
        }
        do {
            _ = try await ExceptionWorkflow.request(
                check: form["check"] ?? "", selector: selector, reason: form["reason"] ?? "", days: Int(form["days"] ?? "") ?? 0,
                requester: p.user.name, engine: dependencies.engine, store: store)
        } catch let error as ExceptionError {
            return try await exceptionsPage(request, p, context, error: "\(error.field): \(error)")
        }
        return Layout.redirect("/exceptions")
    }

    @Sendable func decideException(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canApproveExceptions }
        guard let id = Int64(form["id"] ?? ""), let decision = ExceptionWorkflow.Decision(rawValue: form["decision"] ?? "") else {
            throw p.badRequest("id, decision")
        }
        do {
            _ = try await ExceptionWorkflow.decide(id: id, decision, actor: p.user.name, engine: dependencies.engine, store: store)
        } catch let error as ExceptionError {
            return try await exceptionsPage(request, p, context, error: "\(error)")
        } catch StoreError.unknownWaiver {
            throw p.notFound()
        }
        return Layout.redirect("/exceptions")
    }

    @Sendable func scanDiff(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        guard let from = q.get("from").flatMap(Int64.init), let to = q.get("to").flatMap(Int64.init) else { throw p.badRequest("from, to") }
        guard let older = try await store.scan(id: from), let newer = try await store.scan(id: to) else { throw p.notFound() }
        let changes = try await store.diff(from: older.id, to: newer.id).filter { p.scope.allows($0.account) }
        let counts = Dictionary(grouping: changes, by: \.kind).mapValues(\.count)
        var body = "<h1>\(HTML.escape(t("scans.diffTitle"))) \(older.id) → \(newer.id)</h1>"
        body += "<p>" + [ResourceChange.Kind.added, .modified, .removed].map { "\(counts[$0] ?? 0) \(HTML.escape(t("change.\($0.rawValue)")))" }.joined(separator: " · ") + "</p>"
        body += HTML.table(
            [t("col.change"), t("col.type"), t("col.name"), t("col.account"), t("col.details")],
            changes.prefix(1_000).map { change in
                [
                    HTML.escape(t("change.\(change.kind.rawValue)")), HTML.escape(change.type),
                    change.kind == .removed ? HTML.escape(change.name) : "<a href=\"/resource\(HTML.escape(HTML.query([("uid", change.uid)])))\">\(HTML.escape(change.name))</a>",
                    HTML.escape(change.account),
                    HTML.escape(change.differences.prefix(5).map { "\($0.path): \($0.before?.compactText ?? "∅") → \($0.after?.compactText ?? "∅")" }.joined(separator: "; ")),
                ]
            })
        return render(p, context, title: t("scans.diffTitle"), active: "/scans", path: "/scans/diff", body)
    }

    @Sendable func settings(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        return try await settingsPage(p, context, notice: nil, error: nil)
    }

    /// Users (admin) and API tokens (everyone's own; admin sees all). `notice` carries a secret
    /// shown this once.
    func settingsPage(_ p: Page, _ context: CanopyRequestContext, notice: String?, error: String?) async throws -> Response {
        let t = p.t
        var body = "<h1>\(HTML.escape(t("settings.title")))</h1>"
        body += HTML.notice(notice)
        body += HTML.alert(error)
        let roles = Role.allCases
        func roleOptions(selected: Role?, allowed: (Role) -> Bool) -> String {
            roles.filter(allowed).map { "<option value=\"\($0.rawValue)\"\($0 == selected ? " selected" : "")>\(HTML.escape(t("role.\($0.rawValue)")))</option>" }.joined()
        }
        if p.user.role.canManageUsers {
            let users = try await store.users()
            body += "<h2>\(HTML.escape(t("settings.users")))</h2>" + HTML.table(
                [t("col.name"), t("col.role"), t("col.businessUnit"), t("col.lockedUntil"), t("col.change")],
                users.map { u in
                    [
                        HTML.escape(u.name), HTML.escape(t("role.\(u.role.rawValue)")), HTML.escape(u.businessUnits.joined(separator: ", ")),
                        HTML.escape(u.lockedUntil.map(Timestamps.iso8601) ?? ""),
                        "<form method=\"post\" action=\"/settings/users/update\" class=\"inline\">" + Self.csrfField(context)
                            + "<input type=\"hidden\" name=\"name\" value=\"\(HTML.escape(u.name))\">"
                            + "<select name=\"role\" aria-label=\"\(HTML.escape(t("col.role")))\">\(roleOptions(selected: u.role) { _ in true })</select>"
                            + "<input name=\"units\" aria-label=\"\(HTML.escape(t("col.businessUnit")))\" value=\"\(HTML.escape(u.businessUnits.joined(separator: ",")))\" size=\"12\">"
                            + "<button type=\"submit\">\(HTML.escape(t("action.save")))</button></form>",
                    ]
                })
            body += "<h3>\(HTML.escape(t("settings.addUser")))</h3><form method=\"post\" action=\"/settings/users\" class=\"filters\">" + Self.csrfField(context)
            body += "<label>\(HTML.escape(t("col.name"))) <input name=\"name\" required pattern=\"[A-Za-z0-9._@\\-]{1,64}\"></label>"
            body += "<label>\(HTML.escape(t("col.role"))) <select name=\"role\">\(roleOptions(selected: .viewer) { _ in true })</select></label>"
            body += "<label>\(HTML.escape(t("col.businessUnit"))) <input name=\"units\" placeholder=\"generation,corporate\"></label>"
            body += "<button type=\"submit\">\(HTML.escape(t("settings.create")))</button></form><p>\(HTML.escape(t("settings.passwordOnce")))</p>"
        }
        let tokens = try await store.apiTokens(user: p.user.role.canManageUsers ? nil : p.user.name)
        body += "<h2>\(HTML.escape(t("settings.tokens")))</h2>" + HTML.table(
            [t("col.id"), t("col.name"), t("col.user"), t("col.role"), t("col.created"), t("col.expires"), ""],
            tokens.map { token in
                [
                    String(token.id), HTML.escape(token.name), HTML.escape(token.user), HTML.escape(t("role.\(token.role.rawValue)")),
                    HTML.escape(token.createdAt.map(Timestamps.iso8601) ?? ""), HTML.escape(Timestamps.iso8601(token.expiresAt)),
                    "<form method=\"post\" action=\"/settings/tokens/revoke\" class=\"inline\">" + Self.csrfField(context)
                        + "<input type=\"hidden\" name=\"id\" value=\"\(token.id)\"><button type=\"submit\">\(HTML.escape(t("settings.revoke")))</button></form>",
                ]
            })
        body += "<h3>\(HTML.escape(t("settings.newToken")))</h3><form method=\"post\" action=\"/settings/tokens\" class=\"filters\">" + Self.csrfField(context)
        body += "<label>\(HTML.escape(t("col.name"))) <input name=\"name\" required maxlength=\"100\"></label>"
        body += "<label>\(HTML.escape(t("col.role"))) <select name=\"role\">\(roleOptions(selected: p.user.role) { p.user.role.canDelegate(to: $0) })</select></label>"
        body += "<label>\(HTML.escape(t("exceptions.days"))) <input name=\"days\" type=\"number\" min=\"1\" max=\"\(Administration.maximumTokenDays)\" value=\"90\"></label>"
        body += "<button type=\"submit\">\(HTML.escape(t("settings.create")))</button></form>"
        body += try await webhookSection(p, context)
        var response = render(p, context, title: t("settings.title"), active: "/settings", path: "/settings", body)
        if error != nil { response.status = .badRequest }
        if notice != nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    /// Webhooks: admin and CCoE see and manage them; their addresses never come back, only hosts.
    func webhookSection(_ p: Page, _ context: CanopyRequestContext) async throws -> String {
        let t = p.t
        guard p.user.role.canManageWebhooks else { return "" }
        var body = "<h2>\(HTML.escape(t("settings.webhooks")))</h2><p>\(HTML.escape(t("settings.webhooksHelp")))</p>"
        let webhooks = try await store.webhooks()
        body += HTML.table(
            [t("col.id"), t("col.name"), t("col.host"), t("col.events"), t("col.severity"), t("col.created"), ""],
            webhooks.map { w in
                [
                    String(w.id), HTML.escape(w.name), "<code>\(HTML.escape(w.host))</code>",
                    HTML.escape(w.events.map { t("event.\($0.rawValue)") }.joined(separator: ", ")), "≥ " + HTML.escape(Layout.severityName(w.minimumSeverityID, t)),
                    HTML.escape("\(Timestamps.iso8601(w.createdAt)) · \(w.createdBy)"),
                    ["test", "delete"].map { action in
                        "<form method=\"post\" action=\"/settings/webhooks/\(action)\" class=\"inline\">" + Self.csrfField(context)
                            + "<input type=\"hidden\" name=\"id\" value=\"\(w.id)\"><button type=\"submit\">\(HTML.escape(t("settings.webhook.\(action)")))</button></form>"
                    }.joined(separator: " "),
                ]
            })
        body += "<h3>\(HTML.escape(t("settings.newWebhook")))</h3><form method=\"post\" action=\"/settings/webhooks\" class=\"filters\">" + Self.csrfField(context)
        body += "<label>\(HTML.escape(t("col.name"))) <input name=\"name\" required maxlength=\"100\"></label>"
        body += "<label>URL <input name=\"url\" type=\"url\" required placeholder=\"https://hooks.example.com/…\" autocomplete=\"off\"></label>"
        for event in WebhookEvent.allCases {
            body += "<label><input type=\"checkbox\" name=\"event.\(event.rawValue)\" value=\"on\" checked> \(HTML.escape(t("event.\(event.rawValue)")))</label>"
        }
        body += "<label>\(HTML.escape(t("col.severity"))) <select name=\"severity\">"
        for id in (1...5).reversed() {
            body += "<option value=\"\(id)\"\(id == 4 ? " selected" : "")>≥ \(HTML.escape(Layout.severityName(id, t)))</option>"
        }
        body += "</select></label><button type=\"submit\">\(HTML.escape(t("settings.create")))</button></form>"
        return body
    }

    @Sendable func createWebhook(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageWebhooks }
        guard let dispatcher = dependencies.webhooks else { return try await settingsPage(p, context, notice: nil, error: p.t("settings.webhooksOff")) }
        let events = WebhookEvent.allCases.filter { form["event.\($0.rawValue)"] == "on" }
        do {
            _ = try await dispatcher.create(
                name: form["name"] ?? "", url: form["url"] ?? "", events: events, minimumSeverityID: Int(form["severity"] ?? "") ?? 4, actor: p.user.name)
        } catch let error as WebhookError {
            return try await settingsPage(p, context, notice: nil, error: "\(error)")
        }
        return Layout.redirect("/settings")
    }

    @Sendable func testWebhook(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageWebhooks }
        guard let id = Int64(form["id"] ?? ""), let dispatcher = dependencies.webhooks else { throw p.badRequest("id") }
        do {
            let status = try await dispatcher.test(id: id, actor: p.user.name)
            return try await settingsPage(p, context, notice: "\(p.t("settings.webhook.sent")) HTTP \(status)", error: nil)
        } catch StoreError.unknownWebhook {
            throw p.notFound()
        } catch {
            return try await settingsPage(p, context, notice: nil, error: "\(p.t("settings.webhook.failed")) \(error)")
        }
    }

    @Sendable func deleteWebhook(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageWebhooks }
        guard let id = Int64(form["id"] ?? "") else { throw p.badRequest("id") }
        do { try await store.deleteWebhook(id: id, actor: p.user.name) } catch StoreError.unknownWebhook { throw p.notFound() }
        return Layout.redirect("/settings")
    }

    static func units(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Sendable func createUser(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageUsers }
        guard let role = Role(rawValue: form["role"] ?? "") else { throw p.badRequest("role") }
        do {
            let (user, password) = try await Administration.createUser(
                name: form["name"] ?? "", role: role, businessUnits: Self.units(form["units"]), password: nil, actor: p.user.name, store: store,
                bcryptCost: dependencies.configuration.bcryptCost)
            return try await settingsPage(p, context, notice: "\(user.name): \(p.t("settings.passwordShownOnce")) \(password ?? "")", error: nil)
        } catch let error as AdministrationError {
            return try await settingsPage(p, context, notice: nil, error: "\(error.field): \(error)")
        } catch let error as StoreError {
            return try await settingsPage(p, context, notice: nil, error: "\(error)")
        }
    }

    @Sendable func updateUser(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageUsers }
        guard let role = Role(rawValue: form["role"] ?? "") else { throw p.badRequest("role") }
        do {
            _ = try await Administration.updateUser(name: form["name"] ?? "", role: role, businessUnits: Self.units(form["units"]), actor: p.user.name, store: store)
        } catch let error as AdministrationError {
            return try await settingsPage(p, context, notice: nil, error: "\(error.field): \(error)")
        } catch let error as StoreError {
            return try await settingsPage(p, context, notice: nil, error: "\(error)")
        }
        return Layout.redirect("/settings")
    }

    @Sendable func createToken(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { _ in true }
        guard let role = Role(rawValue: form["role"] ?? "") else { throw p.badRequest("role") }
        do {
            let (token, secret) = try await Administration.issueToken(
                name: form["name"] ?? "", for: p.user, role: role, days: Int(form["days"] ?? "") ?? 0, actor: p.user.name, store: store)
            return try await settingsPage(p, context, notice: "\(token.name): \(p.t("settings.tokenShownOnce")) \(secret)", error: nil)
        } catch let error as AdministrationError {
            return try await settingsPage(p, context, notice: nil, error: "\(error.field): \(error)")
        }
    }

    @Sendable func revokeToken(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { _ in true }
        guard let id = Int64(form["id"] ?? "") else { throw p.badRequest("id") }
        // Anyone may revoke their own tokens; an admin anyone's. Others' tokens read as absent.
        let mine = try await store.apiTokens(user: p.user.role.canManageUsers ? nil : p.user.name)
        guard mine.contains(where: { $0.id == id }) else { throw p.notFound() }
        try await store.revokeAPIToken(id: id, actor: p.user.name)
        return Layout.redirect("/settings")
    }

    /// The audit log as CSV (admin and auditor): evidence for an auditor's working papers.
    @Sendable func auditExport(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        guard p.user.role.canReadAuditLog else { throw p.forbidden() }
        let entries = try await store.auditLog(limit: Int.max).reversed()
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"canopy-audit-log.csv\""],
            body: .init(byteBuffer: ByteBuffer(string: AuditCSV.render(Array(entries)))))
    }
}

/// The audit log as CSV, oldest first, with each entry's hash and its predecessor's so the chain
/// can be checked outside Canopy.
enum AuditCSV {
    static func field(_ text: String) -> String { CSVText.field(text, formulaSafe: true) }

    static func render(_ entries: [AuditEntry]) -> String {
        var text = "id,at,actor,address,action,target,details,previous_hash,hash\n"
        for e in entries {
            text += [String(e.id), Timestamps.iso8601(e.at), e.actor, e.address, e.action, e.target, e.details.canonicalJSON(), e.previousHash, e.hash]
                .map(field).joined(separator: ",") + "\n"
        }
        return text
    }
}

import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyStore
import Foundation
import Hummingbird

/// The findings hub over the API: every source's findings, enriched and correlated; triage;
/// suppression rules; the detection rules in force.
extension APIController {
    func addSecurityRoutes(to group: RouterGroup<CanopyRequestContext>) {
        group.get("security/findings", use: securityFindings)
        group.get("security/findings/:uid", use: securityFinding)
        group.post("security/findings/:uid/triage", use: triageSecurityFinding)
        group.get("security/suppressions", use: suppressions)
        group.post("security/suppressions", use: createSuppression)
        group.delete("security/suppressions/:id", use: deleteSuppression)
        group.get("detections/rules", use: detectionRules)
    }

    /// The hub's selection from query parameters, narrowed to the caller's accounts.
    func hubSelection(_ request: Request, scope: AccessScope) throws -> FindingsHub.Selection {
        let q = request.uri.queryParameters
        var filter: SecurityFindingFilter
        do {
            filter = try FindingsHub.filter(
                accounts: scope.accountList, source: q.get("source"), findingClass: q.get("class"), severity: q.get("severity"), status: q.get("status"))
        } catch let problem as FindingsHub.ParameterProblem {
            throw APIError.badParameter(problem.field, problem.message)
        }
        if let account = q.get("account") { filter.accounts = scope.allows(account) ? [account] : [] }
        filter.ruleID = q.get("rule")
        filter.resourceUID = q.get("resource")
        func flag(_ name: String, default value: Bool) throws -> Bool {
            guard let text = q.get(name) else { return value }
            guard text == "true" || text == "false" else { throw APIError.badParameter(name, "'\(name)' is true or false") }
            return text == "true"
        }
        return FindingsHub.Selection(
            filter: filter, includeGuardrails: try flag("guardrails", default: true), overdueOnly: try flag("overdue", default: false), businessUnit: q.get("bu"),
            application: q.get("app"))
    }

    /// Findings from every source, most urgent first (priority, overdue, latest seen), as the
    /// hub's views (JSON) or OCSF 1.3 findings.
    @Sendable func securityFindings(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        let scope = try await AccessScope.of(user, store: store)
        let selection = try hubSelection(request, scope: scope)
        let limit = try request.integer("limit", default: 500, range: 1...5_000)
        let format = request.uri.queryParameters.get("format") ?? "json"
        guard format == "json" || format == "ocsf" else { throw APIError.badParameter("format", "'format' is json or ocsf") }
        let views = Array(try await FindingsHub.list(store: store, selection).prefix(limit))
        switch format {
        case "json": return try Self.json(views)
        case "ocsf":
            // The events behind a detection are activity: only for those who may read the lake.
            let objects = try await OCSFExport.findings(views, store: store, withEvents: user.role.canReadActivity)
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: objects.canonicalJSON())))
        default: throw APIError.badParameter("format", "'format' is json or ocsf")
        }
    }

    struct FindingDetail: Encodable {
        var view: FindingView
        /// A detection's lake event ids, oldest first.
        var events: [String]
    }

    /// One finding the caller may see, else 404 (whether it exists elsewhere is not told).
    func visibleFinding(_ uid: String, user: User) async throws -> FindingView {
        let scope = try await AccessScope.of(user, store: store)
        guard let view = try await FindingsHub.view(uid: uid, store: store), scope.allows(view.finding.account) else { throw APIError.notFound("finding \(uid)") }
        return view
    }

    @Sendable func securityFinding(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        let uid = context.parameters.get("uid") ?? ""
        let format = request.uri.queryParameters.get("format") ?? "json"
        guard format == "json" || format == "ocsf" else { throw APIError.badParameter("format", "'format' is json or ocsf") }
        let view = try await visibleFinding(uid, user: user)
        let events = user.role.canReadActivity ? try await store.securityFindingEvents(uid: uid) : []
        if format == "ocsf" { return try Self.json(OCSFExport.finding(view, events: events)) }
        return try Self.json(FindingDetail(view: view, events: events))
    }

    struct TriageBody: Decodable {
        var status: String?
        var assignee: String?
        var note: String?
    }

    /// Sets a finding's status, assignee or note (admin, ccoe, bu-owner for their own; audited).
    @Sendable func triageSecurityFinding(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canTriage }
        let uid = context.parameters.get("uid") ?? ""
        let b = try await body(TriageBody.self, request, context)
        var status: FindingStatus?
        if let text = b.status {
            guard let known = FindingStatus(rawValue: text), known != .suppressed else {
                throw APIError.badParameter("status", "'status' is one of new, in_progress, resolved (suppress with a suppression rule)")
            }
            status = known
        }
        let view = try await visibleFinding(uid, user: user)
        try await FindingsHub.triage(uid: view.finding.uid, status: status, assignee: b.assignee, note: b.note, actor: user.name, store: store)
        return try Self.json(try await visibleFinding(uid, user: user))
    }

    @Sendable func suppressions(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        return try Self.json(try await store.findingSuppressions().filter(scope.mayRead))
    }

    struct SuppressionBody: Decodable {
        var source: String?
        var rule: String?
        var resource: String?
        var account: String?
        var reason: String
        var days: Int
    }

    /// A suppression rule (admin, ccoe; audited): matching findings show as suppressed, with
    /// the reason, for `days` days.
    @Sendable func createSuppression(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canApproveExceptions }
        let b = try await body(SuppressionBody.self, request, context)
        guard (1...366).contains(b.days) else { throw APIError.badParameter("days", "'days' is 1 to 366") }
        let now = Date()
        func given(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
        let suppression = FindingSuppression(
            source: given(b.source), ruleID: given(b.rule), resourceUID: given(b.resource), account: given(b.account),
            reason: b.reason.trimmingCharacters(in: .whitespacesAndNewlines), expiresAt: now.addingTimeInterval(TimeInterval(b.days) * 86_400), createdBy: user.name,
            createdAt: now)
        if let problem = FindingsHub.problem(with: suppression, now: now) { throw APIError.badParameter(suppression.isEmpty ? "source" : "reason", problem) }
        return try Self.created(try await store.saveFindingSuppression(suppression, actor: user.name))
    }

    @Sendable func deleteSuppression(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canApproveExceptions }
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw APIError.badParameter("id", "the id is a whole number") }
        guard try await store.deleteFindingSuppression(id: id, actor: user.name) else { throw APIError.notFound("suppression \(id)") }
        return Response(status: .noContent)
    }

    struct RuleSummary: Encodable {
        var id: String
        var title: String
        var level: String
        var techniques: [String]
        var origin: String
        var sha256: String
    }

    @Sendable func detectionRules(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        _ = try context.apiUser()
        let rules = try await DetectionRuleSet.load(store: store)
        return try Self.json(rules.map { RuleSummary(id: $0.id, title: $0.title, level: $0.level, techniques: $0.techniques, origin: $0.origin, sha256: $0.sha256) })
    }
}

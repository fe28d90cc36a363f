import CanopyCompliance
import CanopyFinOps
import CanopyModel
import CanopyPolicy
import CanopyRemediation
import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1` for business units, applications, policies, exceptions, changes, users and tokens.
extension APIController {
    func addGovernanceRoutes(to group: RouterGroup<CanopyRequestContext>) {
        group.get("business-units", use: businessUnits)
        group.get("business-units/:id", use: businessUnit)
        group.put("business-units/:id", use: saveBusinessUnit)
        group.delete("business-units/:id", use: deleteBusinessUnit)
        group.get("applications", use: applications)
        group.get("applications/:id", use: application)
        group.put("applications/:id", use: saveApplication)
        group.delete("applications/:id", use: deleteApplication)
        group.get("policies", use: policies)
        group.get("exceptions", use: exceptions)
        group.post("exceptions", use: requestException)
        group.post("exceptions/:id/decision", use: decideException)
        group.get("changes", use: changes)
        group.get("users", use: users)
        group.post("users", use: createUser)
        group.get("tokens", use: tokens)
        group.post("tokens", use: createToken)
        group.delete("tokens/:id", use: revokeToken)
        group.get("costs", use: costs)
        group.get("costs/forecast", use: costForecast)
        group.get("costs/anomalies", use: costAnomalies)
        group.get("costs/recommendations", use: costRecommendations)
        group.get("cost-allocation", use: costAllocation)
        group.put("cost-allocation", use: applyCostAllocation)
        group.post("cost-allocation/preview", use: previewCostAllocation)
        group.get("budgets", use: budgets)
        group.put("budgets/:id", use: saveBudget)
        group.delete("budgets/:id", use: deleteBudget)
        group.get("webhooks", use: webhooks)
        group.post("webhooks", use: createWebhook)
        group.delete("webhooks/:id", use: deleteWebhook)
    }

    /// The caller of a state-changing call. With a session cookie (the console's own scripts)
    /// the `X-CSRF-Token` header must carry the session's token; a bearer token needs none,
    /// since a browser never sends one on its own.
    func changer(_ request: Request, _ context: CanopyRequestContext, allowed: (Role) -> Bool) throws -> User {
        let user = try context.apiUser()
        if let session = context.session {
            let header = HTTPField.Name("X-CSRF-Token").flatMap { request.headers[$0] } ?? ""
            guard Secrets.equal(header, session.csrfToken) else {
                throw APIError(status: .forbidden, code: "csrf", message: "send the session's CSRF token in X-CSRF-Token")
            }
        }
        guard allowed(user.role) else { throw APIError.forbidden }
        return user
    }

    /// A JSON request body decoded into `T`; a problem is a 400 naming the field.
    func body<T: Decodable>(
        _ type: T.Type, _ request: Request, _ context: CanopyRequestContext, limit: Int? = nil, decoder: JSONDecoder = JSONDecoder()
    ) async throws -> T {
        let limit = limit ?? context.maxUploadSize
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(status: .contentTooLarge, code: "too_large", message: "the body is larger than \(limit) bytes")
        }
        do {
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.badParameter(Self.path(context.codingPath + [key]), "'\(key.stringValue)' is required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError.badParameter(Self.path(context.codingPath), "'\(Self.path(context.codingPath))' has the wrong type: \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError.badParameter(Self.path(context.codingPath), "'\(Self.path(context.codingPath))' must not be null")
        } catch let DecodingError.dataCorrupted(context) {
            throw APIError.badParameter(context.codingPath.isEmpty ? "body" : Self.path(context.codingPath), "the body is not valid JSON: \(context.debugDescription)")
        } catch {
            throw APIError.badParameter("body", "the body is not valid JSON")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String { CanopyJSON.path(keys) }

    static func created(_ value: some Encodable) throws -> Response {
        var response = try json(value)
        response.status = .created
        return response
    }

    /// Ownership changes: a rule the change would break is a 409 that says which.
    func ownershipChange(_ change: () async throws -> Bool) async throws {
        do {
            if try await change() { try await dependencies.engine.refresh(store: store) }
        } catch StoreError.invalidOwnership(let problem) {
            throw APIError(status: .conflict, code: "conflict", message: problem)
        } catch StoreError.unknownOwnership(let kind, let id) {
            throw APIError.notFound("\(kind) '\(id)'")
        }
    }

    // MARK: Business units and applications

    @Sendable func businessUnits(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        return try Self.json(try await dependencies.cache.ownershipSummary(scope: scope, dependencies: dependencies).units)
    }

    @Sendable func businessUnit(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let id = context.parameters.get("id") ?? ""
        guard let unit = try await dependencies.cache.ownershipSummary(scope: scope, dependencies: dependencies).units.first(where: { $0.unit.id == id }) else {
            throw APIError.notFound("business unit '\(id)'")
        }
        return try Self.json(unit)
    }

    struct UnitBody: Decodable {
        var name: String
        var nameZh: String?
        var owners: [String]?
        var costCenter: String?
        var accounts: [String]?
        var organizationalUnits: [String]?
    }

    @Sendable func saveBusinessUnit(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let id = context.parameters.get("id") ?? ""
        guard Ownership.isValidID(id) else { throw APIError.badParameter("id", "an id is 1-64 letters, digits, '-' or '_'") }
        let b = try await body(UnitBody.self, request, context)
        let unit = BusinessUnit(
            id: id, name: b.name, nameZh: b.nameZh, owners: b.owners ?? [], costCenter: b.costCenter, accounts: b.accounts ?? [],
            organizationalUnits: b.organizationalUnits ?? [])
        try await ownershipChange { try await store.save(unit, actor: user.name) }
        return try Self.json(unit)
    }

    @Sendable func deleteBusinessUnit(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let id = context.parameters.get("id") ?? ""
        try await ownershipChange { try await store.deleteBusinessUnit(id: id, actor: user.name) }
        return Response(status: .noContent)
    }

    @Sendable func applications(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        return try Self.json(try await dependencies.cache.ownershipSummary(scope: scope, dependencies: dependencies).applications)
    }

    @Sendable func application(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let id = context.parameters.get("id") ?? ""
        guard let app = try await dependencies.cache.ownershipSummary(scope: scope, dependencies: dependencies).applications.first(where: { $0.application.id == id }) else {
            throw APIError.notFound("application '\(id)'")
        }
        return try Self.json(app)
    }

    struct ApplicationBody: Decodable {
        var name: String
        var nameZh: String?
        var businessUnit: String
        var tier: String?
        var rtoMinutes: Int?
        var rpoMinutes: Int?
        var owners: [String]?
        var selector: ResourceSelector
    }

    @Sendable func saveApplication(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let id = context.parameters.get("id") ?? ""
        guard Ownership.isValidID(id) else { throw APIError.badParameter("id", "an id is 1-64 letters, digits, '-' or '_'") }
        let b = try await body(ApplicationBody.self, request, context)
        let app = CanopyModel.Application(
            id: id, name: b.name, nameZh: b.nameZh, businessUnit: b.businessUnit, tier: b.tier, rtoMinutes: b.rtoMinutes, rpoMinutes: b.rpoMinutes,
            owners: b.owners ?? [], selector: b.selector)
        try await ownershipChange { try await store.save(app, actor: user.name) }
        return try Self.json(app)
    }

    @Sendable func deleteApplication(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let id = context.parameters.get("id") ?? ""
        try await ownershipChange { try await store.deleteApplication(id: id, actor: user.name) }
        return Response(status: .noContent)
    }

    // MARK: Policies, exceptions, changes

    struct PolicySummary: Encodable {
        var id: String
        var title: String
        var titleZh: String?
        var severity: String
        var resource: String
        var pack: String
        var requirements: [String]
        var policyHash: String
    }

    @Sendable func policies(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        _ = try context.apiUser()
        let engine = dependencies.engine
        return try Self.json(
            engine.packs.flatMap { pack in
                pack.checks.map { check in
                    PolicySummary(
                        id: check.id, title: check.title, titleZh: check.titleZh, severity: check.severity.rawValue, resource: check.policy.resource,
                        pack: pack.name, requirements: engine.requirementsByCheck[check.id] ?? [], policyHash: check.policyHash)
                }
            })
    }

    @Sendable func exceptions(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let byUID = Dictionary(try await dependencies.cache.resources(store).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        return try Self.json(try await store.waivers().filter { scope.mayConcern($0, resources: byUID) })
    }

    struct ExceptionBody: Decodable {
        var check: String
        var selector: String
        var reason: String
        var days: Int?
    }

    @Sendable func requestException(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canTriage }
        let b = try await body(ExceptionBody.self, request, context)
        let scope = try await AccessScope.of(user, store: store)
        if scope.accounts != nil {
            let byUID = Dictionary(try await dependencies.cache.resources(store).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
            guard scope.owns(selector: b.selector, resources: byUID) else {
                throw APIError.badParameter("selector", "a business-unit owner may ask only about a resource or account:<id> of their units")
            }
        }
        do {
            return try Self.created(
                try await ExceptionWorkflow.request(
                    check: b.check, selector: b.selector, reason: b.reason, days: b.days ?? 90, requester: user.name, engine: dependencies.engine, store: store))
        } catch let error as ExceptionError {
            throw APIError.badParameter(error.field, "\(error)")
        }
    }

    struct DecisionBody: Decodable {
        var decision: String
    }

    @Sendable func decideException(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canApproveExceptions }
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw APIError.badParameter("id", "the id is a whole number") }
        let b = try await body(DecisionBody.self, request, context)
        guard let decision = ExceptionWorkflow.Decision(rawValue: b.decision) else {
            throw APIError.badParameter("decision", "'decision' is one of approve, reject, revoke")
        }
        do {
            return try Self.json(try await ExceptionWorkflow.decide(id: id, decision, actor: user.name, engine: dependencies.engine, store: store))
        } catch let error as ExceptionError {
            throw APIError(status: .conflict, code: "conflict", message: "\(error)", field: error.field)
        } catch StoreError.unknownWaiver {
            throw APIError.notFound("exception \(id)")
        }
    }

    /// What changed: the changes one scan recorded, or the difference between two scans.
    @Sendable func changes(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let q = request.uri.queryParameters
        func scanID(_ name: String) throws -> Int64? {
            guard let text = q.get(name) else { return nil }
            guard let id = Int64(text), id > 0 else { throw APIError.badParameter(name, "'\(name)' is a scan id") }
            return id
        }
        let (scan, from, to) = (try scanID("scan"), try scanID("from"), try scanID("to"))
        let latest = try await store.scans(limit: 1).first?.id
        let changes: [ResourceChange]
        if let from {
            // Without `to`: everything since `from`, up to the latest scan.
            let to = to ?? latest ?? from
            guard try await store.scan(id: from) != nil else { throw APIError.notFound("scan \(from)") }
            guard try await store.scan(id: to) != nil else { throw APIError.notFound("scan \(to)") }
            changes = try await store.diff(from: from, to: to)
        } else {
            // `to` alone: what that scan changed against the one before it.
            guard let id = scan ?? to ?? latest else { return try Self.json(Page<ResourceChange>(items: [], nextCursor: nil)) }
            guard try await store.scan(id: id) != nil else { throw APIError.notFound("scan \(id)") }
            changes = try await store.changes(scanID: id)
        }
        let visible = changes.filter { scope.allows($0.account) }.sorted { $0.uid < $1.uid }
        let (page, next) = try Self.paginate(visible, key: \.uid, request: request)
        return try Self.json(Page(items: page, nextCursor: next))
    }

    // MARK: Users and tokens

    /// A user as the API shows one: never the password hash.
    struct UserView: Encodable {
        var name: String
        var role: Role
        var businessUnits: [String]
        var lockedUntil: Date?

        init(_ user: User) {
            name = user.name
            role = user.role
            businessUnits = user.businessUnits
            lockedUntil = user.lockedUntil
        }
    }

    @Sendable func users(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        guard try context.apiUser().role.canManageUsers else { throw APIError.forbidden }
        return try Self.json(try await store.users().map(UserView.init))
    }

    struct UserBody: Decodable {
        var name: String
        var role: String
        var businessUnits: [String]?
    }

    struct CreatedUser: Encodable {
        var user: UserView
        /// Shown once.
        var password: String
    }

    @Sendable func createUser(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let actor = try changer(request, context) { $0.canManageUsers }
        let b = try await body(UserBody.self, request, context)
        guard let role = Role(rawValue: b.role) else { throw APIError.badParameter("role", "'role' is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
        do {
            let (user, password) = try await Administration.createUser(
                name: b.name, role: role, businessUnits: b.businessUnits ?? [], password: nil, actor: actor.name, store: store,
                bcryptCost: dependencies.configuration.bcryptCost)
            var response = try Self.created(CreatedUser(user: UserView(user), password: password ?? ""))
            response.headers[.cacheControl] = "no-store"
            return response
        } catch let error as AdministrationError {
            throw APIError.badParameter(error.field, "\(error)")
        } catch StoreError.duplicateUser(let name) {
            throw APIError(status: .conflict, code: "conflict", message: "a user named '\(name)' exists already", field: "name")
        }
    }

    @Sendable func tokens(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        return try Self.json(try await store.apiTokens(user: user.role.canManageUsers ? nil : user.name))
    }

    struct TokenBody: Decodable {
        var name: String
        /// nil or absent: the caller's own role.
        var role: String?
        var days: Int?
    }

    struct CreatedToken: Encodable {
        var token: APIToken
        /// Shown once; only its hash is kept.
        var secret: String
    }

    @Sendable func createToken(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { _ in true }
        let b = try await body(TokenBody.self, request, context)
        var role: Role?
        if let text = b.role {
            guard let known = Role(rawValue: text) else { throw APIError.badParameter("role", "'role' is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
            role = known
        }
        do {
            let (token, secret) = try await Administration.issueToken(name: b.name, for: user, role: role, days: b.days ?? 90, actor: user.name, store: store)
            var response = try Self.created(CreatedToken(token: token, secret: secret))
            response.headers[.cacheControl] = "no-store"
            return response
        } catch AdministrationError.notAllowed(let field, let message) {
            throw APIError(status: .forbidden, code: "forbidden", message: message, field: field)
        } catch let error as AdministrationError {
            throw APIError.badParameter(error.field, "\(error)")
        }
    }

    @Sendable func revokeToken(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { _ in true }
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw APIError.badParameter("id", "the id is a whole number") }
        // Your own tokens, or anyone's for an admin; others' read as absent.
        guard try await store.apiTokens(user: user.role.canManageUsers ? nil : user.name).contains(where: { $0.id == id }) else {
            throw APIError.notFound("token \(id)")
        }
        // A client that revokes the token it calls with would lock itself out mid-run: that is
        // done from the console or with another token.
        if let current = context.apiTokenHash, try await store.apiTokenID(tokenHash: current) == id {
            throw APIError(status: .forbidden, code: "forbidden", message: "a token cannot revoke itself; use the console or another token")
        }
        try await store.revokeAPIToken(id: id, actor: user.name)
        return Response(status: .noContent)
    }
}

extension APIController {
    @Sendable func webhooks(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        guard try context.apiUser().role.canManageWebhooks else { throw APIError.forbidden }
        return try Self.json(try await store.webhooks())
    }

    struct WebhookBody: Decodable {
        var name: String
        var url: String
        var events: [String]
        var minimumSeverity: String?
    }

    @Sendable func createWebhook(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageWebhooks }
        let b = try await body(WebhookBody.self, request, context)
        let events = try b.events.map { text in
            guard let event = WebhookEvent(rawValue: text) else {
                throw APIError.badParameter("events", "events are \(WebhookEvent.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return event
        }
        var minimum = 4
        if let text = b.minimumSeverity {
            guard let severity = Severity(rawValue: text) else {
                throw APIError.badParameter("minimumSeverity", "'minimumSeverity' is one of informational, low, medium, high, critical")
            }
            minimum = severity.ocsfID
        }
        guard let dispatcher = dependencies.webhooks else { throw APIError(status: .serviceUnavailable, code: "unavailable", message: "webhook delivery is not configured") }
        do {
            return try Self.created(try await dispatcher.create(name: b.name, url: b.url, events: events, minimumSeverityID: minimum, actor: user.name))
        } catch WebhookError.noEvents {
            throw APIError.badParameter("events", "choose at least one event")
        } catch let error as WebhookError {
            throw APIError.badParameter(b.name.trimmingCharacters(in: .whitespaces).isEmpty ? "name" : "url", "\(error)")
        }
    }

    @Sendable func deleteWebhook(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageWebhooks }
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw APIError.badParameter("id", "the id is a whole number") }
        do { try await store.deleteWebhook(id: id, actor: user.name) } catch StoreError.unknownWebhook { throw APIError.notFound("webhook \(id)") }
        return Response(status: .noContent)
    }
}

extension APIController {
    /// Cost by one dimension for a month (or a span of days), from the FOCUS ledger, scoped.
    @Sendable func costs(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let q = request.uri.queryParameters
        var dimension = CostDimension.service
        if let text = q.get("by") {
            guard let known = CostDimension(text: text) else {
                throw APIError.badParameter("by", "'by' is one of \(CostDimension.forms.joined(separator: ", "))")
            }
            dimension = known
        }
        var metric = CostMetric.billed
        if let text = q.get("metric") {
            guard let known = CostMetric(rawValue: text) else { throw APIError.badParameter("metric", "'metric' is billed or effective") }
            metric = known
        }
        var query = CostQuery(subAccounts: scope.accountList)
        if let month = q.get("month") {
            guard let bounds = ConsoleController.costMonth(month, latest: nil) else { throw APIError.badParameter("month", "'month' is YYYY-MM") }
            query.from = bounds.from
            query.to = bounds.to
        }
        for (name, keyPath) in [("from", \CostQuery.from), ("to", \CostQuery.to)] {
            guard let day = q.get(name) else { continue }
            guard CostCalendar.isDay(day) else { throw APIError.badParameter(name, "'\(name)' is a day, YYYY-MM-DD") }
            query[keyPath: keyPath] = day
        }
        do {
            return try Self.json(try await CostBreakdown.build(by: dimension, metric: metric, query: query, store: store))
        } catch let error as CostViewError {
            // A category the rules do not define is something that is not there, like an unknown id.
            switch error {
            case .noCategories, .unknownCategory: throw APIError(status: .notFound, code: "not_found", message: "\(error)")
            default: throw APIError.badParameter("by", "\(error)")
            }
        }
    }

    /// The allocation rules in force and every earlier version (without their text).
    struct AllocationView: Encodable {
        struct Version: Encodable {
            var version: Int
            var appliedAt: Date
            var actor: String
            var sha256: String
        }
        var current: Version?
        var source: String?
        var rules: AllocationRules?
        var versions: [Version]
    }

    @Sendable func costAllocation(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        _ = try context.apiUser()
        let versions = try await store.allocationVersions()
        let list = versions.map { AllocationView.Version(version: $0.version, appliedAt: $0.appliedAt, actor: $0.actor, sha256: $0.sha256) }
        return try Self.json(AllocationView(current: list.first, source: versions.first?.source, rules: versions.first?.rules, versions: list))
    }

    struct AllocationBody: Decodable {
        var source: String
        var month: String?
    }

    /// Rules from a body's YAML, checked against the units in force; problems are 400s naming the line.
    func allocationRules(_ body: AllocationBody) async throws -> AllocationRules {
        let rules: AllocationRules
        do { rules = try AllocationFile.parse(body.source, file: "source") } catch { throw APIError.badParameter("source", "\(error)") }
        if let problem = try await rules.problems(store: store).first { throw APIError.badParameter("source", problem) }
        return rules
    }

    /// Applies rules as a new version (admin, ccoe); the same rules again are a 200 with no new version.
    @Sendable func applyCostAllocation(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let body = try await body(AllocationBody.self, request, context)
        let rules = try await allocationRules(body)
        let applied = try await store.applyAllocation(rules, source: body.source, actor: user.name)
        var response = try await costAllocation(request, context: context)
        if applied != nil { response.status = .created }
        return response
    }

    /// What rules would change for a month, per unit (admin, ccoe: it shows every unit's cost).
    @Sendable func previewCostAllocation(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard user.role.canManageOwnership else { throw APIError.forbidden }
        let body = try await body(AllocationBody.self, request, context)
        let rules = try await allocationRules(body)
        if let month = body.month, CostCalendar.monthSpan(month, years: 2000...2200) == nil { throw APIError.badParameter("month", "'month' is YYYY-MM") }
        do {
            return try Self.json(try await AllocationPreview.build(candidate: rules, month: body.month, store: store))
        } catch let error as CostViewError {
            throw APIError.badParameter("month", "\(error)")
        }
    }

    /// Budgets with where each stands this month (read-only: nothing is raised), scoped.
    @Sendable func budgets(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let ownership = try await store.ownership()
        return try Self.json(try await Budgets.check(store: store, raise: false).filter { scope.mayRead($0.budget, ownership: ownership) })
    }

    struct BudgetBody: Decodable {
        var name: String
        var scope: Budget.Scope
        var target: String
        var amount: Decimal
        var currency: String?
        var thresholds: [Int]?
    }

    @Sendable func saveBudget(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let id = context.parameters.get("id") ?? ""
        guard Ownership.isValidID(id) else { throw APIError.badParameter("id", "an id is 1-64 letters, digits, '-' or '_'") }
        let b = try await body(BudgetBody.self, request, context)
        guard b.amount > 0 else { throw APIError.badParameter("amount", "'amount' must be more than zero") }
        let thresholds = b.thresholds ?? [50, 80, 100]
        guard !thresholds.isEmpty, thresholds.allSatisfy({ (1...1_000).contains($0) }) else {
            throw APIError.badParameter("thresholds", "'thresholds' are percentages from 1 to 1000")
        }
        let ownership = try await store.ownership()
        let known: Bool
        switch b.scope {
        case .businessUnit: known = ownership.effectiveBusinessUnits(accounts: try await store.accounts()).contains { $0.id == b.target }
        case .application: known = ownership.application(b.target) != nil
        case .account: known = !b.target.isEmpty
        }
        guard known else { throw APIError.badParameter("target", "no \(b.scope.rawValue) '\(b.target)'") }
        let currency = b.currency ?? "USD"
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw APIError.badParameter("currency", "'currency' is an ISO 4217 code such as USD")
        }
        guard !b.name.trimmingCharacters(in: .whitespaces).isEmpty else { throw APIError.badParameter("name", "'name' is required") }
        let budget = Budget(id: id, name: b.name, scope: b.scope, target: b.target, amount: b.amount, currency: currency, thresholds: thresholds.sorted())
        try await store.save(budget, actor: user.name)
        return try Self.json(budget)
    }

    @Sendable func deleteBudget(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageOwnership }
        let id = context.parameters.get("id") ?? ""
        do { try await store.deleteBudget(id: id, actor: user.name) } catch StoreError.unknownOwnership { throw APIError.notFound("budget '\(id)'") }
        return Response(status: .noContent)
    }

    struct ForecastView: Encodable {
        struct Backtest: Encodable {
            var month: String
            var forecast: Double
            var actual: Double
            var variance: Double
        }
        var forecast: CostForecast
        var backtest: [Backtest]
        var meanAbsoluteVariance: Double?
    }

    @Sendable func costForecast(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let currency = request.uri.queryParameters.get("currency") ?? "USD"
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw APIError.badParameter("currency", "'currency' is an ISO 4217 code such as USD")
        }
        let (forecast, backtest) = try await CostAnalysis.forecast(store: store, accounts: scope.accountList, currency: currency)
        let rows = backtest.map { ForecastView.Backtest(month: $0.month, forecast: $0.forecast, actual: $0.actual, variance: $0.variance) }
        return try Self.json(
            ForecastView(
                forecast: forecast, backtest: rows,
                meanAbsoluteVariance: rows.isEmpty ? nil : rows.map { abs($0.variance) }.reduce(0, +) / Double(rows.count)))
    }

    @Sendable func costAnomalies(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let since = request.uri.queryParameters.get("since")
        if let since, !CostCalendar.isDay(since) { throw APIError.badParameter("since", "'since' is a day, YYYY-MM-DD") }
        return try Self.json(try await CostAnalysis.anomalies(store: store, accounts: scope.accountList, since: since))
    }

    /// Savings in the caller's accounts, judged as of the last scan.
    @Sendable func costRecommendations(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let judged = try await Recommender.judgementTime(store: store)
        return try Self.json(try await Recommender().recommend(store: store, now: judged).filter { scope.allows($0.account) })
    }
}

extension AccessScope {
    /// Whether a waiver concerns this scope: estate-wide selectors (`*`, tags) concern everyone;
    /// an account or resource selector only those whose scope holds it.
    func mayConcern(_ waiver: Waiver, resources: [String: Resource]) -> Bool {
        guard accounts != nil else { return true }
        if waiver.selector == "*" || waiver.selector.hasPrefix("tag:") { return true }
        return owns(selector: waiver.selector, resources: resources)
    }

    /// Whether a selector names only what this scope holds: one of its accounts or resources.
    func owns(selector: String, resources: [String: Resource]) -> Bool {
        if selector.hasPrefix("account:") { return allows(String(selector.dropFirst("account:".count))) }
        return resources[selector].map { allows($0.account) } ?? false
    }
}

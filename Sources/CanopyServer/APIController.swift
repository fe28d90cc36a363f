import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// `/api/v1`: JSON, bearer token or session, scoped like the console, cursor pagination, one
/// error shape. Described by `Resources/openapi.yaml`.
struct APIController {
    let dependencies: ServerDependencies
    var store: any CanopyStore { dependencies.store }

    func addRoutes(to group: RouterGroup<CanopyRequestContext>) {
        group.get("openapi.yaml", use: openAPI)
        group.get("scans", use: scans)
        group.get("resources", use: resources)
        group.get("resource", use: resource)
        group.get("findings", use: findings)
        group.get("frameworks", use: frameworks)
        group.get("compliance/:framework", use: compliance)
        group.get("audit-log", use: auditLog)
        addGovernanceRoutes(to: group)
        addCarbonRoutes(to: group)
        addLakeRoutes(to: group)
        addSecurityRoutes(to: group)
        addHostRoutes(to: group)
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = CanopyJSON.encoder()
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
    }

    /// A page of items and the cursor for the next one (nil on the last page).
    struct Page<Item: Encodable>: Encodable {
        var items: [Item]
        var nextCursor: String?
    }

    /// Keyset pagination over a list sorted by `key`: the cursor is the last key of the previous
    /// page, so any string is a valid cursor ("the items after this one") and pages stay stable
    /// while items are added.
    static func paginate<Item>(_ items: [Item], key: (Item) -> String, request: Request) throws -> ([Item], String?) {
        let limit = try request.integer("limit", default: 100, range: 1...1_000)
        var start = 0
        if let after = request.uri.queryParameters.get("cursor") {
            start = items.firstIndex { key($0) > after } ?? items.count
        }
        let page = Array(items[start..<min(start + limit, items.count)])
        let next = start + limit < items.count ? page.last.map(key) : nil
        return (page, next)
    }

    @Sendable func openAPI(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let data = try? Data(contentsOf: url) else {
            throw APIError.notFound("OpenAPI document")
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    @Sendable func scans(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let limit = try request.integer("limit", default: 20, range: 1...1_000)
        return try Self.json(try await store.scans(limit: limit).map(scope.visible))
    }

    @Sendable func resources(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        let scope = try await AccessScope.of(user, store: store)
        let q = request.uri.queryParameters
        var accounts = scope.accountList
        if let account = q.get("account") { accounts = scope.allows(account) ? [account] : [] }
        let type = q.get("type").map { $0.contains(".") ? $0 : "aws.\($0)" }
        let region = q.get("region")
        let allowed = accounts.map(Set.init)
        let items = try await dependencies.cache.resources(store).filter { r in
            (type == nil || r.type == type) && (allowed?.contains(r.account) ?? true) && (region == nil || r.region == region)
        }.sorted { $0.uid < $1.uid }
        let (page, next) = try Self.paginate(items, key: \.uid, request: request)
        return try Self.json(Page(items: page, nextCursor: next))
    }

    @Sendable func resource(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard let uid = request.uri.queryParameters.get("uid") else { throw APIError.badParameter("uid", "'uid' is required") }
        let scope = try await AccessScope.of(user, store: store)
        guard let resource = try await store.resource(uid: uid), scope.allows(resource.account) else { throw APIError.notFound("resource with that uid") }
        return try Self.json(resource)
    }

    @Sendable func findings(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        let scope = try await AccessScope.of(user, store: store)
        let q = request.uri.queryParameters
        var statuses: [FindingStatus]? = [.new, .inProgress, .suppressed]
        if let status = q.get("status") {
            if status == "all" { statuses = nil } else {
                guard let known = FindingStatus(rawValue: status) else {
                    throw APIError.badParameter("status", "'status' is one of new, in_progress, suppressed, resolved, all")
                }
                statuses = [known]
            }
        }
        var minimum: Int?
        if let severity = q.get("severity") {
            guard let level = Severity(rawValue: severity)?.ocsfID else {
                throw APIError.badParameter("severity", "'severity' is one of informational, low, medium, high, critical")
            }
            minimum = level
        }
        var accounts = scope.accountList
        if let account = q.get("account") { accounts = scope.allows(account) ? [account] : [] }
        let items = try await store.findings(
            FindingQuery(checkIDs: q.get("check").map { [$0] }, accounts: accounts, statuses: statuses, minimumSeverityID: minimum))
            .sorted { $0.uid < $1.uid }
        let (page, next) = try Self.paginate(items, key: \.uid, request: request)
        return try Self.json(Page(items: page, nextCursor: next))
    }

    struct FrameworkSummary: Encodable {
        var id: String
        var name: String
        var nameZh: String?
        var version: String?
        var requirements: Int
    }

    @Sendable func frameworks(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        _ = try context.apiUser()
        return try Self.json(dependencies.engine.frameworks.map {
            FrameworkSummary(id: $0.id, name: $0.name, nameZh: $0.nameZh, version: $0.version, requirements: $0.requirements.count)
        })
    }

    @Sendable func compliance(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        let scope = try await AccessScope.of(user, store: store)
        let id = context.parameters.get("framework") ?? ""
        guard let framework = dependencies.engine.framework(id) else { throw APIError.notFound("framework '\(id)'") }
        let level = request.uri.queryParameters.get("level")
        if let level, !["普", "中", "高"].contains(level) {
            throw APIError.badParameter("level", "'level' is one of 普, 中, 高")
        }
        do {
            return try Self.json(
                try await dependencies.cache.assessment(id, level: framework.levels.isEmpty ? nil : level, scope: scope, dependencies: dependencies))
        } catch let error as ComplianceError {
            throw APIError.badParameter("level", "\(error)")
        }
    }

    @Sendable func auditLog(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard user.role.canReadAuditLog else { throw APIError.forbidden }
        let limit = try request.integer("limit", default: 100, range: 1...100_000)
        switch request.uri.queryParameters.get("format") ?? "json" {
        case "json": return try Self.json(try await store.auditLog(limit: limit))
        case "csv":
            let entries = try await store.auditLog(limit: limit).reversed()
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"canopy-audit-log.csv\""],
                body: .init(byteBuffer: ByteBuffer(string: AuditCSV.render(Array(entries)))))
        default: throw APIError.badParameter("format", "'format' is json or csv")
        }
    }
}

/// Health, readiness, metrics and the stylesheet: no sign-in needed.
struct OperationsController {
    let dependencies: ServerDependencies

    func addRoutes(to router: Router<CanopyRequestContext>) {
        router.get("healthz") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("readyz", use: ready)
        router.get("metrics", use: metrics)
        router.get("static/canopy.css") { request, context in try Self.asset("canopy", "css", type: "text/css; charset=utf-8") }
        router.get("static/favicon.svg") { request, context in try Self.asset("favicon", "svg", type: "image/svg+xml") }
    }

    @Sendable func ready(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        do {
            _ = try await dependencies.store.scans(limit: 1)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        } catch {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "database unavailable\n")))
        }
    }

    /// Prometheus text exposition of what an operator watches: open findings by severity, the
    /// inventory size, the last scan's duration and the uptime.
    @Sendable func metrics(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let store = dependencies.store
        let open = try await store.findings(FindingQuery(statuses: [.new, .inProgress]))
        let bySeverity = Dictionary(grouping: open, by: \.severityID).mapValues(\.count)
        var text = "# HELP canopy_open_findings Open compliance findings by severity.\n# TYPE canopy_open_findings gauge\n"
        for severity in Severity.allCases { text += "canopy_open_findings{severity=\"\(severity.rawValue)\"} \(bySeverity[severity.ocsfID] ?? 0)\n" }
        let counts = try await store.countsByType()
        text += "# HELP canopy_resources Resources in the current inventory.\n# TYPE canopy_resources gauge\ncanopy_resources \(counts.values.reduce(0, +))\n"
        let scans = try await store.scans(limit: 10_000)
        if let scan = scans.first, let finished = scan.finishedAt {
            text += "# HELP canopy_last_scan_seconds Duration of the last scan.\n# TYPE canopy_last_scan_seconds gauge\n"
            text += "canopy_last_scan_seconds \(String(format: "%.3f", finished.timeIntervalSince(scan.startedAt)))\n"
        }
        text += PrometheusText.histogram(
            name: "canopy_scan_duration_seconds", help: "Durations of the completed scans in the database.",
            buckets: [10, 30, 60, 120, 300, 600, 1_800, 3_600],
            values: scans.compactMap { scan in scan.finishedAt.map { $0.timeIntervalSince(scan.startedAt) } })
        text += "# HELP canopy_uptime_seconds Seconds since the server started.\n# TYPE canopy_uptime_seconds counter\n"
        text += "canopy_uptime_seconds \(String(format: "%.0f", Date().timeIntervalSince(dependencies.started)))\n"
        text += dependencies.requests.exposition
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A file shipped in the binary's resources.
    static func asset(_ name: String, _ ext: String, type: String) throws -> Response {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext), let data = try? Data(contentsOf: url) else {
            throw HTTPError(.notFound)
        }
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=3600"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

import CanopyCompliance
import CanopyHost
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// On-prem hosts over the API: the agents' inventory upload (with a host enrollment token, which
/// opens nothing else), host listing, enrollments, patch compliance and the patch baseline.
extension APIController {
    /// The largest inventory an agent may upload: a host with 10,000 packages is about 2 MB of JSON.
    static let maximumInventoryBytes = 16 * 1024 * 1024

    func addHostRoutes(to group: RouterGroup<CanopyRequestContext>) {
        group.post("hosts/inventory", use: uploadHostInventory)
        group.get("hosts", use: hosts)
        group.get("hosts/enrollments", use: hostEnrollments)
        group.post("hosts/enrollments", use: createHostEnrollment)
        group.delete("hosts/enrollments/:id", use: revokeHostEnrollment)
        group.get("patch/compliance", use: patchCompliance)
        group.get("patch/baseline", use: patchBaseline)
        group.put("patch/baseline", use: applyPatchBaseline)
    }

    /// An agent's upload. The bearer token must be a host enrollment's; the first upload binds the
    /// enrollment to the host's machine id, and an upload naming another host is refused, audited
    /// and stores nothing. The inventory is validated whole before anything is written.
    @Sendable func uploadHostInventory(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let now = Date()
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(status: .unauthorized, code: "unauthenticated", message: "send the host's enrollment token: Authorization: Bearer <token> (canopy hosts enroll)")
        }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let enrollment = try await store.hostEnrollment(tokenHash: Secrets.hash(token), at: now) else {
            throw APIError(status: .unauthorized, code: "unauthenticated", message: "the token is not a valid host enrollment token (revoked, expired, or a user's API token)")
        }
        let upload = try await body(HostUpload.self, request, context, limit: Self.maximumInventoryBytes, decoder: CanopyJSON.decoder())
        let result: HostIntake.Result
        do {
            try HostTags.validate(upload.tags)
            // The intake validates the whole inventory first; only then is the enrollment bound.
            result = try await HostIntake(store: store).record(upload.inventory, source: "agent", now: now) { inventory in
                let bound: HostEnrollment
                do {
                    bound = try await store.bindHostEnrollment(id: enrollment.id, hostID: inventory.hostID, at: now)
                } catch let error as StoreError {
                    _ = try await store.appendAudit(
                        actor: "host-enrollment/\(enrollment.id)", action: "host.upload.refused", target: "host/\(inventory.hostID)",
                        details: ["reason": .string("\(error)"), "hostname": .string(inventory.hostname)], at: now)
                    throw APIError(status: .forbidden, code: "host_mismatch", message: "\(error)", field: "inventory.hostID")
                }
                // The enrollment's tags are the CCoE's word on ownership; the agent's only add to them.
                return HostPlacement(site: bound.site, tags: upload.tags.merging(bound.tags) { _, enrolled in enrolled })
            }
        } catch let problem as HostInventoryProblem {
            throw APIError(status: .unprocessableContent, code: "invalid_inventory", message: problem.description, field: problem.field)
        }
        try await dependencies.engine.evaluate(scan: result.scan, store: store)
        return try Self.json(
            HostAgent.Receipt(
                host: upload.inventory.hostname, resource: result.resource.uid, scan: result.scan.id, change: result.change?.rawValue,
                problems: upload.inventory.problems.count))
    }

    /// The hosts the caller may see, with the facts a list shows.
    @Sendable func hosts(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let hosts = try await store.resources(ResourceQuery(types: [onpremHostType], accounts: scope.accountList))
        let (page, next) = try Self.paginate(hosts.sorted { $0.uid < $1.uid }, key: \.uid, request: request)
        return try Self.json(Page(items: page.map(HostSummary.init), nextCursor: next))
    }

    struct HostSummary: Encodable {
        var uid: String
        var hostname: String
        var site: String
        var os: String?
        var kernel: String?
        var packages: Int?
        var pendingUpdates: Int?
        var pendingSecurityUpdates: Int?
        var worldListening: [String]
        var observedAt: Date
        var tags: [String: String]

        init(_ resource: Resource) {
            let p = resource.properties
            uid = resource.uid
            hostname = resource.name
            site = resource.account
            os = p.value(atPath: "OS.PrettyName")?.stringValue
            kernel = p.value(atPath: "Kernel.Release")?.stringValue
            packages = p["PackageCount"]?.intValue.map(Int.init)
            pendingUpdates = p["PendingUpdateCount"]?.intValue.map(Int.init)
            pendingSecurityUpdates = p["PendingSecurityUpdateCount"]?.intValue.map(Int.init)
            worldListening = p["WorldListeningServices"]?.arrayValue?.compactMap(\.stringValue) ?? []
            observedAt = resource.observedAt
            tags = resource.tags
        }
    }

    @Sendable func hostEnrollments(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard user.role.canManageHosts else { throw APIError.forbidden }
        return try Self.json(try await store.hostEnrollments())
    }

    struct EnrollmentBody: Decodable {
        var name: String
        var site: String
        var tags: [String: String]?
        var days: Int?
    }

    struct CreatedEnrollment: Encodable {
        var enrollment: HostEnrollment
        var token: String
    }

    @Sendable func createHostEnrollment(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageHosts }
        let b = try await body(EnrollmentBody.self, request, context)
        do {
            let (enrollment, secret) = try await Administration.enrollHost(
                name: b.name, site: b.site, tags: b.tags ?? [:], days: b.days ?? 365, actor: user.name, store: store)
            var response = try Self.created(CreatedEnrollment(enrollment: enrollment, token: secret))
            response.headers[.cacheControl] = "no-store"
            return response
        } catch let error as AdministrationError {
            throw APIError.badParameter(error.field, "\(error)")
        } catch let problem as HostInventoryProblem {
            throw APIError.badParameter(problem.field, problem.description)
        }
    }

    @Sendable func revokeHostEnrollment(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try changer(request, context) { $0.canManageHosts }
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw APIError.badParameter("id", "the id is a whole number") }
        do { try await store.revokeHostEnrollment(id: id, actor: user.name) } catch StoreError.unknownHostEnrollment {
            throw APIError.notFound("host enrollment \(id)")
        }
        return Response(status: .noContent)
    }

    /// Patch compliance per host (`by=host`, the default) or per business unit (`by=bu`), scoped.
    @Sendable func patchCompliance(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let by = request.uri.queryParameters.get("by") ?? "host"
        guard by == "host" || by == "bu" else { throw APIError.badParameter("by", "'by' is host or bu") }
        var report = try await PatchReports.evaluate(store: store, accounts: scope.accountList, now: Date())
        if let state = request.uri.queryParameters.get("state") {
            guard let wanted = PatchCompliance.State(rawValue: state) else {
                throw APIError.badParameter("state", "'state' is one of \(PatchCompliance.State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            report.hosts = report.hosts.filter { $0.state == wanted }
        }
        return by == "bu" ? try Self.json(report.businessUnits) : try Self.json(report)
    }

    struct BaselineView: Encodable {
        var baseline: PatchBaseline
        var source: String
        var sha256: String?
        var appliedAt: Date?
        var appliedBy: String?
        var standard: Bool
    }

    @Sendable func patchBaseline(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        _ = try context.apiUser()
        if let version = try await store.patchBaseline() {
            return try Self.json(BaselineView(baseline: version.baseline, source: version.source, sha256: version.sha256, appliedAt: version.appliedAt, appliedBy: version.actor, standard: false))
        }
        return try Self.json(BaselineView(baseline: .standard, source: PatchReports.describe(.standard), standard: true))
    }

    /// Applies a patch baseline from its YAML (admin, ccoe; audited), like the carbon settings:
    /// 201 when it changed, 200 when it is in force already. Errors name the line and field.
    @Sendable func applyPatchBaseline(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        try await applyYAMLDocument(
            request, context, allowed: \.canManageHosts, parse: { try PatchBaselineFile.parse($0, file: "source") },
            apply: { baseline, source, actor in try await store.applyPatchBaseline(baseline, source: source, actor: actor) != nil },
            view: { try await patchBaseline(request, context: context) })
    }
}

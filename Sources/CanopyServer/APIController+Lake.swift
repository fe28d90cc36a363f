import CanopyLake
import CanopyModel
import CanopyStore
import Foundation
import Hummingbird

extension APIController {
    func addLakeRoutes(to group: RouterGroup<CanopyRequestContext>) {
        group.get("lake/events", use: lakeEvents)
        group.get("lake/verify", use: lakeVerify)
        group.post("lake/sql", use: lakeSQL)
        group.get("lake/queries", use: savedQueries)
    }

    struct SQLBody: Decodable {
        var sql: String
        var limit: Int?
    }

    /// Read-only SQL over the lake views (admin, auditor); the database refuses anything else.
    @Sendable func lakeSQL(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard user.role.canQueryLakeSQL else { throw APIError.forbidden }
        let b = try await body(SQLBody.self, request, context)
        let limit = b.limit ?? 1_000
        guard (1...10_000).contains(limit) else { throw APIError.badParameter("limit", "'limit' is 1 to 10000") }
        do { return try Self.json(try await store.lakeSQL(b.sql, limit: limit)) } catch let problem as LakeSQL.Problem {
            throw APIError.badParameter("sql", problem.message)
        }
    }

    @Sendable func savedQueries(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard user.role.canReadActivity else { throw APIError.forbidden }
        return try Self.json(try await store.savedQueries().filter { $0.kind == .filter || user.role.canQueryLakeSQL })
    }

    /// The caller's filter, narrowed to their accounts; 403 for roles that may not read the trail.
    func lakeFilter(_ request: Request, _ context: CanopyRequestContext) async throws -> LakeFilter {
        let user = try context.apiUser()
        guard user.role.canReadActivity else { throw APIError.forbidden }
        let scope = try await AccessScope.of(user, store: store)
        var filter: LakeFilter
        do { filter = try LakeQuery.parse(request.formQuery("q") ?? "") } catch let problem as LakeQuery.Problem {
            throw APIError.badParameter("q", problem.description)
        }
        filter.accounts = scope.accountList
        return filter
    }

    /// Lake events matching a filter (`q`, the lake's filter language), oldest first: the records
    /// as received (JSON) or the common fields (CSV).
    @Sendable func lakeEvents(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let filter = try await lakeFilter(request, context)
        let q = request.uri.queryParameters
        let limit = try q.get("limit").map { text in
            guard let value = Int(text), (1...10_000).contains(value) else { throw APIError.badParameter("limit", "'limit' is 1 to 10000") }
            return value
        } ?? 1_000
        let events = try await store.lakeEvents(filter, limit: limit)
        if q.get("format") == "csv" {
            return Response(
                status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"canopy-lake.csv\""],
                body: .init(byteBuffer: ByteBuffer(string: LakeExport.csv(events))))
        }
        guard (q.get("format") ?? "json") == "json" else { throw APIError.badParameter("format", "'format' is json or csv") }
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: LakeExport.json(events))))
    }

    /// The lake's integrity, checked now against the public key it was sealed with.
    @Sendable func lakeVerify(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let user = try context.apiUser()
        guard user.role.canVerifyActivity else { throw APIError.forbidden }
        return try Self.json(try await LakeVerifier.verifyStored(store: store))
    }
}

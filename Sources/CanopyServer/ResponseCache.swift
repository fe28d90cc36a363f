import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird

/// Keeps rendered pages and API answers until the data behind them changes. A response is
/// stored per user (their role, scope and name are all in it), language and address, for the
/// data version (`ServerCache.Version`: last scan, last evaluation, audit head — every change a
/// person makes is audited). Pages carry the session's CSRF token in their forms; a stored page is
/// served to the same user's other sessions with their own token swapped in.
///
/// Only the read-mostly pages and API lists are cached; pages that show time-dependent state
/// (exceptions expiring, tokens, the audit log) are always rendered afresh.
struct ResponseCacheMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext
    let dependencies: ServerDependencies

    static let pagePrefixes = ["/inventory", "/findings", "/compliance", "/business-units", "/applications/", "/resource", "/scans", "/costs"]
    static let apiPrefixes = [
        "/api/v1/resources", "/api/v1/resource", "/api/v1/findings", "/api/v1/compliance/", "/api/v1/business-units", "/api/v1/applications",
        "/api/v1/changes", "/api/v1/policies", "/api/v1/frameworks", "/api/v1/scans", "/api/v1/costs",
    ]

    static func isCacheable(_ path: String) -> Bool {
        if path == "/business-units/edit" || path.hasSuffix("/report") { return false }
        return path == "/" || pagePrefixes.contains { path.hasPrefix($0) } || apiPrefixes.contains { path.hasPrefix($0) }
    }

    struct Stored: Sendable {
        var status: HTTPResponse.Status
        var contentType: String
        var body: ByteBuffer
        /// The CSRF token rendered into the page, to be replaced by the asking session's.
        var csrf: String?
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, let user = context.user, Self.isCacheable(request.uri.path) else {
            return try await next(request, context)
        }
        let version = try await dependencies.cache.version(dependencies.store)
        let key = "response|\(user.id)|\(user.role.rawValue)|\(context.language.rawValue)|\(request.uri.path)?\(request.uri.query ?? "")"
        let cache = dependencies.cache
        var found: Stored? = cache.peek(key, version: version)
        if found == nil {
            let flight = "\(key)|\(version.scan)/\(version.evaluation)/\(version.audit)"
            let (isLeader, value) = await cache.lead(flight)
            if isLeader {
                var landed: Stored?
                defer { cache.land(flight, landed) }
                let response = try await next(request, context)
                // Only complete successful answers are kept; errors and redirects pass through.
                guard response.status == .ok, let type = response.headers[.contentType] else { return response }
                let collector = BodyCollector()
                var headers = response.headers
                try await response.body.write(collector)
                let kept = Stored(status: response.status, contentType: type, body: collector.buffer, csrf: context.session?.csrfToken)
                cache.keep(kept, key, version: version)
                landed = kept
                headers[.contentLength] = nil
                return Response(status: response.status, headers: headers, body: .init(byteBuffer: collector.buffer))
            }
            found = value as? Stored
        }
        // The leader's answer was not kept (an error, a redirect): render this one as usual.
        guard let stored = found else { return try await next(request, context) }
        var body = stored.body
        if let rendered = stored.csrf, let current = context.session?.csrfToken, rendered != current {
            body = ByteBuffer(string: String(buffer: body).replacingOccurrences(of: rendered, with: current))
        }
        var headers: HTTPFields = [.contentType: stored.contentType]
        if stored.contentType.hasPrefix("text/html") { headers[.cacheControl] = "no-store" }
        return Response(status: stored.status, headers: headers, body: .init(byteBuffer: body))
    }
}

/// Collects a response body written in pieces.
final class BodyCollector: ResponseBodyWriter {
    var buffer = ByteBuffer()

    func write(_ buffer: ByteBuffer) async throws {
        var piece = buffer
        self.buffer.writeBuffer(&piece)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

import Foundation
import Hummingbird

/// Request counts and a latency histogram for `/metrics`, kept in memory (Prometheus scrapes
/// and keeps the history).
public final class RequestMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var bucketCounts = [Int](repeating: 0, count: buckets.count)
    private var total = 0
    private var sum = 0.0

    public init() {}

    func record(method: String, status: Int, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        counts["method=\"\(method)\",status=\"\(status)\"", default: 0] += 1
        for (index, bound) in Self.buckets.enumerated() where seconds <= bound { bucketCounts[index] += 1 }
        total += 1
        sum += seconds
    }

    /// Prometheus text exposition.
    var exposition: String {
        lock.lock()
        defer { lock.unlock() }
        var text = "# HELP canopy_http_requests_total HTTP requests by method and status.\n# TYPE canopy_http_requests_total counter\n"
        for (labels, count) in counts.sorted(by: { $0.key < $1.key }) { text += "canopy_http_requests_total{\(labels)} \(count)\n" }
        text += PrometheusText.histogram(
            name: "canopy_http_request_duration_seconds", help: "Request latency.", buckets: Self.buckets, counts: bucketCounts, total: total, sum: sum)
        return text
    }
}

struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        func done(_ status: Int) {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            metrics.record(method: request.method.rawValue, status: status, seconds: seconds)
            // The access log: the path without its query (which may carry ids worth keeping out
            // of log storage); credentials travel in headers and are never logged.
            context.logger.info(
                "request",
                metadata: [
                    "method": .string(request.method.rawValue), "path": .string(request.uri.path), "status": .stringConvertible(status),
                    "ms": .string(String(format: "%.1f", seconds * 1_000)),
                ])
        }
        do {
            let response = try await next(request, context)
            done(response.status.code)
            return response
        } catch {
            done((error as? any HTTPResponseError)?.status.code ?? 500)
            throw error
        }
    }
}

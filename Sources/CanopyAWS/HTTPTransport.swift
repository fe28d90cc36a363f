import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An HTTP request as Canopy builds and signs it, independent of the HTTP client library.
public struct AWSHTTPRequest: Sendable {
    public var method: String
    /// `https://ec2.us-east-1.amazonaws.com` or an override such as `http://127.0.0.1:5055`.
    public var endpoint: URL
    /// The path as sent on the wire (percent-encoded once).
    public var encodedPath: String
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(
        method: String, endpoint: URL, encodedPath: String = "/", query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: Data = Data()
    ) {
        self.method = method
        self.endpoint = endpoint
        self.encodedPath = encodedPath
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// `host[:port]`, with the port only when it is not the scheme's default (as HTTP clients send it).
    public var hostHeader: String {
        let host = endpoint.host ?? ""
        guard let port = endpoint.port else { return host }
        let isDefault = (endpoint.scheme == "https" && port == 443) || (endpoint.scheme == "http" && port == 80)
        return isDefault ? host : "\(host):\(port)"
    }

    /// The full URL: scheme, host and port of `endpoint`, then `encodedPath` and the query.
    public var url: String {
        var base = "\(endpoint.scheme ?? "https")://\(endpoint.host ?? "")"
        if let port = endpoint.port { base += ":\(port)" }
        var text = base + (encodedPath.hasPrefix("/") ? encodedPath : "/" + encodedPath)
        if !query.isEmpty {
            text += "?" + query.map { "\(SigV4Signer.uriEncode($0.name))=\(SigV4Signer.uriEncode($0.value))" }
                .joined(separator: "&")
        }
        return text
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

public struct AWSHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Failures below HTTP: the request never got an answer.
public enum TransportError: Error, Sendable, CustomStringConvertible {
    case timeout(url: String, seconds: Double)
    case connection(url: String, reason: String)

    public var description: String {
        switch self {
        case .timeout(let url, let seconds): "no answer from \(url) within \(seconds) s"
        case .connection(let url, let reason): "cannot connect to \(url): \(reason)"
        }
    }
}

/// Sends one HTTP request. Tests inject their own to simulate throttling, 5xx and resets.
public protocol HTTPTransport: Sendable {
    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse
}

/// The production transport: AsyncHTTPClient on SwiftNIO, one connection pool shared by every call.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient

    public init(maximumConnectionsPerHost: Int = 32) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = maximumConnectionsPerHost
        configuration.decompression = .enabled(limit: .ratio(100))
        // A refused connection should fail the call (and be retried under Canopy's budget), not be
        // retried silently inside the pool until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Runs `body` with a transport that is shut down when it returns or throws (a client left
    /// running at exit is a programming error in AsyncHTTPClient).
    public static func with<T>(maximumConnectionsPerHost: Int = 32, _ body: (AsyncHTTPClientTransport) async throws -> T) async throws -> T {
        let transport = AsyncHTTPClientTransport(maximumConnectionsPerHost: maximumConnectionsPerHost)
        do {
            let result = try await body(transport)
            try await transport.shutdown()
            return result
        } catch {
            try? await transport.shutdown()
            throw error
        }
    }

    public func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        let url = request.url
        var outbound = HTTPClientRequest(url: url)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        if !request.body.isEmpty { outbound.body = .bytes(ByteBuffer(bytes: request.body)) }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        do {
            let response = try await client.execute(outbound, timeout: .milliseconds(Int64(seconds * 1000)))
            let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
            return AWSHTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Data(body.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw TransportError.timeout(url: url, seconds: seconds)
        } catch let error as HTTPClientError {
            throw TransportError.connection(url: url, reason: "\(error)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TransportError.connection(url: url, reason: "\(error)")
        }
    }
}

import CanopyAWS
import Foundation

/// A transport that answers from a script, recording every request: for unit tests of the client,
/// retries and credential providers without any server.
public final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [@Sendable (AWSHTTPRequest) throws -> AWSHTTPResponse]
    private var fallback: (@Sendable (AWSHTTPRequest) throws -> AWSHTTPResponse)?
    public private(set) var requests: [AWSHTTPRequest] = []

    public init(
        _ answers: [@Sendable (AWSHTTPRequest) throws -> AWSHTTPResponse] = [],
        fallback: (@Sendable (AWSHTTPRequest) throws -> AWSHTTPResponse)? = nil
    ) {
        self.answers = answers
        self.fallback = fallback
    }

    public var requestCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return requests.count
    }

    public func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        let next: (@Sendable (AWSHTTPRequest) throws -> AWSHTTPResponse)? = {
            lock.lock()
            defer { lock.unlock() }
            requests.append(request)
            return answers.isEmpty ? fallback : answers.removeFirst()
        }()
        guard let next else { throw TransportError.connection(url: request.url, reason: "script exhausted") }
        return try next(request)
    }

    public static func xml(_ status: Int, _ body: String, headers: [(name: String, value: String)] = [])
        -> @Sendable (AWSHTTPRequest) throws -> AWSHTTPResponse
    {
        { _ in AWSHTTPResponse(status: status, headers: headers, body: Data(body.utf8)) }
    }
}

/// Wraps a real transport and lets a test answer (or delay) a call before it goes through:
/// `intercept` returns a response to short-circuit the call, or `nil` to pass it on.
public final class InterceptingTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let intercept: @Sendable (AWSHTTPRequest) async throws -> AWSHTTPResponse?

    public init(
        wrapping inner: any HTTPTransport, intercept: @escaping @Sendable (AWSHTTPRequest) async throws -> AWSHTTPResponse?
    ) {
        self.inner = inner
        self.intercept = intercept
    }

    public func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        if let answer = try await intercept(request) { return answer }
        return try await inner.send(request, timeout: timeout)
    }
}

/// Wraps a real transport and makes a share of calls fail the ways AWS fails under load:
/// throttling answers, 503s and dropped connections. Deterministic for a given seed.
public final class FaultInjectingTransport: HTTPTransport, @unchecked Sendable {
    private let inner: any HTTPTransport
    private let failureRate: Double
    private let lock = NSLock()
    private var generator: SplitMix64
    public private(set) var injected = 0
    public private(set) var passed = 0

    public init(wrapping inner: any HTTPTransport, failureRate: Double, seed: UInt64) {
        self.inner = inner
        self.failureRate = failureRate
        generator = SplitMix64(seed: seed)
    }

    public func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        let (fail, kind): (Bool, UInt64) = {
            lock.lock()
            defer { lock.unlock() }
            let roll = Double(generator.next() % 10_000) / 10_000
            let fail = roll < failureRate
            if fail { injected += 1 } else { passed += 1 }
            return (fail, generator.next() % 4)
        }()
        guard fail else { return try await inner.send(request, timeout: timeout) }
        switch kind {
        case 0:
            return AWSHTTPResponse(
                status: 400,
                body: Data("<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>".utf8))
        case 1:
            return AWSHTTPResponse(
                status: 400, body: Data(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.utf8))
        case 2:
            return AWSHTTPResponse(status: 503, headers: [("Retry-After", "0")], body: Data("Service Unavailable".utf8))
        default:
            throw TransportError.connection(url: request.url, reason: "connection reset by peer")
        }
    }
}

/// A small, seedable generator so fault patterns repeat from run to run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

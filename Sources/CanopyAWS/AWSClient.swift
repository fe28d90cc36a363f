import CanopyModel
import Crypto
import Foundation
import Logging

/// Canopy's own AWS client: builds a request for the service's wire protocol, signs it, sends it
/// with retries under the scan's budget, and decodes the answer into boto3's shape.
public struct AWSClient: Sendable {
    public var transport: any HTTPTransport
    public var credentials: any CredentialProvider
    public var endpoints: EndpointResolver
    public var retryPolicy: RetryPolicy
    public var budget: RetryBudget
    public var timeout: Duration
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(
        transport: any HTTPTransport, credentials: any CredentialProvider, endpoints: EndpointResolver = .init(),
        retryPolicy: RetryPolicy = .init(), budget: RetryBudget = RetryBudget(), timeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "canopy.aws"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.transport = transport
        self.credentials = credentials
        self.endpoints = endpoints
        self.retryPolicy = retryPolicy
        self.budget = budget
        self.timeout = timeout
        self.logger = logger
        self.now = now
    }

    /// The same client acting with other credentials (an assumed role in a member account).
    public func with(credentials provider: any CredentialProvider) -> AWSClient {
        var copy = self
        copy.credentials = provider
        return copy
    }

    // MARK: Protocol entry points

    /// EC2 and Query protocols: form-encoded `Action` + parameters, XML answers.
    public func query(_ service: String, _ operation: String, region: String, parameters: [String: String] = [:])
        async throws -> JSONValue
    {
        let model = try ServiceModels.model(service)
        return try await perform(service: service, model: model, operation: operation, region: region) { endpoint in
            var form = [("Action", operation), ("Version", model.metadata.apiVersion)]
            form += parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            let body = form.map { "\(SigV4Signer.uriEncode($0.0))=\(SigV4Signer.uriEncode($0.1))" }
                .joined(separator: "&")
            return AWSHTTPRequest(
                method: "POST", endpoint: endpoint, encodedPath: "/",
                headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                body: Data(body.utf8))
        }
    }

    /// JSON 1.0/1.1 protocols: `X-Amz-Target: Prefix.Operation` and a JSON body.
    public func json(_ service: String, _ operation: String, region: String, body: JSONValue = [:]) async throws
        -> JSONValue
    {
        let model = try ServiceModels.model(service)
        return try await perform(service: service, model: model, operation: operation, region: region) { endpoint in
            AWSHTTPRequest(
                method: "POST", endpoint: endpoint, encodedPath: "/",
                headers: [
                    ("Content-Type", "application/x-amz-json-\(model.metadata.jsonVersion ?? "1.1")"),
                    ("X-Amz-Target", "\(model.metadata.targetPrefix ?? "").\(operation)"),
                ],
                body: Data(body.canonicalJSON().utf8))
        }
    }

    /// REST-XML and REST-JSON protocols: the operation's HTTP method on a path, parameters in the query.
    /// - Parameter bucket: for S3, the bucket the call addresses (virtual-hosted on AWS, path-style on overrides).
    /// - Parameter body: an XML or JSON document for writes (S3 `PutBucketEncryption` …); S3 gets
    ///   the `Content-MD5` it requires for those.
    public func rest(
        _ service: String, _ operation: String, region: String, path: String, query: [(name: String, value: String)] = [],
        bucket: String? = nil, body: Data = Data(), contentType: String? = nil
    ) async throws -> JSONValue {
        let model = try ServiceModels.model(service)
        let method = try model.operation(operation).http.method
        let pathStyle = endpoints.isOverridden
        return try await perform(service: service, model: model, operation: operation, region: region) { endpoint in
            var endpoint = endpoint
            var encodedPath = path
            if let bucket { (endpoint, encodedPath) = Self.address(bucket: bucket, path: path, endpoint: endpoint, pathStyle: pathStyle) }
            var headers: [(name: String, value: String)] = []
            if !body.isEmpty {
                if let contentType { headers.append(("Content-Type", contentType)) }
                if service == "s3" { headers.append(("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString())) }
            }
            return AWSHTTPRequest(method: method, endpoint: endpoint, encodedPath: encodedPath, query: query, headers: headers, body: body)
        }
    }

    /// Where an S3 bucket's request goes: virtual-hosted on AWS, path-style on overrides (and
    /// for bucket names with dots, which virtual-hosted TLS cannot serve).
    static func address(bucket: String, path: String, endpoint: URL, pathStyle: Bool) -> (URL, String) {
        if pathStyle || bucket.contains(".") { return (endpoint, "/\(SigV4Signer.uriEncode(bucket))" + (path == "/" ? "" : path)) }
        guard var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else { return (endpoint, path) }
        components.host = "\(bucket).\(components.host ?? "")"
        return (components.url ?? endpoint, path)
    }

    // MARK: The call

    func perform(
        service: String, model: ServiceModel, operation: String, region: String,
        build: (URL) -> AWSHTTPRequest
    ) async throws -> JSONValue {
        try await performRaw(service: service, model: model, operation: operation, region: region, build: build) { response in
            try ShapeDecoder(model: model).decodeResponse(operation: operation, response: response)
        }
    }

    /// The call with its signing, retries and budget, answering what `decode` makes of the
    /// response (raw bodies such as S3 objects skip the shape decoder).
    func performRaw<T>(
        service: String, model: ServiceModel, operation: String, region: String,
        build: (URL) -> AWSHTTPRequest, decode: (AWSHTTPResponse) throws -> T
    ) async throws -> T {
        let (endpoint, signingRegion) = endpoints.endpoint(service: service, model: model, region: region)
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            do {
                var request = build(endpoint)
                let signer = SigV4Signer(
                    credentials: try await credentials.credentials(), region: signingRegion,
                    service: model.signingName)
                signer.sign(&request, at: now(), addContentSHA256: service == "s3")
                let response = try await transport.send(request, timeout: timeout)
                guard (200..<300).contains(response.status) else {
                    throw AWSServiceError.parse(service: service, operation: operation, response: response)
                        .with(retryAfter: response.header("Retry-After"))
                }
                return try decode(response)
            } catch {
                let failure = FailureClass.classify(error)
                guard failure != .permanent, attempt < retryPolicy.maxAttempts, await budget.spend(for: failure) else {
                    throw error
                }
                let hint = (error as? AWSServiceError)?.retryAfter
                let wait = retryPolicy.delay(afterAttempt: attempt, retryAfter: hint)
                logger.debug(
                    "retrying AWS call",
                    metadata: [
                        "service": "\(service)", "operation": "\(operation)", "region": "\(region)",
                        "attempt": "\(attempt)", "reason": "\(failure)",
                    ])
                try await Task.sleep(for: wait)
            }
        }
    }
}

extension AWSServiceError {
    /// `Retry-After` in seconds, as throttling answers may carry it.
    var retryAfter: Duration? {
        retryAfterSeconds.map { .milliseconds(Int64($0 * 1000)) }
    }

    func with(retryAfter header: String?) -> AWSServiceError {
        var copy = self
        copy.retryAfterSeconds = header.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        return copy
    }
}

// MARK: Pagination

extension AWSClient {
    /// Follows a query/EC2 token (`NextToken`, `Marker`) until the last page, gathering `itemsKey`.
    public func queryPages(
        _ service: String, _ operation: String, region: String, parameters: [String: String] = [:],
        itemsKey: String, inputToken: String = "NextToken", outputToken: String = "NextToken", maxPages: Int = 10_000
    ) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var parameters = parameters
        var seenTokens: Set<String> = []
        for _ in 0..<maxPages {
            let page = try await query(service, operation, region: region, parameters: parameters)
            items += page.value(atPath: itemsKey)?.arrayValue ?? []
            // A token seen before would loop forever (some emulators echo the last one).
            guard let token = page[outputToken]?.stringValue, !token.isEmpty, seenTokens.insert(token).inserted
            else { break }
            parameters[inputToken] = token
        }
        return items
    }

    /// Follows a JSON-protocol token until the last page, gathering `itemsKey`.
    public func jsonPages(
        _ service: String, _ operation: String, region: String, body: [String: JSONValue] = [:], itemsKey: String,
        inputToken: String = "NextToken", outputToken: String = "NextToken", maxPages: Int = 10_000
    ) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var body = body
        var seenTokens: Set<String> = []
        for _ in 0..<maxPages {
            let page = try await json(service, operation, region: region, body: .object(body))
            items += page[itemsKey]?.arrayValue ?? []
            guard let token = page[outputToken]?.stringValue, !token.isEmpty, seenTokens.insert(token).inserted
            else { break }
            body[inputToken] = .string(token)
        }
        return items
    }

    /// Follows a REST token carried in the query string (`Marker`, `NextToken`).
    public func restPages(
        _ service: String, _ operation: String, region: String, path: String, itemsKey: String,
        inputToken: String, outputToken: String, maxPages: Int = 10_000
    ) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var query: [(name: String, value: String)] = []
        var seenTokens: Set<String> = []
        for _ in 0..<maxPages {
            let page = try await rest(service, operation, region: region, path: path, query: query)
            items += page[itemsKey]?.arrayValue ?? []
            guard let token = page[outputToken]?.stringValue, !token.isEmpty, seenTokens.insert(token).inserted
            else { break }
            query = [(inputToken, token)]
        }
        return items
    }
}

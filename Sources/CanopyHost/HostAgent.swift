import CanopyAWS
import CanopyModel
import Foundation

/// The agent's side of an upload: collects the host and posts the inventory to
/// `/api/v1/hosts/inventory` with its enrollment token. The token goes only over HTTPS, or plain
/// HTTP to the loopback address (a test, or a TLS proxy on the same host).
public struct HostAgent: Sendable {
    public let server: URL
    public let token: String
    public let collector: HostCollector
    public let tags: [String: String]
    public let transport: any HTTPTransport

    public init(server: URL, token: String, collector: HostCollector, tags: [String: String] = [:], transport: any HTTPTransport) {
        self.server = server
        self.token = token
        self.collector = collector
        self.tags = tags
        self.transport = transport
    }

    public struct Rejected: Error, CustomStringConvertible {
        public var status: Int
        public var message: String
        public var description: String { "the server refused the inventory (HTTP \(status)): \(message)" }
    }

    /// The server's answer to an accepted upload.
    public struct Receipt: Sendable, Codable {
        public var host: String
        public var resource: String
        public var scan: Int64
        public var change: String?
        public var problems: Int

        public init(host: String, resource: String, scan: Int64, change: String?, problems: Int) {
            self.host = host
            self.resource = resource
            self.scan = scan
            self.change = change
            self.problems = problems
        }
    }

    /// Whether `url` may carry a token: HTTPS anywhere, HTTP only to loopback.
    public static func isSafe(_ url: URL) -> Bool {
        if url.scheme == "https" { return true }
        guard url.scheme == "http", let host = url.host else { return false }
        return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]"
    }

    public func uploadOnce(now: Date = Date()) async throws -> Receipt {
        let inventory = collector.collect(at: now)
        return try await upload(inventory)
    }

    public func upload(_ inventory: HostInventory) async throws -> Receipt {
        let body = try CanopyJSON.encoder().encode(HostUpload(inventory: inventory, tags: tags))
        var path = server.path
        if path.hasSuffix("/") { path.removeLast() }
        let request = AWSHTTPRequest(
            method: "POST", endpoint: server, encodedPath: path + "/api/v1/hosts/inventory",
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"), ("Accept", "application/json")], body: body)
        let response = try await transport.send(request, timeout: .seconds(120))
        guard response.status == 200 || response.status == 201 else {
            let message = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]).flatMap { $0?["message"] as? String }
                ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            throw Rejected(status: response.status, message: message)
        }
        return try CanopyJSON.decoder().decode(Receipt.self, from: response.body)
    }
}

/// The upload's body: the inventory, and tags the agent's own configuration adds (the enrollment's
/// tags win over them on the server).
public struct HostUpload: Sendable, Codable {
    public var inventory: HostInventory
    public var tags: [String: String]

    public init(inventory: HostInventory, tags: [String: String]) {
        self.inventory = inventory
        self.tags = tags
    }
}

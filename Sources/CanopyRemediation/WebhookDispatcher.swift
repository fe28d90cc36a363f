import CanopyAWS
import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// POSTs a JSON document to a webhook address and answers its HTTP status.
enum WebhookPost {
    static func send(_ body: JSONValue, to url: URL, transport: any HTTPTransport) async throws -> Int {
        guard let scheme = url.scheme, let host = url.host, let endpoint = URL(string: "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")") else {
            throw WebhookError.badURL
        }
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let query = (components?.percentEncodedQueryItems ?? []).map { (name: $0.name, value: ($0.value ?? "").removingPercentEncoding ?? "") }
        let path = components?.percentEncodedPath ?? "/"
        let response = try await transport.send(
            AWSHTTPRequest(
                method: "POST", endpoint: endpoint, encodedPath: path.isEmpty ? "/" : path, query: query,
                headers: [("Content-Type", "application/json"), ("User-Agent", "Canopy")], body: Data(body.canonicalJSON().utf8)),
            timeout: .seconds(10))
        return response.status
    }

    /// An http(s) address with a host, or the reason it is not one.
    static func validate(_ text: String) throws -> URL {
        guard let url = URL(string: text.trimmingCharacters(in: .whitespaces)), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty
        else { throw WebhookError.badURL }
        return url
    }
}

public enum WebhookError: Error, CustomStringConvertible, Sendable {
    case badURL
    case noEvents
    case status(Int)

    public var description: String {
        switch self {
        case .badURL: "the address must be an http(s) URL with a host"
        case .noEvents: "choose at least one event"
        case .status(let code): "the webhook answered HTTP \(code)"
        }
    }
}

/// Delivers Canopy's events to the configured webhooks: best effort, at most once, ten seconds
/// per delivery, each outcome in the audit log by host only (the address is a secret). Addresses
/// are unsealed only for the moment of sending.
public struct WebhookDispatcher: Notifier {
    let store: any CanopyStore
    let box: SecretBox
    let transport: any HTTPTransport
    /// The console's address, for links in the payload (optional).
    let consoleURL: String?

    public init(store: any CanopyStore, box: SecretBox, transport: any HTTPTransport, consoleURL: String? = nil) {
        self.store = store
        self.box = box
        self.transport = transport
        self.consoleURL = consoleURL
    }

    /// Adds a destination after checking its address (which is sealed before it is stored).
    public func create(name: String, url: String, events: [WebhookEvent], minimumSeverityID: Int, actor: String) async throws -> Webhook {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw WebhookError.badURL }
        let address = try WebhookPost.validate(url)
        guard !events.isEmpty else { throw WebhookError.noEvents }
        return try await store.createWebhook(
            name: name, host: address.host ?? "", events: events, minimumSeverityID: min(max(minimumSeverityID, 1), 5),
            sealedURL: try box.seal(address.absoluteString), actor: actor)
    }

    public func findingsOpened(_ findings: [Finding]) async {
        await deliver(.findingOpened) { webhook in
            let selected = findings.filter { $0.severityID >= webhook.minimumSeverityID }.sorted { $0.severityID > $1.severityID }
            guard !selected.isEmpty else { return nil }
            return [
                "count": .int(Int64(selected.count)),
                "findings": .array(
                    selected.prefix(500).map { f in
                        [
                            "uid": .string(f.uid), "check": .string(f.checkID), "title": .string(f.title),
                            "severity": .string(Severity(ocsfID: f.severityID)?.rawValue ?? String(f.severityID)), "resource": .string(f.resourceUID),
                            "account": .string(f.account), "application": f.application.map(JSONValue.string) ?? .null,
                        ]
                    }),
            ]
        }
    }

    public func exceptionChanged(_ event: WebhookEvent, _ waiver: Waiver) async {
        await deliver(event) { _ in
            [
                "exception": [
                    "id": .int(waiver.id), "check": .string(waiver.checkID), "selector": .string(waiver.selector), "state": .string(waiver.state.rawValue),
                    "reason": .string(waiver.reason), "requested_by": .string(waiver.requestedBy),
                    "approved_by": waiver.approvedBy.map(JSONValue.string) ?? .null, "expires_at": .string(Timestamps.iso8601(waiver.expiresAt)),
                ]
            ]
        }
    }

    /// Sends a test message to one webhook; the HTTP status, or the error.
    public func test(id: Int64, actor: String) async throws -> Int {
        guard let target = try await store.webhookTargets().first(where: { $0.webhook.id == id }) else { throw StoreError.unknownWebhook(id) }
        return try await send(target.webhook, sealedURL: target.sealedURL, event: "test", payload: ["message": .string("Canopy webhook test by \(actor)")])
    }

    /// Sends `event` to every webhook subscribed to it, each with the payload `build` makes for it
    /// (nil: nothing for this one).
    func deliver(_ event: WebhookEvent, build: (Webhook) -> JSONValue?) async {
        guard let targets = try? await store.webhookTargets() else { return }
        await withTaskGroup(of: Void.self) { group in
            for target in targets where target.webhook.events.contains(event) {
                guard let payload = build(target.webhook) else { continue }
                group.addTask {
                    _ = try? await send(target.webhook, sealedURL: target.sealedURL, event: event.rawValue, payload: payload)
                }
            }
        }
    }

    func send(_ webhook: Webhook, sealedURL: String, event: String, payload: JSONValue) async throws -> Int {
        var body: [String: JSONValue] = ["event": .string(event), "sent_at": .string(Timestamps.iso8601(Date())), "source": "canopy"]
        if let consoleURL { body["console"] = .string(consoleURL) }
        if case .object(let members) = payload { body.merge(members) { a, _ in a } }
        var details: [String: JSONValue] = ["event": .string(event), "host": .string(webhook.host)]
        do {
            let status = try await WebhookPost.send(.object(body), to: try WebhookPost.validate(try box.open(sealedURL)), transport: transport)
            details["status"] = .int(Int64(status))
            _ = try? await store.appendAudit(
                actor: "canopy", action: (200..<300).contains(status) ? "webhook.delivered" : "webhook.failed", target: "webhook/\(webhook.id)",
                details: .object(details), at: Date())
            guard (200..<300).contains(status) else { throw WebhookError.status(status) }
            return status
        } catch let error as WebhookError {
            throw error
        } catch {
            // Only the kind of failure: an error's text can carry the address (its path is a secret).
            let kind: String
            switch error {
            case TransportError.timeout: kind = "timeout"
            case TransportError.connection: kind = "connection failed"
            case is SecretBoxError: kind = "address cannot be unsealed"
            default: kind = "failed"
            }
            details["error"] = .string(kind)
            _ = try? await store.appendAudit(actor: "canopy", action: "webhook.failed", target: "webhook/\(webhook.id)", details: .object(details), at: Date())
            throw error
        }
    }
}

import Foundation

/// What Canopy tells the outside world about, by webhook.
public enum WebhookEvent: String, Sendable, Codable, CaseIterable {
    /// An evaluation opened (or reopened) findings at or above the webhook's severity.
    case findingOpened = "finding.opened"
    /// Someone asked for an exception: the approvers' queue has work.
    case exceptionRequested = "exception.requested"
    /// An exception was approved, rejected or revoked.
    case exceptionDecided = "exception.decided"
}

/// A webhook destination as listed: its address is a secret (chat webhooks carry their token in
/// the path), so only the host is ever shown; the full address is stored sealed.
public struct Webhook: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var name: String
    public var host: String
    public var events: [WebhookEvent]
    /// OCSF severity id; `finding.opened` sends only findings at or above it.
    public var minimumSeverityID: Int
    public var createdBy: String
    public var createdAt: Date

    public init(id: Int64, name: String, host: String, events: [WebhookEvent], minimumSeverityID: Int, createdBy: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.host = host
        self.events = events
        self.minimumSeverityID = minimumSeverityID
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

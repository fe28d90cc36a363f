import CanopyModel
import Foundation
import GRDB

extension SQLiteStore: WebhookRepository {
    static func webhook(_ row: Row) throws -> Webhook {
        Webhook(
            id: row["id"], name: row["name"], host: row["host"],
            events: try StoreCoding.decode([String].self, row["events"]).compactMap(WebhookEvent.init(rawValue:)),
            minimumSeverityID: row["minimum_severity"], createdBy: row["created_by"], createdAt: row["created_at"])
    }

    public func createWebhook(
        name: String, host: String, events: [WebhookEvent], minimumSeverityID: Int, sealedURL: String, actor: String
    ) async throws -> Webhook {
        let eventsText = try StoreCoding.text(events.map(\.rawValue))
        return try await writer.write { db in
            let now = Date()
            try db.execute(
                sql: "INSERT INTO webhook (name, host, events, minimum_severity, sealed_url, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [name, host, eventsText, minimumSeverityID, sealedURL, actor, now])
            let webhook = Webhook(
                id: db.lastInsertedRowID, name: name, host: host, events: events, minimumSeverityID: minimumSeverityID, createdBy: actor, createdAt: now)
            _ = try Self.appendAudit(
                db, actor: actor, action: "webhook.create", target: "webhook/\(webhook.id)",
                details: [
                    "name": .string(name), "host": .string(host), "events": .array(events.map { .string($0.rawValue) }),
                    "minimum_severity": .int(Int64(minimumSeverityID)),
                ], at: now)
            return webhook
        }
    }

    public func webhooks() async throws -> [Webhook] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM webhook ORDER BY id").map(Self.webhook) }
    }

    public func webhookTargets() async throws -> [(webhook: Webhook, sealedURL: String)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook ORDER BY id").map { (try Self.webhook($0), $0["sealed_url"] as String) }
        }
    }

    public func deleteWebhook(id: Int64, actor: String) async throws {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT name, host FROM webhook WHERE id = ?", arguments: [id]) else {
                throw StoreError.unknownWebhook(id)
            }
            try db.execute(sql: "DELETE FROM webhook WHERE id = ?", arguments: [id])
            _ = try Self.appendAudit(
                db, actor: actor, action: "webhook.delete", target: "webhook/\(id)",
                details: ["name": .string(row["name"]), "host": .string(row["host"])], at: Date())
        }
    }
}

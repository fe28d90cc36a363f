import CanopyModel
import Foundation
import GRDB

/// Security findings from every source, kept by their stable uid.
public protocol SecurityFindingRepository: Sendable {
    /// Saves findings in one transaction. A new uid is added. A stored one is updated when the
    /// incoming copy is newer (`updatedAt`) or brings activity events not attached yet: first and
    /// last seen widen, events accumulate, and the analyst's triage (assignee, note, an
    /// in-progress or suppressed status) stays unless the source resolved it. Older copies change
    /// nothing. `events` maps a finding uid to lake event ids to attach. Audited once as `action`.
    func saveSecurityFindings(_ findings: [SecurityFinding], events: [String: [String]], actor: String, action: String, source: String) async throws
        -> SecurityFindingSave
    func securityFindings(_ filter: SecurityFindingFilter, limit: Int?) async throws -> [SecurityFinding]
    func securityFinding(uid: String) async throws -> SecurityFinding?
    /// The lake event ids attached to a finding, oldest first.
    func securityFindingEvents(uid: String) async throws -> [String]
}

extension SQLiteStore: SecurityFindingRepository {
    static let securityFindingColumns =
        "uid, source, class_uid, rule_id, title, description, severity_id, status, resource_uid, resource_type, account, region, principal, techniques, first_seen, last_seen, updated_at, event_count, assignee, note, raw"

    static func securityFinding(_ row: Row) -> SecurityFinding {
        let techniques: String = row["techniques"]
        return SecurityFinding(
            uid: row["uid"], source: row["source"], findingClass: SecurityFinding.FindingClass(rawValue: row["class_uid"]) ?? .detection,
            ruleID: row["rule_id"], title: row["title"], description: row["description"], severityID: row["severity_id"],
            status: FindingStatus(rawValue: row["status"]) ?? .new, resourceUID: row["resource_uid"], resourceType: row["resource_type"],
            account: row["account"], region: row["region"], principal: row["principal"],
            techniques: techniques.split(separator: ",").map(String.init), firstSeen: row["first_seen"], lastSeen: row["last_seen"],
            updatedAt: row["updated_at"], eventCount: row["event_count"], assignee: row["assignee"], note: row["note"], raw: row["raw"])
    }

    public func saveSecurityFindings(_ findings: [SecurityFinding], events: [String: [String]], actor: String, action: String, source: String) async throws
        -> SecurityFindingSave
    {
        try await writer.write { db in
            var result = SecurityFindingSave()
            let link = try db.makeStatement(sql: "INSERT OR IGNORE INTO security_finding_event (finding_uid, event_id) VALUES (?, ?)")
            for incoming in findings {
                let stored = try Row.fetchOne(db, sql: "SELECT \(Self.securityFindingColumns) FROM security_finding WHERE uid = ?", arguments: [incoming.uid])
                    .map(Self.securityFinding)
                if let stored, incoming.updatedAt < stored.updatedAt {
                    result.unchanged += 1
                    continue
                }
                var linked = 0
                for eventID in events[incoming.uid] ?? [] {
                    try link.execute(arguments: [incoming.uid, eventID])
                    linked += db.changesCount
                }
                var finding = incoming
                if let stored {
                    if incoming.updatedAt == stored.updatedAt, linked == 0 {
                        result.unchanged += 1
                        continue
                    }
                    finding.firstSeen = min(stored.firstSeen, incoming.firstSeen)
                    finding.lastSeen = max(stored.lastSeen, incoming.lastSeen)
                    finding.assignee = incoming.assignee ?? stored.assignee
                    finding.note = incoming.note ?? stored.note
                    if stored.status == .inProgress || stored.status == .suppressed, incoming.status != .resolved { finding.status = stored.status }
                }
                let attached = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM security_finding_event WHERE finding_uid = ?", arguments: [incoming.uid]) ?? 0
                finding.eventCount = max(finding.eventCount, attached)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO security_finding (\(Self.securityFindingColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        finding.uid, finding.source, finding.findingClass.rawValue, finding.ruleID, finding.title, finding.description, finding.severityID,
                        finding.status.rawValue, finding.resourceUID, finding.resourceType, finding.account, finding.region, finding.principal,
                        finding.techniques.joined(separator: ","), finding.firstSeen, finding.lastSeen, finding.updatedAt, finding.eventCount,
                        finding.assignee, finding.note, finding.raw,
                    ])
                if stored == nil { result.added += 1 } else { result.updated += 1 }
            }
            if result.added + result.updated > 0 {
                _ = try Self.appendAudit(
                    db, actor: actor, action: action, target: "security-findings",
                    details: [
                        "source": .string(source), "added": .int(Int64(result.added)), "updated": .int(Int64(result.updated)),
                        "unchanged": .int(Int64(result.unchanged)),
                    ], at: Date())
            }
            return result
        }
    }

    public func securityFindings(_ filter: SecurityFindingFilter, limit: Int?) async throws -> [SecurityFinding] {
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func list(_ column: String, _ values: [any DatabaseValueConvertible]) {
            clauses.append(values.isEmpty ? "0" : "\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ",")))")
            arguments += values as [(any DatabaseValueConvertible)?]
        }
        if !filter.sources.isEmpty { list("source", filter.sources) }
        if let findingClass = filter.findingClass { list("class_uid", [findingClass.rawValue]) }
        if let minimum = filter.minimumSeverity {
            clauses.append("severity_id >= ?")
            arguments.append(minimum)
        }
        if !filter.statuses.isEmpty { list("status", filter.statuses.map(\.rawValue)) }
        if let rule = filter.ruleID { list("rule_id", [rule]) }
        if let resource = filter.resourceUID { list("resource_uid", [resource]) }
        if let accounts = filter.accounts { list("account", accounts) }
        if let since = filter.since {
            clauses.append("last_seen >= ?")
            arguments.append(since)
        }
        let condition = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let bound = StatementArguments(arguments)
        return try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.securityFindingColumns) FROM security_finding\(condition) ORDER BY severity_id DESC, last_seen DESC, uid"
                    + (limit.map { " LIMIT \($0)" } ?? ""), arguments: bound
            ).map(Self.securityFinding)
        }
    }

    public func securityFinding(uid: String) async throws -> SecurityFinding? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.securityFindingColumns) FROM security_finding WHERE uid = ?", arguments: [uid]).map(Self.securityFinding)
        }
    }

    public func securityFindingEvents(uid: String) async throws -> [String] {
        try await writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT l.event_id FROM security_finding_event l LEFT JOIN lake_event e ON e.event_id = l.event_id
                    WHERE l.finding_uid = ? ORDER BY e.event_time, e.seq, l.event_id
                    """, arguments: [uid])
        }
    }
}

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

    /// An upsert, not REPLACE: REPLACE deletes the row first, which the attached events forbid.
    static let upsertSecurityFinding: String = {
        let columns = securityFindingColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return "INSERT INTO security_finding (\(securityFindingColumns)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
            + " ON CONFLICT(uid) DO UPDATE SET " + columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
    }()

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
            // A detection run links thousands of events a file: bound straight to SQLite.
            let link = RawInsert(try db.makeStatement(sql: "INSERT INTO security_finding_event (finding_uid, event_id) VALUES (?, ?)"))
            for incoming in findings {
                let stored = try Row.fetchOne(db, sql: "SELECT \(Self.securityFindingColumns) FROM security_finding WHERE uid = ?", arguments: [incoming.uid])
                    .map(Self.securityFinding)
                // A new finding has no events attached yet.
                let attached =
                    stored == nil
                    ? [] : Set(try String.fetchAll(db, sql: "SELECT event_id FROM security_finding_event WHERE finding_uid = ?", arguments: [incoming.uid]))
                let newEvents = Set(events[incoming.uid] ?? []).subtracting(attached)
                var finding = incoming
                if let stored {
                    if incoming.updatedAt < stored.updatedAt || (incoming.updatedAt == stored.updatedAt && newEvents.isEmpty) {
                        // An older copy changes nothing but the events it brings (a detection
                        // window filled from files read out of order).
                        guard !newEvents.isEmpty else {
                            result.unchanged += 1
                            continue
                        }
                        finding = stored
                    }
                    finding.firstSeen = min(stored.firstSeen, incoming.firstSeen)
                    finding.lastSeen = max(stored.lastSeen, incoming.lastSeen)
                    finding.assignee = incoming.assignee ?? stored.assignee
                    finding.note = incoming.note ?? stored.note
                    if stored.status == .inProgress || stored.status == .suppressed, incoming.status != .resolved { finding.status = stored.status }
                }
                let linked = attached.count + newEvents.count
                finding.eventCount = linked > 0 ? linked : finding.eventCount
                try db.execute(
                    sql: Self.upsertSecurityFinding,
                    arguments: [
                        finding.uid, finding.source, finding.findingClass.rawValue, finding.ruleID, finding.title, finding.description, finding.severityID,
                        finding.status.rawValue, finding.resourceUID, finding.resourceType, finding.account, finding.region, finding.principal,
                        finding.techniques.joined(separator: ","), finding.firstSeen, finding.lastSeen, finding.updatedAt, finding.eventCount,
                        finding.assignee, finding.note, finding.raw,
                    ])
                for eventID in newEvents.sorted() {
                    link.reset()
                    link.bind(1, incoming.uid)
                    link.bind(2, eventID)
                    _ = try link.step(db)
                }
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

/// A Sigma rule loaded into Canopy beside the built-in ones, kept as its text.
public struct StoredDetectionRule: Sendable, Hashable, Codable {
    public var id: String
    public var title: String
    /// Where it was loaded from (a path), for the record.
    public var origin: String
    public var sha256: String
    public var text: String
    public var addedAt: Date

    public init(id: String, title: String, origin: String, sha256: String, text: String, addedAt: Date) {
        self.id = id
        self.title = title
        self.origin = origin
        self.sha256 = sha256
        self.text = text
        self.addedAt = addedAt
    }
}

/// The detection rules loaded into this installation (the built-in ones come with the binary).
public protocol DetectionRuleRepository: Sendable {
    func detectionRules() async throws -> [StoredDetectionRule]
    /// Adds or replaces rules by id in one transaction; a rule stored with the same text is
    /// left alone. Audited as `detect.rules.add`. Returns (added, replaced).
    func saveDetectionRules(_ rules: [StoredDetectionRule], actor: String) async throws -> (added: Int, replaced: Int)
    /// Audited as `detect.rules.remove`; false when no such rule.
    func deleteDetectionRule(id: String, actor: String) async throws -> Bool
}

extension SQLiteStore: DetectionRuleRepository {
    public func detectionRules() async throws -> [StoredDetectionRule] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, title, origin, sha256, text, added_at FROM detection_rule ORDER BY id").map {
                StoredDetectionRule(id: $0[0], title: $0[1], origin: $0[2], sha256: $0[3], text: $0[4], addedAt: $0[5])
            }
        }
    }

    public func saveDetectionRules(_ rules: [StoredDetectionRule], actor: String) async throws -> (added: Int, replaced: Int) {
        try await writer.write { db in
            var added: [String] = []
            var replaced: [String] = []
            for rule in rules {
                let stored = try String.fetchOne(db, sql: "SELECT sha256 FROM detection_rule WHERE id = ?", arguments: [rule.id])
                if stored == rule.sha256 { continue }
                try db.execute(
                    sql: "INSERT OR REPLACE INTO detection_rule (id, title, origin, sha256, text, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [rule.id, rule.title, rule.origin, rule.sha256, rule.text, rule.addedAt])
                if stored == nil { added.append(rule.id) } else { replaced.append(rule.id) }
            }
            if !added.isEmpty || !replaced.isEmpty {
                _ = try Self.appendAudit(
                    db, actor: actor, action: "detect.rules.add", target: "detection-rules",
                    details: ["added": .array(added.map(JSONValue.string)), "replaced": .array(replaced.map(JSONValue.string))], at: Date())
            }
            return (added.count, replaced.count)
        }
    }

    public func deleteDetectionRule(id: String, actor: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM detection_rule WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            _ = try Self.appendAudit(db, actor: actor, action: "detect.rules.remove", target: "detection-rule/\(id)", details: [:], at: Date())
            return true
        }
    }
}

/// Suppression rules and triage for security findings.
public protocol SecurityTriageRepository: Sendable {
    func findingSuppressions() async throws -> [FindingSuppression]
    /// Stores a rule (its id is assigned); audited as `findings.suppress`.
    func saveFindingSuppression(_ suppression: FindingSuppression, actor: String) async throws -> FindingSuppression
    /// Audited as `findings.unsuppress`; false when no such rule.
    func deleteFindingSuppression(id: Int64, actor: String) async throws -> Bool
    /// Sets what is given of status, assignee and note; audited as `findings.triage` with the
    /// values before and after. Throws `StoreError.notFound` for an unknown uid.
    func triageSecurityFinding(uid: String, status: FindingStatus?, assignee: String?, note: String?, actor: String) async throws -> SecurityFinding
}

extension SQLiteStore: SecurityTriageRepository {
    public func findingSuppressions() async throws -> [FindingSuppression] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM finding_suppression ORDER BY id").map { row in
                FindingSuppression(
                    id: row["id"], source: row["source"], ruleID: row["rule_id"], resourceUID: row["resource_uid"], account: row["account"],
                    reason: row["reason"], expiresAt: row["expires_at"], createdBy: row["created_by"], createdAt: row["created_at"])
            }
        }
    }

    public func saveFindingSuppression(_ suppression: FindingSuppression, actor: String) async throws -> FindingSuppression {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO finding_suppression (source, rule_id, resource_uid, account, reason, expires_at, created_by, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    suppression.source, suppression.ruleID, suppression.resourceUID, suppression.account, suppression.reason, suppression.expiresAt, actor,
                    suppression.createdAt,
                ])
            var saved = suppression
            saved.id = db.lastInsertedRowID
            saved.createdBy = actor
            _ = try Self.appendAudit(
                db, actor: actor, action: "findings.suppress", target: "finding-suppression/\(saved.id)",
                details: [
                    "source": saved.source.map(JSONValue.string) ?? .null, "rule_id": saved.ruleID.map(JSONValue.string) ?? .null,
                    "resource_uid": saved.resourceUID.map(JSONValue.string) ?? .null, "account": saved.account.map(JSONValue.string) ?? .null,
                    "reason": .string(saved.reason), "expires_at": .string(Timestamps.iso8601(saved.expiresAt)),
                ], at: Date())
            return saved
        }
    }

    public func deleteFindingSuppression(id: Int64, actor: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM finding_suppression WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            _ = try Self.appendAudit(db, actor: actor, action: "findings.unsuppress", target: "finding-suppression/\(id)", details: [:], at: Date())
            return true
        }
    }

    public func triageSecurityFinding(uid: String, status: FindingStatus?, assignee: String?, note: String?, actor: String) async throws -> SecurityFinding {
        try await writer.write { db in
            guard var finding = try Row.fetchOne(db, sql: "SELECT \(Self.securityFindingColumns) FROM security_finding WHERE uid = ?", arguments: [uid]).map(Self.securityFinding)
            else { throw StoreError.unknownFinding(uid) }
            let before: JSONValue = [
                "status": .string(finding.status.rawValue), "assignee": finding.assignee.map(JSONValue.string) ?? .null,
                "note": finding.note.map(JSONValue.string) ?? .null,
            ]
            if let status { finding.status = status }
            if let assignee { finding.assignee = assignee.isEmpty ? nil : assignee }
            if let note { finding.note = note.isEmpty ? nil : note }
            try db.execute(
                sql: "UPDATE security_finding SET status = ?, assignee = ?, note = ? WHERE uid = ?",
                arguments: [finding.status.rawValue, finding.assignee, finding.note, uid])
            _ = try Self.appendAudit(
                db, actor: actor, action: "findings.triage", target: "security-finding/\(uid)",
                details: [
                    "before": before,
                    "after": [
                        "status": .string(finding.status.rawValue), "assignee": finding.assignee.map(JSONValue.string) ?? .null,
                        "note": finding.note.map(JSONValue.string) ?? .null,
                    ],
                ], at: Date())
            return finding
        }
    }
}

import CanopyModel
import Crypto
import Foundation
import GRDB

extension SQLiteStore: ComplianceRepository {
    public func findings(_ query: FindingQuery) async throws -> [Finding] {
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func list<T>(_ column: String, _ values: [T]?, _ convert: (T) -> (any DatabaseValueConvertible)?) {
            guard let values else { return }
            clauses.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ",")))")
            if values.isEmpty { clauses[clauses.count - 1] = "0" }
            arguments += values.map(convert)
        }
        list("uid", query.uids) { $0 }
        list("check_id", query.checkIDs) { $0 }
        list("account", query.accounts) { $0 }
        list("status", query.statuses) { $0.rawValue }
        if let minimum = query.minimumSeverityID {
            clauses.append("severity_id >= ?")
            arguments.append(minimum)
        }
        if let uid = query.resourceUID {
            clauses.append("resource_uid = ?")
            arguments.append(uid)
        }
        if let application = query.application {
            clauses.append("application = ?")
            arguments.append(application)
        }
        var sql = "SELECT * FROM finding"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY severity_id DESC, check_id, resource_uid"
        if let limit = query.limit { sql += " LIMIT \(limit)" }
        let finalSQL = sql
        let finalArguments = StatementArguments(arguments)
        return try await writer.read { db in
            try Row.fetchAll(db, sql: finalSQL, arguments: finalArguments).map(Self.finding)
        }
    }

    static func finding(_ row: Row) throws -> Finding {
        Finding(
            uid: row["uid"], checkID: row["check_id"], title: row["title"], severityID: row["severity_id"],
            status: FindingStatus(rawValue: row["status"]) ?? .new, resourceUID: row["resource_uid"],
            resourceType: row["resource_type"], resourceName: row["resource_name"], account: row["account"],
            region: row["region"], application: row["application"], firstSeen: row["first_seen"], lastSeen: row["last_seen"],
            resolvedAt: row["resolved_at"], reopenCount: row["reopen_count"], lastScanID: row["last_scan_id"],
            resourceVersion: row["resource_version"], policyHash: row["policy_hash"],
            requirements: try StoreCoding.decode([String].self, row["requirements"]), waiverID: row["waiver_id"],
            assignee: row["assignee"], note: row["note"])
    }

    public func raise(_ findings: [Finding], actor: String) async throws -> [Finding] {
        let rows = try findings.map { f -> (Finding, StatementArguments) in
            let arguments: [(any DatabaseValueConvertible)?] = [
                f.uid, f.checkID, f.title, f.severityID, f.status.rawValue, f.resourceUID, f.resourceType, f.resourceName, f.account, f.region,
                f.application, f.firstSeen, f.lastSeen, f.policyHash, try StoreCoding.text(f.requirements),
            ]
            return (f, StatementArguments(arguments))
        }
        return try await writer.write { db in
            var raised: [Finding] = []
            for (finding, arguments) in rows {
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM finding WHERE uid = ?", arguments: [finding.uid]) == true {
                    try db.execute(sql: "UPDATE finding SET last_seen = ?, title = ? WHERE uid = ?", arguments: [finding.lastSeen, finding.title, finding.uid])
                    continue
                }
                try db.execute(
                    sql: """
                        INSERT INTO finding (uid, check_id, title, severity_id, status, resource_uid, resource_type, resource_name, account, region,
                            application, first_seen, last_seen, policy_hash, requirements) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: arguments)
                _ = try Self.appendAudit(
                    db, actor: actor, action: "finding.raise", target: finding.uid,
                    details: ["check": .string(finding.checkID), "title": .string(finding.title)], at: finding.firstSeen)
                raised.append(finding)
            }
            return raised
        }
    }

    public func record(_ evaluation: EvaluationRecord) async throws -> Evaluation {
        let findingRows = try evaluation.findings.map { f -> StatementArguments in
            let arguments: [(any DatabaseValueConvertible)?] = [
                f.uid, f.checkID, f.title, f.severityID, f.status.rawValue, f.resourceUID, f.resourceType, f.resourceName,
                f.account, f.region, f.application, f.firstSeen, f.lastSeen, f.resolvedAt, f.reopenCount, f.lastScanID,
                f.resourceUID, f.resourceVersion, f.policyHash, try StoreCoding.text(f.requirements), f.waiverID, f.assignee,
                f.note,
            ]
            return StatementArguments(arguments)
        }
        return try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO evaluation (scan_id, evaluated_at, checks, opened, resolved, reopened) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    evaluation.scanID, evaluation.evaluatedAt, evaluation.checks, evaluation.opened, evaluation.resolved,
                    evaluation.reopened,
                ])
            let id = db.lastInsertedRowID
            // The resource version is the stored state's content address when the evaluator did not
            // give one: the evidence an auditor can open.
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO finding (uid, check_id, title, severity_id, status, resource_uid, resource_type, resource_name,
                        account, region, application, first_seen, last_seen, resolved_at, reopen_count, last_scan_id,
                        resource_version, policy_hash, requirements, waiver_id, assignee, note)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                        COALESCE((SELECT version_hash FROM current_resource WHERE uid = ?), ?), ?, ?, ?, ?, ?)
                    ON CONFLICT(uid) DO UPDATE SET
                        title = excluded.title, severity_id = excluded.severity_id, status = excluded.status,
                        resource_name = excluded.resource_name, application = excluded.application,
                        last_seen = excluded.last_seen, resolved_at = excluded.resolved_at,
                        reopen_count = excluded.reopen_count, last_scan_id = excluded.last_scan_id,
                        resource_version = excluded.resource_version, policy_hash = excluded.policy_hash,
                        requirements = excluded.requirements, waiver_id = excluded.waiver_id
                    """)
            for arguments in findingRows { try upsert.execute(arguments: arguments) }
            let insertResult = try db.cachedStatement(
                sql: "INSERT INTO check_result (evaluation_id, check_id, account, application, passed, failed, waived) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for r in evaluation.results {
                try insertResult.execute(arguments: [id, r.checkID, r.account, r.application, r.passed, r.failed, r.waived])
            }
            return Evaluation(
                id: id, scanID: evaluation.scanID, evaluatedAt: evaluation.evaluatedAt, checks: evaluation.checks,
                opened: evaluation.opened, resolved: evaluation.resolved, reopened: evaluation.reopened)
        }
    }

    public func evaluations(limit: Int) async throws -> [Evaluation] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM evaluation ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                Evaluation(
                    id: row["id"], scanID: row["scan_id"], evaluatedAt: row["evaluated_at"], checks: row["checks"],
                    opened: row["opened"], resolved: row["resolved"], reopened: row["reopened"])
            }
        }
    }

    public func checkResults(evaluationID: Int64) async throws -> [CheckResult] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM check_result WHERE evaluation_id = ? ORDER BY check_id, account, application",
                arguments: [evaluationID]
            ).map { row in
                CheckResult(
                    checkID: row["check_id"], account: row["account"], application: row["application"], passed: row["passed"],
                    failed: row["failed"], waived: row["waived"])
            }
        }
    }

    public func triage(
        findingUID: String, status: FindingStatus?, assignee: String?, note: String?, actor: String, at: Date
    ) async throws -> Finding {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM finding WHERE uid = ?", arguments: [findingUID]) else {
                throw StoreError.unknownFinding(findingUID)
            }
            var finding = try Self.finding(row)
            if let status { finding.status = status }
            if let assignee { finding.assignee = assignee }
            if let note { finding.note = note }
            try db.execute(
                sql: "UPDATE finding SET status = ?, assignee = ?, note = ? WHERE uid = ?",
                arguments: [finding.status.rawValue, finding.assignee, finding.note, findingUID])
            var details: [String: JSONValue] = [:]
            if let status { details["status"] = .string(status.rawValue) }
            if let assignee { details["assignee"] = .string(assignee) }
            if let note { details["note"] = .string(note) }
            _ = try Self.appendAudit(db, actor: actor, action: "finding.triage", target: findingUID, details: .object(details), at: at)
            return finding
        }
    }

    public func resourceState(version: String) async throws -> JSONValue? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT name, tags, properties FROM resource_version WHERE hash = ?", arguments: [version]) else {
                return nil
            }
            return [
                "name": .string(row["name"]), "tags": try JSONValue.parse(Data((row["tags"] as String).utf8)),
                "properties": try JSONValue.parse(Data((row["properties"] as String).utf8)),
            ]
        }
    }

    public func save(_ waiver: Waiver, actor: String) async throws -> Waiver {
        try await writer.write { db in
            var saved = waiver
            let action: String
            if waiver.id == 0 {
                try db.execute(
                    sql: """
                        INSERT INTO waiver (check_id, selector, reason, requested_by, approved_by, state, created_at, expires_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        waiver.checkID, waiver.selector, waiver.reason, waiver.requestedBy, waiver.approvedBy,
                        waiver.state.rawValue, waiver.createdAt, waiver.expiresAt,
                    ])
                saved.id = db.lastInsertedRowID
                action = "exception.\(waiver.state == .requested ? "request" : "grant")"
            } else {
                try db.execute(
                    sql: "UPDATE waiver SET approved_by = ?, state = ?, expires_at = ?, reason = ? WHERE id = ?",
                    arguments: [waiver.approvedBy, waiver.state.rawValue, waiver.expiresAt, waiver.reason, waiver.id])
                guard db.changesCount == 1 else { throw StoreError.unknownWaiver(waiver.id) }
                action = "exception.\(waiver.state.rawValue)"
            }
            let details: JSONValue = [
                "check": .string(saved.checkID), "selector": .string(saved.selector), "reason": .string(saved.reason),
                "state": .string(saved.state.rawValue), "expires": .string(Timestamps.iso8601(saved.expiresAt)),
                "approved_by": saved.approvedBy.map(JSONValue.string) ?? .null,
            ]
            _ = try Self.appendAudit(db, actor: actor, action: action, target: "exception/\(saved.id)", details: details, at: Date())
            return saved
        }
    }

    public func waivers() async throws -> [Waiver] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM waiver ORDER BY id").map { row in
                Waiver(
                    id: row["id"], checkID: row["check_id"], selector: row["selector"], reason: row["reason"],
                    requestedBy: row["requested_by"], approvedBy: row["approved_by"],
                    state: Waiver.State(rawValue: row["state"]) ?? .requested, createdAt: row["created_at"],
                    expiresAt: row["expires_at"])
            }
        }
    }

    public func save(_ attestation: Attestation, actor: String) async throws -> Attestation {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO attestation (framework_id, requirement_id, satisfied, statement, evidence_name, evidence_sha256,
                        attested_by, attested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    attestation.frameworkID, attestation.requirementID, attestation.satisfied, attestation.statement,
                    attestation.evidenceName, attestation.evidenceSHA256, attestation.attestedBy, attestation.attestedAt,
                    attestation.expiresAt,
                ])
            var saved = attestation
            saved.id = db.lastInsertedRowID
            let details: JSONValue = [
                "satisfied": .bool(saved.satisfied), "statement": .string(saved.statement),
                "evidence": saved.evidenceName.map(JSONValue.string) ?? .null,
                "evidence_sha256": saved.evidenceSHA256.map(JSONValue.string) ?? .null,
            ]
            _ = try Self.appendAudit(
                db, actor: actor, action: "attestation.record", target: "\(saved.frameworkID)/\(saved.requirementID)",
                details: details, at: saved.attestedAt)
            return saved
        }
    }

    public func attestations() async throws -> [Attestation] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attestation ORDER BY id").map { row in
                Attestation(
                    id: row["id"], frameworkID: row["framework_id"], requirementID: row["requirement_id"],
                    satisfied: row["satisfied"], statement: row["statement"], evidenceName: row["evidence_name"],
                    evidenceSHA256: row["evidence_sha256"], attestedBy: row["attested_by"], attestedAt: row["attested_at"],
                    expiresAt: row["expires_at"])
            }
        }
    }
}

extension SQLiteStore: AuditRepository {
    public func appendAudit(actor: String, action: String, target: String, details: JSONValue, at: Date) async throws -> AuditEntry {
        try await writer.write { db in try Self.appendAudit(db, actor: actor, action: action, target: target, details: details, at: at) }
    }

    /// Appends inside the caller's transaction, so the change and its record commit together.
    /// The address is the request's (`AuditContext.address`), or `cli` outside a request.
    static func appendAudit(_ db: Database, actor: String, action: String, target: String, details: JSONValue, at exact: Date) throws -> AuditEntry {
        // Stored with millisecond precision, so hashed with it too.
        let at = Date(timeIntervalSince1970: (exact.timeIntervalSince1970 * 1_000).rounded(.down) / 1_000)
        let address = AuditContext.address ?? "cli"
        let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") ?? ""
        let detailsText = details.canonicalJSON()
        let hash = auditHash(previous: previous, at: at, actor: actor, action: action, target: target, details: detailsText, address: address)
        try db.execute(
            sql: "INSERT INTO audit_log (at, actor, action, target, details, previous_hash, hash, address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [at, actor, action, target, detailsText, previous, hash, address])
        return AuditEntry(
            id: db.lastInsertedRowID, at: at, actor: actor, address: address, action: action, target: target, details: details,
            previousHash: previous, hash: hash)
    }

    static func auditHash(previous: String, at: Date, actor: String, action: String, target: String, details: String, address: String) -> String {
        var hasher = SHA256()
        let milliseconds = String(Int64((at.timeIntervalSince1970 * 1_000).rounded()))
        // Entries from before addresses were kept have none, and hash as they always did.
        for part in [previous, milliseconds, actor, action, target, details] + (address.isEmpty ? [] : [address]) {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().hexEncoded
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Self.auditEntry)
        }
    }

    static func auditEntry(_ row: Row) throws -> AuditEntry {
        AuditEntry(
            id: row["id"], at: row["at"], actor: row["actor"], address: row["address"], action: row["action"], target: row["target"],
            details: try JSONValue.parse(Data((row["details"] as String).utf8)), previousHash: row["previous_hash"],
            hash: row["hash"])
    }

    public func firstBrokenAuditEntry() async throws -> Int64? {
        try await writer.read { db in
            var previous = ""
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM audit_log ORDER BY id")
            while let row = try rows.next() {
                let entry = try Self.auditEntry(row)
                let expected = Self.auditHash(
                    previous: previous, at: entry.at, actor: entry.actor, action: entry.action, target: entry.target,
                    details: row["details"], address: entry.address)
                if entry.previousHash != previous || entry.hash != expected { return entry.id }
                previous = entry.hash
            }
            return nil
        }
    }
}

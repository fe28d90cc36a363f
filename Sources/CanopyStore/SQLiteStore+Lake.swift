import CanopyModel
import Crypto
import Foundation
import GRDB

/// The lake's hash chain and digest format, in one place for the store that writes them and
/// the verifier that checks them.
public enum LakeChain {
    /// The hash before the first event.
    public static let genesis = String(repeating: "0", count: 64)

    /// SHA-256 over the previous hash, the position, the event id and the body, length-prefixed
    /// so no two different inputs run together into the same bytes.
    public static func link(previous: String, seq: Int64, eventID: String, body: String) -> String {
        var hasher = SHA256()
        for var part in [previous, String(seq), eventID, body] {
            part.withUTF8 { bytes in
                var prefix = String(bytes.count)
                prefix.append(":")
                prefix.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
            }
        }
        return hasher.finalize().hexEncoded
    }

    /// The bytes a digest's signature covers.
    public static func digestMessage(id: Int64, firstSeq: Int64, lastSeq: Int64, headHash: String, previousSignature: String, signedAt: Date) -> Data {
        Data("canopy-lake-digest-v1\n\(id)\n\(firstSeq)\n\(lastSeq)\n\(headHash)\n\(previousSignature)\n\(Timestamps.iso8601(signedAt))\n".utf8)
    }
}

/// What one append did.
public struct LakeAppend: Sendable, Hashable {
    public var added: Int
    /// Events already in the lake (by event id), left as they were.
    public var duplicates: Int
    public var digest: LakeDigest?
}

/// The activity lake: append-only, hash-chained, sealed by signed digests. Nothing here updates
/// or deletes an event.
public protocol LakeRepository: Sendable {
    /// Appends the events not in the lake yet (by event id) in one transaction, chains them, and
    /// seals them with a digest signed by `sign` (message → signature); audited as `lake.import`.
    func appendLakeEvents(_ events: [LakeRecord], source: String, actor: String, sign: @escaping @Sendable (Data) throws -> Data) async throws -> LakeAppend
    /// The events a filter selects (every event by default) in order of `seq`, as stored:
    /// verification and detection read them all, so a cursor.
    func eachLakeEvent(_ filter: LakeFilter, _ body: @escaping @Sendable (LakeEvent) throws -> Void) async throws
    func lakeDigests() async throws -> [LakeDigest]
    func lakeEvents(_ filter: LakeFilter, limit: Int?) async throws -> [LakeEvent]
    func countLakeEvents(_ filter: LakeFilter) async throws -> Int
    /// The signing key, sealed, and its public half (nil: none made yet).
    func lakeKey() async throws -> (sealedPrivateKey: String, publicKey: Data)?
    /// Stores the lake's key once; false when one exists already (the first one stays).
    func saveLakeKey(sealedPrivateKey: String, publicKey: Data) async throws -> Bool
}

extension SQLiteStore: LakeRepository {
    public func appendLakeEvents(_ events: [LakeRecord], source: String, actor: String, sign: @escaping @Sendable (Data) throws -> Data) async throws -> LakeAppend {
        try await writer.write { db in
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM lake_event ORDER BY seq DESC LIMIT 1")
            var seq: Int64 = last?["seq"] ?? 0
            var hash: String = last?["hash"] ?? LakeChain.genesis
            let first = seq + 1
            // An event the lake holds already (by id) is left alone: the insert does nothing, and
            // the link made for it is dropped.
            let insert = RawInsert(try db.makeStatement(
                sql: """
                    INSERT INTO lake_event (seq, event_id, event_time, account, region, event_source, event_name, user_arn, user_type, source_ip,
                        error_code, read_only, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING
                    """))
            var duplicates = 0
            for e in events {
                let link = LakeChain.link(previous: hash, seq: seq + 1, eventID: e.eventID, body: e.body)
                guard try Self.insertLakeEvent(insert, db, seq: seq + 1, e, hash: link) else {
                    duplicates += 1
                    continue
                }
                seq += 1
                hash = link
            }
            let added = Int(seq - first + 1)
            guard added > 0 else { return LakeAppend(added: 0, duplicates: duplicates, digest: nil) }
            let previous = try String.fetchOne(db, sql: "SELECT signature FROM lake_digest ORDER BY id DESC LIMIT 1") ?? ""
            let id = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM lake_digest") ?? 0) + 1
            // Whole seconds: the signed text and the stored time must read back the same.
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let message = LakeChain.digestMessage(id: id, firstSeq: first, lastSeq: seq, headHash: hash, previousSignature: previous, signedAt: now)
            let digest = LakeDigest(
                id: id, firstSeq: first, lastSeq: seq, headHash: hash, previousSignature: previous, signedAt: now, signature: try sign(message).base64EncodedString())
            try db.execute(
                sql: "INSERT INTO lake_digest (id, first_seq, last_seq, head_hash, previous_signature, signed_at, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [id, first, seq, hash, previous, now, digest.signature])
            _ = try Self.appendAudit(
                db, actor: actor, action: "lake.import", target: "lake-digest/\(id)",
                details: ["source": .string(source), "added": .int(Int64(added)), "duplicates": .int(Int64(duplicates)), "first_seq": .int(first), "last_seq": .int(seq)],
                at: now)
            return LakeAppend(added: added, duplicates: duplicates, digest: digest)
        }
    }

    /// One row of `lake_event`; false when the lake holds the event id already.
    static func insertLakeEvent(_ insert: RawInsert, _ db: Database, seq: Int64, _ e: LakeRecord, hash: String) throws -> Bool {
        insert.reset()
        insert.bind(1, seq)
        insert.bind(2, e.eventID)
        insert.bind(3, Self.storedDate(e.eventTime))
        insert.bind(4, e.account)
        insert.bind(5, e.region)
        insert.bind(6, e.eventSource)
        insert.bind(7, e.eventName)
        insert.bind(8, e.userARN)
        insert.bind(9, e.userType)
        insert.bind(10, e.sourceIP)
        insert.bind(11, e.errorCode)
        insert.bind(12, e.readOnly)
        insert.bind(14, hash)
        return try insert.step(db, borrowing: (13, e.body))
    }

    /// A date as GRDB stores it ("yyyy-MM-dd HH:mm:ss.SSS", UTC), written here for whole seconds
    /// (every CloudTrail time) because GRDB's `DateFormatter` cost more than the row's insert.
    static func storedDate(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        // Whole seconds from year 1 to 9999; anything else as GRDB writes it.
        guard seconds == seconds.rounded(.down), seconds >= -62_135_596_800, seconds < 253_402_300_800 else {
            return String.fromDatabaseValue(date.databaseValue) ?? ""
        }
        let whole = Int(seconds)
        let secondOfDay = whole - Int((seconds / 86_400).rounded(.down)) * 86_400
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return CostCalendar.day(date) + " " + two(secondOfDay / 3_600) + ":" + two(secondOfDay / 60 % 60) + ":" + two(secondOfDay % 60) + ".000"
    }

    static func lakeEvent(_ row: Row) -> LakeEvent {
        LakeEvent(
            seq: row[0],
            record: LakeRecord(
                eventID: row[1], eventTime: row[2], account: row[3], region: row[4], eventSource: row[5], eventName: row[6], userARN: row[7],
                userType: row[8], sourceIP: row[9], errorCode: row[10], readOnly: row[11], body: row[12]),
            hash: row[13])
    }

    static let lakeColumns = "seq, event_id, event_time, account, region, event_source, event_name, user_arn, user_type, source_ip, error_code, read_only, body, hash"

    public func eachLakeEvent(_ filter: LakeFilter, _ body: @escaping @Sendable (LakeEvent) throws -> Void) async throws {
        let (condition, arguments) = Self.lakeWhere(filter)
        try await writer.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.lakeColumns) FROM lake_event\(condition) ORDER BY seq", arguments: arguments)
            while let row = try rows.next() { try body(Self.lakeEvent(row)) }
        }
    }

    public func lakeDigests() async throws -> [LakeDigest] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM lake_digest ORDER BY id").map { row in
                LakeDigest(
                    id: row["id"], firstSeq: row["first_seq"], lastSeq: row["last_seq"], headHash: row["head_hash"], previousSignature: row["previous_signature"],
                    signedAt: row["signed_at"], signature: row["signature"])
            }
        }
    }

    /// A filter as SQL over the indexed columns, values bound as parameters.
    static func lakeWhere(_ filter: LakeFilter) -> (String, StatementArguments) {
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for clause in filter.clauses {
            let column: String
            switch clause.field {
            case .eventTime: column = "event_time"
            case .account: column = "account"
            case .region: column = "region"
            case .eventSource: column = "event_source"
            case .eventName: column = "event_name"
            case .userARN: column = "user_arn"
            case .userType: column = "user_type"
            case .sourceIPAddress: column = "source_ip"
            case .errorCode: column = "error_code"
            case .readOnly: column = "read_only"
            case .eventID: column = "event_id"
            }
            if clause.value == "*", clause.op == .equal || clause.op == .notEqual {
                clauses.append("\(column) IS \(clause.op == .equal ? "NOT " : "")NULL")
                continue
            }
            let value: any DatabaseValueConvertible
            switch clause.field {
            case .readOnly: value = clause.value.lowercased() == "true"
            case .eventTime: value = Timestamps.parse(clause.value) ?? CostCalendar.date(clause.value) ?? Date.distantPast
            default: value = clause.value
            }
            switch clause.op {
            case .contains:
                clauses.append("instr(\(column), ?) > 0")
            default:
                clauses.append("\(column) \(clause.op == .notEqual ? "IS NOT" : clause.op.rawValue) ?")
            }
            arguments.append(value)
        }
        if let accounts = filter.accounts {
            clauses.append(accounts.isEmpty ? "0" : "account IN (\(Array(repeating: "?", count: accounts.count).joined(separator: ",")))")
            arguments += accounts as [(any DatabaseValueConvertible)?]
        }
        return (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "), StatementArguments(arguments))
    }

    public func lakeEvents(_ filter: LakeFilter, limit: Int?) async throws -> [LakeEvent] {
        let (condition, arguments) = Self.lakeWhere(filter)
        return try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.lakeColumns) FROM lake_event\(condition) ORDER BY event_time, seq" + (limit.map { " LIMIT \($0)" } ?? ""), arguments: arguments
            ).map(Self.lakeEvent)
        }
    }

    public func countLakeEvents(_ filter: LakeFilter) async throws -> Int {
        let (condition, arguments) = Self.lakeWhere(filter)
        return try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM lake_event\(condition)", arguments: arguments) ?? 0 }
    }

    public func lakeKey() async throws -> (sealedPrivateKey: String, publicKey: Data)? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT sealed_private_key, public_key FROM lake_key WHERE id = 1").map { ($0[0], $0[1]) }
        }
    }

    public func saveLakeKey(sealedPrivateKey: String, publicKey: Data) async throws -> Bool {
        try await writer.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM lake_key") == 0 else { return false }
            try db.execute(sql: "INSERT INTO lake_key (id, sealed_private_key, public_key, created_at) VALUES (1, ?, ?, ?)", arguments: [sealedPrivateKey, publicKey, Date()])
            _ = try Self.appendAudit(db, actor: "canopy", action: "lake.key.create", target: "lake-key/1", details: ["public_key": .string(publicKey.base64EncodedString())], at: Date())
            return true
        }
    }
}

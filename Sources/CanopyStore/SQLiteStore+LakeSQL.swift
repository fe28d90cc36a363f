import CanopyModel
import Foundation
import GRDB
import GRDBSQLite

/// Read-only SQL over the lake's views for admins and auditors, enforced by SQLite itself, not
/// by reading the SQL: the statement runs on a separate connection opened read-only, with
/// `query_only` set, and an authorizer that lets it read columns only through the lake views
/// (`lake_events`, `lake_findings`) — every other table (users, tokens, secrets, the raw lake
/// tables), every write, pragma, attach or function that changes state is refused as SQLite
/// prepares the statement.
public enum LakeSQL {
    public static let views = ["lake_events", "lake_findings"]

    public struct Result: Sendable, Codable {
        public var columns: [String]
        public var rows: [[JSONValue]]
        /// More rows matched than `limit`.
        public var truncated: Bool
    }

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// SQLite's authorizer: what a console statement may do. Its context is the `Tables` of the database.
    static let authorizer: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?)
        -> Int32 = { context, action, first, _, _, view in
            switch action {
            case SQLITE_SELECT, SQLITE_RECURSIVE:
                return SQLITE_OK
            case SQLITE_FUNCTION:
                // Plain functions (json_extract, lower, count…) are fine; none of SQLite's built-ins writes.
                return SQLITE_OK
            case SQLITE_READ:
                // A view's own columns, and the reads a view makes of its tables; any other
                // table's columns (read directly, whatever the name) are refused.
                if let first, views.contains(String(cString: first)) { return SQLITE_OK }
                if let view, views.contains(String(cString: view)) { return SQLITE_OK }
                // A common table expression's or subquery's own columns: no table of the database.
                if let first, let context, !Unmanaged<Tables>.fromOpaque(context).takeUnretainedValue().names.contains(String(cString: first)) {
                    return SQLITE_OK
                }
                return SQLITE_DENY
            default:
                return SQLITE_DENY
            }
        }

    /// Runs one SELECT against the database file at `path`.
    public static func run(_ sql: String, path: String, limit: Int, timeout: Duration = .seconds(10)) throws -> Result {
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db = connection else {
            defer { sqlite3_close(connection) }
            throw Problem(message: "cannot open the database read-only: \(String(cString: sqlite3_errmsg(connection)))")
        }
        defer { sqlite3_close(db) }
        sqlite3_exec(db, "PRAGMA query_only = 1", nil, nil, nil)
        // The database's own tables and views, read before the authorizer is in place.
        let tables = Tables(try names(db))
        let tablesContext = Unmanaged.passRetained(tables).toOpaque()
        defer { Unmanaged<Tables>.fromOpaque(tablesContext).release() }
        sqlite3_set_authorizer(db, authorizer, tablesContext)
        // A statement that runs too long is interrupted.
        let deadline = ContinuousClock.now + timeout
        let box = Unmanaged.passRetained(DeadlineBox(deadline)).toOpaque()
        defer { Unmanaged<DeadlineBox>.fromOpaque(box).release() }
        sqlite3_progress_handler(db, 10_000, { context in
            guard let context else { return 0 }
            return ContinuousClock.now > Unmanaged<DeadlineBox>.fromOpaque(context).takeUnretainedValue().deadline ? 1 : 0
        }, box)
        var statement: OpaquePointer?
        // What follows the first statement, read while the C string it points into is alive.
        let (prepared, rest) = sql.withCString { text -> (Int32, String) in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v2(db, text, -1, &statement, &tail)
            return (code, tail.map { String(cString: $0) } ?? "")
        }
        guard prepared == SQLITE_OK, let statement else {
            let message = String(cString: sqlite3_errmsg(db))
            throw Problem(message: message == "not authorized" ? "not authorized: the console reads only the views \(views.joined(separator: ", "))" : message)
        }
        defer { sqlite3_finalize(statement) }
        if !rest.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ";"))).isEmpty {
            throw Problem(message: "one statement at a time")
        }
        guard sqlite3_stmt_readonly(statement) != 0 else { throw Problem(message: "only reading statements (SELECT, WITH … SELECT)") }
        let count = Int(sqlite3_column_count(statement))
        let columns = (0..<count).map { String(cString: sqlite3_column_name(statement, Int32($0))) }
        var rows: [[JSONValue]] = []
        var truncated = false
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else {
                let message = String(cString: sqlite3_errmsg(db))
                throw Problem(message: step == SQLITE_INTERRUPT ? "the query ran longer than \(timeout) and was stopped" : message)
            }
            if rows.count == limit {
                truncated = true
                break
            }
            rows.append(
                (0..<Int32(count)).map { index in
                    switch sqlite3_column_type(statement, index) {
                    case SQLITE_INTEGER: .int(sqlite3_column_int64(statement, index))
                    case SQLITE_FLOAT: .double(sqlite3_column_double(statement, index))
                    case SQLITE_NULL: .null
                    default: sqlite3_column_text(statement, index).map { .string(String(cString: $0)) } ?? .null
                    }
                })
        }
        return Result(columns: columns, rows: rows, truncated: truncated)
    }

    static func names(_ db: OpaquePointer) throws -> Set<String> {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master", -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Problem(message: String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(statement) }
        var names: Set<String> = ["sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_sequence"]
        while sqlite3_step(statement) == SQLITE_ROW {
            if let text = sqlite3_column_text(statement, 0) { names.insert(String(cString: text)) }
        }
        return names
    }

    final class Tables {
        let names: Set<String>
        init(_ names: Set<String>) { self.names = names }
    }

    final class DeadlineBox {
        let deadline: ContinuousClock.Instant
        init(_ deadline: ContinuousClock.Instant) { self.deadline = deadline }
    }
}

extension SQLiteStore {
    /// Read-only SQL over the lake views (`LakeSQL`); only a store on a file has a console.
    public func lakeSQL(_ sql: String, limit: Int) async throws -> LakeSQL.Result {
        let path = writer.path
        guard path != ":memory:", !path.isEmpty, FileManager.default.fileExists(atPath: path) else {
            throw LakeSQL.Problem(message: "the SQL console needs a database file")
        }
        return try await Task.detached { try LakeSQL.run(sql, path: path, limit: limit) }.value
    }
}

/// A lake query kept by name: a filter (the lake's filter language) or a SQL statement.
public struct SavedQuery: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable { case filter, sql }
    public var name: String
    public var kind: Kind
    public var query: String
    public var createdBy: String
    public var createdAt: Date

    public init(name: String, kind: Kind, query: String, createdBy: String, createdAt: Date) {
        self.name = name
        self.kind = kind
        self.query = query
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// The lake's console: read-only SQL over its views, and saved queries.
public protocol LakeConsoleRepository: Sendable {
    /// Read-only SQL over the lake views (`LakeSQL`), at most `limit` rows.
    func lakeSQL(_ sql: String, limit: Int) async throws -> LakeSQL.Result
    func savedQueries() async throws -> [SavedQuery]
    /// Adds or replaces by name; audited as `lake.query.save`.
    func save(_ query: SavedQuery, actor: String) async throws
    /// Audited as `lake.query.delete`; false when no such query.
    func deleteSavedQuery(name: String, actor: String) async throws -> Bool
}

extension SQLiteStore: LakeConsoleRepository {
    public func savedQueries() async throws -> [SavedQuery] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT name, kind, query, created_by, created_at FROM saved_query ORDER BY name").map {
                SavedQuery(name: $0[0], kind: SavedQuery.Kind(rawValue: $0[1]) ?? .filter, query: $0[2], createdBy: $0[3], createdAt: $0[4])
            }
        }
    }

    public func save(_ query: SavedQuery, actor: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO saved_query (name, kind, query, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [query.name, query.kind.rawValue, query.query, actor, query.createdAt])
            _ = try Self.appendAudit(
                db, actor: actor, action: "lake.query.save", target: "saved-query/\(query.name)",
                details: ["kind": .string(query.kind.rawValue), "query": .string(query.query)], at: Date())
        }
    }

    public func deleteSavedQuery(name: String, actor: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM saved_query WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { return false }
            _ = try Self.appendAudit(db, actor: actor, action: "lake.query.delete", target: "saved-query/\(name)", details: [:], at: Date())
            return true
        }
    }
}

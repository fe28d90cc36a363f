import Foundation
import GRDB
import GRDBSQLite

/// A prepared insert bound and stepped through SQLite's C API. The lake's imports write millions
/// of rows (events, and the links of detections to them), and building `StatementArguments` for
/// each (every value boxed as an existential) cost as much as SQLite's own work. Values are stored as
/// GRDB stores them, so everything that reads the rows through GRDB sees the same.
struct RawInsert {
    let statement: Statement
    private var handle: SQLiteStatement { statement.sqliteStatement }

    init(_ statement: Statement) { self.statement = statement }

    /// Every parameter back to NULL, ready for the next row.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Text, copied by SQLite; nil leaves the parameter NULL.
    func bind(_ index: Int32, _ value: String?) {
        guard var value else { return }
        value.withUTF8 { bytes in _ = sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient) }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { return }
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Bool?) { bind(index, value.map { $0 ? 1 : 0 }) }

    /// Runs the insert; true when it wrote a row (false: an `ON CONFLICT DO NOTHING` skipped it).
    /// `borrowing` is bound in place, not copied (SQLite reads it during the step), for the one
    /// large value of a row.
    func step(_ db: Database, borrowing: (index: Int32, text: String)? = nil) throws -> Bool {
        var code: Int32
        if let borrowing {
            var text = borrowing.text
            code = text.withUTF8 { bytes in
                sqlite3_bind_text(handle, borrowing.index, bytes.baseAddress, Int32(bytes.count), nil)
                defer { sqlite3_bind_null(handle, borrowing.index) }
                return sqlite3_step(handle)
            }
        } else {
            code = sqlite3_step(handle)
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
        return sqlite3_changes(db.sqliteConnection) == 1
    }

    /// SQLite copies what is bound with this destructor.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

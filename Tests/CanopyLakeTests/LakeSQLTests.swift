import CanopyLake
import CanopyModel
import CanopyStore
import Foundation
import Testing

/// The lake's SQL console: what it reads, and what the database refuses however it is asked.
@Suite struct LakeSQLTests {
    static func store() async throws -> (SQLiteStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("canopy.db").path)
        let records = (0..<40).map { i in
            #"{"eventID":"e\#(i)","eventTime":"2026-11-0\#(1 + i % 9)T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"\#(i % 4 == 0 ? "RunInstances" : "DescribeInstances")","recipientAccountId":"111122223333","sourceIPAddress":"10.0.0.\#(i)","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u\#(i % 3)"}}"#
        }
        let read = try CloudTrailReader.parse(Data("[\(records.joined(separator: ","))]".utf8), file: "t.json")
        let signer = try await LakeSigner.load(store: store, box: .ephemeral())
        _ = try await store.appendLakeEvents(read.events, source: "t.json", actor: "t") { try signer.sign($0) }
        _ = try await store.createUser(name: "someone", passwordHash: "$2b$hash", role: .admin, businessUnits: [], actor: "t")
        return (store, directory)
    }

    @Test func readsTheViewsWithSQLitesOwnFunctions() async throws {
        let (store, directory) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let counts = try await store.lakeSQL("SELECT eventName, count(*) AS n FROM lake_events GROUP BY eventName ORDER BY n DESC", limit: 10)
        #expect(counts.columns == ["eventName", "n"] && counts.rows == [["DescribeInstances", 30], ["RunInstances", 10]])
        let principals = try await store.lakeSQL(
            "WITH per AS (SELECT json_extract(body, '$.userIdentity.arn') AS arn FROM lake_events) SELECT arn, count(*) FROM per GROUP BY arn ORDER BY arn", limit: 10)
        #expect(principals.rows.count == 3)
        let limited = try await store.lakeSQL("SELECT eventID FROM lake_events", limit: 5)
        #expect(limited.rows.count == 5 && limited.truncated)
    }

    @Test func theDatabaseRefusesEverythingElse() async throws {
        let (store, directory) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let attempts: [(String, String)] = [
            ("SELECT name, password_hash FROM app_user", "prohibited"),  // another table
            ("SELECT body FROM lake_event", "prohibited"),  // the raw table behind the view
            ("SELECT x FROM (SELECT body AS x FROM lake_event)", "prohibited"),  // laundered through a subquery
            ("WITH t AS (SELECT * FROM app_user) SELECT * FROM t", "prohibited"),  // or a CTE
            ("SELECT e.eventID, u.name FROM lake_events e JOIN app_user u", "prohibited"),
            ("SELECT sql FROM sqlite_master", "prohibited"),
            ("DELETE FROM lake_event", "not authorized"),
            ("UPDATE lake_event SET body = '{}'", "not authorized"),
            ("DROP VIEW lake_events", "not authorized"),
            ("PRAGMA query_only = 0", "not authorized"),
            ("ATTACH DATABASE '/tmp/other.db' AS other", "not authorized"),
            ("SELECT 1; DELETE FROM lake_event", "one statement at a time"),
            ("SELEKT 1", "syntax error"),
        ]
        for (sql, expected) in attempts {
            do {
                _ = try await store.lakeSQL(sql, limit: 10)
                Issue.record("\(sql) was allowed")
            } catch let problem as LakeSQL.Problem {
                #expect(problem.message.contains(expected), "\(sql): \(problem.message)")
            }
        }
        #expect(try await store.countLakeEvents(LakeFilter()) == 40)
        #expect(try await LakeVerifier.verifyStored(store: store).intact)
        // A runaway query is stopped, not left to hold the database.
        let path = directory.appendingPathComponent("canopy.db").path
        #expect(throws: LakeSQL.Problem.self) {
            try LakeSQL.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", path: path, limit: 1, timeout: .milliseconds(300))
        }
        await #expect(throws: LakeSQL.Problem.self) { _ = try await SQLiteStore().lakeSQL("SELECT 1", limit: 1) }
    }

    @Test func savedQueriesAreAudited() async throws {
        let (store, directory) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await store.save(SavedQuery(name: "runs", kind: .filter, query: "eventName=RunInstances", createdBy: "a", createdAt: Date()), actor: "auditor-1")
        try await store.save(SavedQuery(name: "per-ip", kind: .sql, query: "SELECT sourceIPAddress, count(*) FROM lake_events GROUP BY 1", createdBy: "a", createdAt: Date()), actor: "auditor-1")
        #expect(try await store.savedQueries().map(\.name) == ["per-ip", "runs"])
        #expect(try await store.deleteSavedQuery(name: "runs", actor: "auditor-1"))
        #expect(try await !store.deleteSavedQuery(name: "runs", actor: "auditor-1"))
        let actions = try await store.auditLog(limit: 10).filter { $0.actor == "auditor-1" }.map(\.action)
        #expect(actions.filter { $0 == "lake.query.save" }.count == 2 && actions.contains("lake.query.delete"))
    }
}

import CanopyModel
import Crypto
import Foundation
import GRDB

/// Canopy's embedded store: one SQLite file in WAL mode (or memory, for tests), migrated on open.
public final class SQLiteStore: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: directory.isEmpty ? "." : directory) else {
                throw StoreError.cannotOpen(path: path, reason: "directory '\(directory)' is missing or not writable")
            }
            writer = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(writer)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
        }
    }

    /// A private in-memory database, for tests and throwaway runs.
    public init() throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        writer = try DatabaseQueue(configuration: configuration)
        try Self.migrator.migrate(writer)
    }
}

// MARK: - Encoding helpers

enum StoreCoding {
    static let encoder = CanopyJSON.encoder()
    static let decoder = CanopyJSON.decoder()

    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }

    /// The content address of a resource state: equal states share one stored version.
    static func versionHash(name: String, tagsText: String, propertiesText: String) -> String {
        var hasher = SHA256()
        for part in [name, tagsText, propertiesText] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().hexEncoded
    }
}

// MARK: - Scans

extension SQLiteStore: ScanRepository {
    public func startScan(scope: ScanScope, at date: Date) async throws -> Scan {
        let scopeText = try StoreCoding.text(scope)
        return try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO scan (started_at, status, scope) VALUES (?, ?, ?)",
                arguments: [date, ScanStatus.running.rawValue, scopeText])
            return Scan(id: db.lastInsertedRowID, startedAt: date, status: .running, scope: scope)
        }
    }

    public func stage(_ batch: CollectedResources, scanID: Int64) async throws {
        let rows = try batch.resources.map { resource in
            let tagsText = try StoreCoding.text(resource.tags)
            let propertiesText = resource.properties.canonicalJSON()
            let hash = StoreCoding.versionHash(name: resource.name, tagsText: tagsText, propertiesText: propertiesText)
            return (resource, tagsText, propertiesText, hash)
        }
        try await writer.write { db in
            try Self.requireRunning(scanID, db)
            let versionStatement = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO resource_version (hash, name, tags, properties) VALUES (?, ?, ?, ?)")
            let stagedStatement = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO staged_resource
                        (scan_id, uid, provider, account, region, type, unit_region, service, observed_at,
                         version_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for (resource, tagsText, propertiesText, hash) in rows {
                try versionStatement.execute(arguments: [hash, resource.name, tagsText, propertiesText])
                try stagedStatement.execute(arguments: [
                    scanID, resource.uid, resource.provider.rawValue, resource.account, resource.region,
                    resource.type, batch.unit.region, batch.unit.service, resource.observedAt, hash,
                ])
            }
        }
    }

    public func completeScan(_ scanID: Int64, _ completion: ScanCompletion) async throws -> Scan {
        try await writer.write { db in
            try Self.requireRunning(scanID, db)
            try InventoryMerge(db: db, scanID: scanID, completion: completion).run()
            return try Self.fetchScan(scanID, db)!
        }
    }

    public func abandonScan(_ scanID: Int64, reason: String, at date: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM staged_resource WHERE scan_id = ?", arguments: [scanID])
            let errors = [
                ScanUnitError(unit: ScanUnit(account: "*", region: "*", service: "*"), code: "Interrupted", message: reason)
            ]
            try db.execute(
                sql: "UPDATE scan SET status = ?, finished_at = ?, errors = ? WHERE id = ? AND status = ?",
                arguments: [
                    ScanStatus.incomplete.rawValue, date, try StoreCoding.text(errors), scanID, ScanStatus.running.rawValue,
                ])
        }
    }

    public func scans(limit: Int) async throws -> [Scan] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM scan ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map(Self.scan(from:))
        }
    }

    public func scan(id: Int64) async throws -> Scan? {
        try await writer.read { db in try Self.fetchScan(id, db) }
    }

    static func fetchScan(_ id: Int64, _ db: Database) throws -> Scan? {
        try Row.fetchOne(db, sql: "SELECT * FROM scan WHERE id = ?", arguments: [id]).map(scan(from:))
    }

    static func requireRunning(_ scanID: Int64, _ db: Database) throws {
        guard let scan = try fetchScan(scanID, db) else { throw StoreError.unknownScan(scanID) }
        guard scan.status == .running else { throw StoreError.scanNotRunning(scanID, scan.status) }
    }

    static func scan(from row: Row) throws -> Scan {
        Scan(
            id: row["id"], startedAt: row["started_at"], finishedAt: row["finished_at"],
            status: ScanStatus(rawValue: row["status"]) ?? .incomplete,
            scope: try StoreCoding.decode(ScanScope.self, row["scope"]),
            unitsTotal: row["units_total"], unitsFailed: row["units_failed"], resourceCount: row["resource_count"],
            throttledRetries: row["throttled_retries"],
            errors: try StoreCoding.decode([ScanUnitError].self, row["errors"]))
    }
}

// MARK: - Accounts and metrics

extension SQLiteStore: AccountRepository {
    public func upsert(_ accounts: [Account]) async throws {
        let rows = try accounts.map { ($0, try StoreCoding.text($0.tags)) }
        try await writer.write { db in
            for (account, tags) in rows {
                try db.execute(
                    sql: """
                        INSERT INTO account (id, name, provider, email, organizational_unit, tags, status)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET name = excluded.name, provider = excluded.provider,
                            email = excluded.email, organizational_unit = excluded.organizational_unit,
                            tags = excluded.tags, status = excluded.status
                        """,
                    arguments: [
                        account.id, account.name, account.provider.rawValue, account.email,
                        account.organizationalUnit, tags, account.status,
                    ])
            }
        }
    }

    public func accounts() async throws -> [Account] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY id").map { row in
                Account(
                    id: row["id"], name: row["name"], provider: Provider(rawValue: row["provider"]) ?? .aws,
                    email: row["email"], organizationalUnit: row["organizational_unit"],
                    tags: try StoreCoding.decode([String: String].self, row["tags"]), status: row["status"])
            }
        }
    }
}

extension SQLiteStore: MetricRepository {
    public func record(_ series: [MetricSeries]) async throws {
        try await writer.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO metric_point (uid, metric, period_seconds, ts, value)
                    VALUES (?, ?, ?, ?, ?)
                    """)
            for one in series {
                for point in one.points {
                    try statement.execute(arguments: [
                        one.resourceUID, one.metric, one.periodSeconds, point.timestamp, point.value,
                    ])
                }
            }
        }
    }

    public func series(resourceUID: String, metric: String) async throws -> MetricSeries? {
        try await writer.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT period_seconds, ts, value FROM metric_point WHERE uid = ? AND metric = ? ORDER BY ts",
                arguments: [resourceUID, metric])
            guard let first = rows.first else { return nil }
            return MetricSeries(
                resourceUID: resourceUID, metric: metric, periodSeconds: first["period_seconds"],
                points: rows.map { MetricSeries.Point(timestamp: $0["ts"], value: $0["value"]) })
        }
    }

    public func series(metric: String, since: Date) async throws -> [MetricSeries] {
        try await writer.read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT uid, period_seconds, ts, value FROM metric_point WHERE metric = ? AND ts >= ? ORDER BY uid, ts",
                arguments: [metric, since])
            var result: [MetricSeries] = []
            while let row = try rows.next() {
                let uid: String = row["uid"]
                let point = MetricSeries.Point(timestamp: row["ts"], value: row["value"])
                if result.last?.resourceUID == uid {
                    result[result.count - 1].points.append(point)
                } else {
                    result.append(MetricSeries(resourceUID: uid, metric: metric, periodSeconds: row["period_seconds"], points: [point]))
                }
            }
            return result
        }
    }
}

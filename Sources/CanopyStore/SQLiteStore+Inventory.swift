import CanopyModel
import Foundation
import GRDB

/// The merge at the end of a scan, run inside one write transaction: staged resources become
/// the current inventory, the scan's snapshot and its change records.
///
/// Only units that succeeded can remove resources: a resource whose account/region/service failed
/// this time is carried over as last seen, never reported as deleted.
struct InventoryMerge {
    let db: Database
    let scanID: Int64
    let completion: ScanCompletion

    private struct Placement: Hashable {
        var uid: String
        var provider: String
        var account: String
        var region: String
        var type: String
        /// The region of the collector unit that found it (`global` for S3's ListBuckets, say),
        /// which can differ from the resource's own region.
        var unitRegion: String
        var service: String
        var observedAt: Date
        var versionHash: String

        var unitKey: String { "\(account)|\(unitRegion)|\(service)" }

        init(row: Row) {
            uid = row["uid"]
            provider = row["provider"]
            account = row["account"]
            region = row["region"]
            type = row["type"]
            unitRegion = row["unit_region"]
            service = row["service"]
            observedAt = row["observed_at"]
            versionHash = row["version_hash"]
        }
    }

    func run() throws {
        let staged = try Row.fetchAll(
            db, sql: "SELECT * FROM staged_resource WHERE scan_id = ?", arguments: [scanID]
        ).map(Placement.init(row:))
        let current = Dictionary(
            try Row.fetchAll(db, sql: "SELECT uid, provider, account, region, type, unit_region, service, observed_at, version_hash FROM current_resource")
                .map { (Placement(row: $0)) }.map { ($0.uid, $0) },
            uniquingKeysWith: { first, _ in first })
        let covered = Set(completion.succeededUnits.map { "\($0.account)|\($0.region)|\($0.service)" })
        let stagedUIDs = Set(staged.map(\.uid))

        for placement in staged {
            let version = try loadVersion(placement.versionHash)
            if let previous = current[placement.uid] {
                if previous.versionHash != placement.versionHash {
                    let before = try loadVersion(previous.versionHash)
                    let differences = StateDiff.differences(from: before, to: version)
                    // Only volatile members moved (a restorable time, a delivery time): newer, not changed.
                    if !differences.isEmpty {
                        try recordChange(placement, name: version.name, kind: .modified, differences: differences)
                    }
                }
                try db.execute(
                    sql: """
                        UPDATE current_resource SET provider = ?, account = ?, region = ?, type = ?, unit_region = ?, service = ?,
                            name = ?, tags = ?, properties = ?, observed_at = ?, version_hash = ?, last_seen_scan = ?
                        WHERE uid = ?
                        """,
                    arguments: [
                        placement.provider, placement.account, placement.region, placement.type, placement.unitRegion,
                        placement.service, version.name, try StoreCoding.text(version.tags), version.properties.canonicalJSON(),
                        placement.observedAt, placement.versionHash, scanID, placement.uid,
                    ])
                if previous.versionHash != placement.versionHash {
                    try replaceTags(uid: placement.uid, tags: version.tags)
                }
            } else {
                try recordChange(placement, name: version.name, kind: .added, differences: [])
                try db.execute(
                    sql: """
                        INSERT INTO current_resource (uid, provider, account, region, type, unit_region, service, name,
                            tags, properties, observed_at, version_hash, first_seen_scan, last_seen_scan)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        placement.uid, placement.provider, placement.account, placement.region, placement.type,
                        placement.unitRegion, placement.service, version.name, try StoreCoding.text(version.tags),
                        version.properties.canonicalJSON(), placement.observedAt, placement.versionHash, scanID,
                        scanID,
                    ])
                try replaceTags(uid: placement.uid, tags: version.tags)
            }
        }

        for previous in current.values where !stagedUIDs.contains(previous.uid) && covered.contains(previous.unitKey) {
            let version = try loadVersion(previous.versionHash)
            var gone = previous
            gone.observedAt = completion.finishedAt
            try recordChange(gone, name: version.name, kind: .removed, differences: [])
            try db.execute(sql: "DELETE FROM current_resource WHERE uid = ?", arguments: [previous.uid])
        }

        // The snapshot is the whole inventory as known after this scan, carried-over units included,
        // so any two snapshots can be compared directly.
        try db.execute(
            sql: """
                INSERT INTO snapshot_resource (scan_id, uid, provider, account, region, type, unit_region, service,
                    observed_at, version_hash)
                SELECT ?, uid, provider, account, region, type, unit_region, service, observed_at, version_hash
                FROM current_resource
                """,
            arguments: [scanID])
        try db.execute(sql: "DELETE FROM staged_resource WHERE scan_id = ?", arguments: [scanID])
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM current_resource") ?? 0
        let failedUnits = Set(completion.errors.map(\.unit)).count
        try db.execute(
            sql: """
                UPDATE scan SET status = ?, finished_at = ?, units_total = ?, units_failed = ?, resource_count = ?,
                    throttled_retries = ?, errors = ?
                WHERE id = ?
                """,
            arguments: [
                ScanStatus.complete.rawValue, completion.finishedAt, completion.succeededUnits.count + failedUnits,
                failedUnits, count, completion.throttledRetries, try StoreCoding.text(completion.errors), scanID,
            ])
    }

    private func loadVersion(_ hash: String) throws -> ObservedState {
        try SQLiteStore.loadVersion(hash, db)
    }

    private func recordChange(
        _ placement: Placement, name: String, kind: ResourceChange.Kind, differences: [PropertyDifference]
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO resource_change (scan_id, uid, type, account, region, name, kind, observed_at, differences)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                scanID, placement.uid, placement.type, placement.account, placement.region, name, kind.rawValue,
                placement.observedAt, try StoreCoding.text(differences),
            ])
    }

    private func replaceTags(uid: String, tags: [String: String]) throws {
        try db.execute(sql: "DELETE FROM resource_tag WHERE uid = ?", arguments: [uid])
        for (key, value) in tags {
            try db.execute(sql: "INSERT INTO resource_tag (uid, key, value) VALUES (?, ?, ?)", arguments: [uid, key, value])
        }
    }
}

extension SQLiteStore: ResourceRepository {
    static func loadVersion(_ hash: String, _ db: Database) throws -> ObservedState {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM resource_version WHERE hash = ?", arguments: [hash])
        else {
            return ObservedState(name: "", tags: [:], properties: .null)
        }
        return ObservedState(
            name: row["name"], tags: try StoreCoding.decode([String: String].self, row["tags"]),
            properties: try JSONValue.parse(row["properties"] as String))
    }

    public func resources(_ query: ResourceQuery) async throws -> [Resource] {
        try await writer.read { db in
            var clauses: [String] = []
            var arguments: StatementArguments = []
            func restrict(_ column: String, _ values: [String]?) {
                guard let values else { return }
                clauses.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ",")))")
                for value in values { _ = arguments.append(contentsOf: [value]) }
            }
            restrict("type", query.types)
            restrict("account", query.accounts)
            restrict("region", query.regions)
            for (key, value) in query.tags.sorted(by: { $0.key < $1.key }) {
                if let value {
                    clauses.append("uid IN (SELECT uid FROM resource_tag WHERE key = ? AND value = ?)")
                    _ = arguments.append(contentsOf: [key, value])
                } else {
                    clauses.append("uid IN (SELECT uid FROM resource_tag WHERE key = ?)")
                    _ = arguments.append(contentsOf: [key])
                }
            }
            var sql = "SELECT * FROM current_resource"
            if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
            sql += " ORDER BY type, account, region, uid"
            if let limit = query.limit {
                sql += " LIMIT ?"
                _ = arguments.append(contentsOf: [limit])
            }
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.currentResource(from:))
        }
    }

    public func resource(uid: String) async throws -> Resource? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM current_resource WHERE uid = ?", arguments: [uid])
                .map(Self.currentResource(from:))
        }
    }

    public func snapshot(scanID: Int64) async throws -> [Resource] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.*, v.name, v.tags, v.properties FROM snapshot_resource s
                    JOIN resource_version v ON v.hash = s.version_hash
                    WHERE s.scan_id = ? ORDER BY s.type, s.account, s.region, s.uid
                    """,
                arguments: [scanID]
            ).map(Self.currentResource(from:))
        }
    }

    public func snapshotByUnit(scanID: Int64) async throws -> [CollectedResources] {
        try await writer.read { db in
            var batches: [ScanUnit: [Resource]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT s.*, v.name, v.tags, v.properties FROM snapshot_resource s
                    JOIN resource_version v ON v.hash = s.version_hash
                    WHERE s.scan_id = ? ORDER BY s.uid
                    """,
                arguments: [scanID])
            {
                let unit = ScanUnit(account: row["account"], region: row["unit_region"], service: row["service"])
                batches[unit, default: []].append(try Self.currentResource(from: row))
            }
            return batches.map { CollectedResources(unit: $0.key, resources: $0.value) }
                .sorted { $0.unit.description < $1.unit.description }
        }
    }

    public func changes(scanID: Int64) async throws -> [ResourceChange] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM resource_change WHERE scan_id = ? ORDER BY type, uid", arguments: [scanID]
            ).map(Self.change(from:))
        }
    }

    public func timeline(uid: String) async throws -> [ResourceChange] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM resource_change WHERE uid = ? ORDER BY scan_id, id", arguments: [uid]
            ).map(Self.change(from:))
        }
    }

    public func diff(from older: Int64, to newer: Int64) async throws -> [ResourceChange] {
        try await writer.read { db in
            for id in [older, newer] where try Self.fetchScan(id, db)?.status != .complete {
                throw StoreError.unknownScan(id)
            }
            let newerScan = try Self.fetchScan(newer, db)!
            func placements(_ scanID: Int64) throws -> [String: Row] {
                Dictionary(
                    try Row.fetchAll(db, sql: "SELECT * FROM snapshot_resource WHERE scan_id = ?", arguments: [scanID])
                        .map { ($0["uid"] as String, $0) }, uniquingKeysWith: { first, _ in first })
            }
            let before = try placements(older)
            let after = try placements(newer)
            var result: [ResourceChange] = []
            func change(_ row: Row, name: String, kind: ResourceChange.Kind, differences: [PropertyDifference] = [])
                -> ResourceChange
            {
                ResourceChange(
                    uid: row["uid"], type: row["type"], account: row["account"], region: row["region"], name: name,
                    kind: kind, scanID: newer, observedAt: kind == .removed ? newerScan.startedAt : row["observed_at"],
                    differences: differences)
            }
            for (uid, row) in after {
                let newVersion = try Self.loadVersion(row["version_hash"], db)
                guard let old = before[uid] else {
                    result.append(change(row, name: newVersion.name, kind: .added))
                    continue
                }
                if (old["version_hash"] as String) != (row["version_hash"] as String) {
                    let oldVersion = try Self.loadVersion(old["version_hash"], db)
                    let differences = StateDiff.differences(from: oldVersion, to: newVersion)
                    if !differences.isEmpty {
                        result.append(change(row, name: newVersion.name, kind: .modified, differences: differences))
                    }
                }
            }
            for (uid, row) in before where after[uid] == nil {
                result.append(change(row, name: try Self.loadVersion(row["version_hash"], db).name, kind: .removed))
            }
            return result.sorted { ($0.type, $0.uid) < ($1.type, $1.uid) }
        }
    }

    public func countsByType() async throws -> [String: Int] {
        try await writer.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT type, COUNT(*) AS n FROM current_resource GROUP BY type") {
                counts[row["type"]] = row["n"]
            }
            return counts
        }
    }

    static func currentResource(from row: Row) throws -> Resource {
        Resource(
            uid: row["uid"], provider: Provider(rawValue: row["provider"]) ?? .aws, account: row["account"],
            region: row["region"], type: row["type"], name: row["name"],
            tags: try StoreCoding.decode([String: String].self, row["tags"]),
            properties: try JSONValue.parse(row["properties"] as String), observedAt: row["observed_at"])
    }

    static func change(from row: Row) throws -> ResourceChange {
        ResourceChange(
            uid: row["uid"], type: row["type"], account: row["account"], region: row["region"], name: row["name"],
            kind: ResourceChange.Kind(rawValue: row["kind"]) ?? .modified, scanID: row["scan_id"],
            observedAt: row["observed_at"],
            differences: try StoreCoding.decode([PropertyDifference].self, row["differences"]))
    }
}

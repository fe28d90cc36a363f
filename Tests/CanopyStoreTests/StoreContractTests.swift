import CanopyModel
import CanopyStore
import Foundation
import Testing

/// The contract every `CanopyStore` implementation passes. Written against the protocols only;
/// each implementation joins by adding a factory to `stores`.
@Suite struct StoreContractTests {
    struct Factory: Sendable, CustomTestStringConvertible {
        var name: String
        var make: @Sendable () throws -> any CanopyStore
        var testDescription: String { name }
    }

    static let stores: [Factory] = [
        Factory(name: "SQLite in memory") { try SQLiteStore() },
        Factory(name: "SQLite file (WAL)") {
            try SQLiteStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("canopy-contract-\(UUID().uuidString).db").path)
        },
    ]

    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let scope = ScanScope(accounts: ["111111111111"], regions: ["us-east-1"], services: ["ec2", "s3"], source: "test")
    static let ec2Unit = ScanUnit(account: "111111111111", region: "us-east-1", service: "ec2")
    static let s3Unit = ScanUnit(account: "111111111111", region: "global", service: "s3")

    static func instance(_ id: String, state: String = "running", tags: [String: String] = ["Env": "prod"], at date: Date = t0) -> Resource {
        Resource(
            uid: "arn:aws:ec2:us-east-1:111111111111:instance/\(id)", account: "111111111111", region: "us-east-1",
            type: "aws.ec2", name: id, tags: tags,
            properties: ["InstanceId": .string(id), "State": ["Name": .string(state), "Code": 16]], observedAt: date)
    }

    static func bucket(_ name: String) -> Resource {
        Resource(
            uid: "arn:aws:s3:::\(name)", account: "111111111111", region: "ap-northeast-1", type: "aws.s3", name: name,
            properties: ["Name": .string(name)], observedAt: t0)
    }

    /// Runs one scan that stages `batches` and completes with `succeeded` units.
    static func scan(
        _ store: any CanopyStore, _ batches: [CollectedResources], succeeded: [ScanUnit]? = nil, errors: [ScanUnitError] = [],
        at date: Date = t0
    ) async throws -> Scan {
        let scan = try await store.startScan(scope: scope, at: date)
        for batch in batches { try await store.stage(batch, scanID: scan.id) }
        return try await store.completeScan(
            scan.id,
            ScanCompletion(succeededUnits: succeeded ?? batches.map(\.unit), errors: errors, throttledRetries: 0, finishedAt: date))
    }

    @Test("first scan adds everything", arguments: stores)
    func firstScanAddsEverything(_ factory: Factory) async throws {
        let store = try factory.make()
        let scan = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1"), Self.instance("i-2")]),
                    CollectedResources(unit: Self.s3Unit, resources: [Self.bucket("logs")])])
        #expect(scan.status == .complete)
        #expect(scan.resourceCount == 3)
        #expect(try await store.changes(scanID: scan.id).map(\.kind) == [.added, .added, .added])
        #expect(try await store.resources(ResourceQuery()).count == 3)
        #expect(try await store.countsByType() == ["aws.ec2": 2, "aws.s3": 1])
    }

    @Test("a rescan of the same state records no change", arguments: stores)
    func unchangedRescan(_ factory: Factory) async throws {
        let store = try factory.make()
        let batch = CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")])
        _ = try await Self.scan(store, [batch])
        let later = Self.t0.addingTimeInterval(3600)
        let second = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1", at: later)])], at: later)
        #expect(try await store.changes(scanID: second.id).isEmpty)
        #expect(try await store.resource(uid: Self.instance("i-1").uid)?.observedAt == later)
    }

    @Test("property-level differences are recorded", arguments: stores)
    func propertyDifferences(_ factory: Factory) async throws {
        let store = try factory.make()
        _ = try await Self.scan(store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")])])
        let second = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1", state: "stopped", tags: ["Env": "dev"])])])
        let changes = try await store.changes(scanID: second.id)
        #expect(changes.count == 1)
        #expect(changes[0].kind == .modified)
        #expect(
            changes[0].differences == [
                PropertyDifference(path: "tag:Env", before: "prod", after: "dev"),
                PropertyDifference(path: "State.Name", before: "running", after: "stopped"),
            ])
        let timeline = try await store.timeline(uid: Self.instance("i-1").uid)
        #expect(timeline.map(\.kind) == [.added, .modified])
    }

    @Test("volatile members update the resource without recording a change", arguments: stores)
    func volatileMembers(_ factory: Factory) async throws {
        let store = try factory.make()
        func database(_ restorable: String) -> Resource {
            Resource(
                uid: "arn:aws:rds:us-east-1:111111111111:db:billing", account: "111111111111", region: "us-east-1",
                type: "aws.rds", name: "billing",
                properties: ["DBInstanceIdentifier": "billing", "LatestRestorableTime": .string(restorable)], observedAt: Self.t0)
        }
        let unit = ScanUnit(account: "111111111111", region: "us-east-1", service: "rds")
        let first = try await Self.scan(store, [CollectedResources(unit: unit, resources: [database("2026-11-29T08:00:00Z")])])
        let second = try await Self.scan(store, [CollectedResources(unit: unit, resources: [database("2026-11-29T08:05:00Z")])])
        #expect(try await store.changes(scanID: second.id).isEmpty)
        #expect(try await store.diff(from: first.id, to: second.id).isEmpty)
        #expect(try await store.resource(uid: database("").uid)?.properties["LatestRestorableTime"] == "2026-11-29T08:05:00Z")
    }

    @Test("a resource gone from a succeeded unit is removed", arguments: stores)
    func removal(_ factory: Factory) async throws {
        let store = try factory.make()
        let first = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1"), Self.instance("i-2")])])
        let second = try await Self.scan(store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")])])
        #expect(try await store.changes(scanID: second.id).map(\.kind) == [.removed])
        #expect(try await store.resource(uid: Self.instance("i-2").uid) == nil)
        let diff = try await store.diff(from: first.id, to: second.id)
        #expect(diff.map(\.kind) == [.removed])
        #expect(diff.first?.uid == Self.instance("i-2").uid)
        // The old snapshot still holds it.
        #expect(try await store.snapshot(scanID: first.id).count == 2)
    }

    @Test("a failed unit keeps its previous resources", arguments: stores)
    func failedUnitCarriesOver(_ factory: Factory) async throws {
        let store = try factory.make()
        _ = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")]),
                    CollectedResources(unit: Self.s3Unit, resources: [Self.bucket("logs")])])
        let failure = ScanUnitError(unit: Self.s3Unit, code: "AccessDenied", message: "ListBuckets: denied")
        let second = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")])], succeeded: [Self.ec2Unit],
            errors: [failure])
        #expect(second.unitsFailed == 1)
        #expect(second.errors == [failure])
        #expect(try await store.changes(scanID: second.id).isEmpty)
        #expect(try await store.resource(uid: Self.bucket("logs").uid) != nil)
        #expect(try await store.snapshot(scanID: second.id).count == 2)
    }

    @Test("an abandoned scan merges nothing", arguments: stores)
    func abandonedScan(_ factory: Factory) async throws {
        let store = try factory.make()
        _ = try await Self.scan(store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")])])
        let interrupted = try await store.startScan(scope: Self.scope, at: Self.t0)
        try await store.stage(CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-9")]), scanID: interrupted.id)
        try await store.abandonScan(interrupted.id, reason: "interrupted", at: Self.t0)
        #expect(try await store.scan(id: interrupted.id)?.status == .incomplete)
        #expect(try await store.resources(ResourceQuery()).map(\.name) == ["i-1"])
        await #expect(throws: StoreError.self) {
            _ = try await store.completeScan(
                interrupted.id, ScanCompletion(succeededUnits: [], errors: [], throttledRetries: 0, finishedAt: Self.t0))
        }
    }

    @Test("queries filter by type, account, region and tag", arguments: stores)
    func queries(_ factory: Factory) async throws {
        let store = try factory.make()
        _ = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1"), Self.instance("i-2", tags: ["Env": "dev", "Owner": "ops"])]),
                    CollectedResources(unit: Self.s3Unit, resources: [Self.bucket("logs")])])
        #expect(try await store.resources(ResourceQuery(types: ["aws.s3"])).map(\.name) == ["logs"])
        #expect(try await store.resources(ResourceQuery(regions: ["ap-northeast-1"])).map(\.name) == ["logs"])
        #expect(try await store.resources(ResourceQuery(tags: ["Env": "dev"])).map(\.name) == ["i-2"])
        #expect(try await store.resources(ResourceQuery(tags: ["Owner": nil])).map(\.name) == ["i-2"])
        #expect(try await store.resources(ResourceQuery(accounts: ["222222222222"])).isEmpty)
        #expect(try await store.resources(ResourceQuery(limit: 1)).count == 1)
    }

    @Test("snapshots group by collector unit", arguments: stores)
    func snapshotByUnit(_ factory: Factory) async throws {
        let store = try factory.make()
        let scan = try await Self.scan(
            store, [CollectedResources(unit: Self.ec2Unit, resources: [Self.instance("i-1")]),
                    CollectedResources(unit: Self.s3Unit, resources: [Self.bucket("logs")])])
        let batches = try await store.snapshotByUnit(scanID: scan.id)
        #expect(Set(batches.map(\.unit)) == [Self.ec2Unit, Self.s3Unit])
    }

    @Test("accounts and metric series round-trip; metrics are idempotent", arguments: stores)
    func accountsAndMetrics(_ factory: Factory) async throws {
        let store = try factory.make()
        try await store.upsert([Account(id: "111111111111", name: "one", organizationalUnit: "Generation", tags: ["bu": "gen"])])
        try await store.upsert([Account(id: "111111111111", name: "renamed")])
        #expect(try await store.accounts().map(\.name) == ["renamed"])
        let series = MetricSeries(
            resourceUID: "uid", metric: "AWS/EC2:CPUUtilization:Average", periodSeconds: 3600,
            points: [.init(timestamp: Self.t0, value: 5), .init(timestamp: Self.t0.addingTimeInterval(3600), value: 7.5)])
        try await store.record([series])
        try await store.record([series])
        #expect(try await store.series(resourceUID: "uid", metric: series.metric)?.points.count == 2)
    }

    @Test("carbon settings: the newest applied is in force, the same again is no change, invalid ones are refused", arguments: stores)
    func carbonSettings(_ factory: Factory) async throws {
        let store = try factory.make()
        #expect(try await store.carbonSettings() == nil)
        let site = CarbonSettings(marketFactors: ["tpe-dc1": 0.1], taiwanFactors: [2025: 0.46], sites: [.init(id: "tpe-dc1", name: "Taipei", pue: 1.6, grid: "TW")])
        #expect(try await store.applyCarbonSettings(site, source: "sites: …", actor: "ccoe") != nil)
        #expect(try await store.applyCarbonSettings(site, source: "sites: …", actor: "ccoe") == nil)
        let current = try #require(try await store.carbonSettings())
        #expect(current.settings == site && current.source == "sites: …" && current.actor == "ccoe")
        var changed = site
        changed.defaultUtilisation = 0.3
        #expect(try await store.applyCarbonSettings(changed, source: "x", actor: "ccoe") != nil)
        #expect(try await store.carbonSettings()?.settings.defaultUtilisation == 0.3)
        var broken = site
        broken.sites.append(.init(id: "dc2", name: "No factor", pue: 1.4))
        await #expect(throws: StoreError.self) { try await store.applyCarbonSettings(broken, source: "x", actor: "ccoe") }
        #expect(try await store.auditLog(limit: 10).filter { $0.action == "carbon.settings.apply" }.count == 2)
    }

    @Test("scans list newest first with their scope", arguments: stores)
    func scansList(_ factory: Factory) async throws {
        let store = try factory.make()
        let first = try await Self.scan(store, [])
        let second = try await Self.scan(store, [])
        #expect(try await store.scans(limit: 10).map(\.id) == [second.id, first.id])
        #expect(try await store.scan(id: first.id)?.scope == Self.scope)
    }
}

@Suite struct SQLiteStoreTests {
    @Test func unwritableDirectoryIsExplained() {
        do {
            _ = try SQLiteStore(path: "/nonexistent-dir/canopy.db")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("/nonexistent-dir"))
            #expect("\(error)".contains("--database"))
        }
    }

    @Test func reopeningAppliesNoMigrationTwice() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-reopen-\(UUID().uuidString).db").path
        _ = try SQLiteStore(path: path)
        _ = try SQLiteStore(path: path)
    }
}

@Suite struct StateDiffTests {
    @Test func nestedArraysAndAbsentKeys() {
        let before = ObservedState(name: "sg", tags: [:], properties: ["IpPermissions": [["FromPort": 22]], "Old": 1])
        let after = ObservedState(name: "sg", tags: ["Owner": "x"], properties: ["IpPermissions": [["FromPort": 3389]]])
        #expect(
            StateDiff.differences(from: before, to: after) == [
                PropertyDifference(path: "tag:Owner", before: nil, after: "x"),
                PropertyDifference(path: "IpPermissions[0].FromPort", before: 22, after: 3389),
                PropertyDifference(path: "Old", before: 1, after: nil),
            ])
    }

    @Test func arraysOfDifferentLengthAreReportedWhole() {
        let before = ObservedState(name: "a", tags: [:], properties: ["L": [1]])
        let after = ObservedState(name: "a", tags: [:], properties: ["L": [1, 2]])
        #expect(StateDiff.differences(from: before, to: after) == [PropertyDifference(path: "L", before: [1], after: [1, 2])])
    }
}

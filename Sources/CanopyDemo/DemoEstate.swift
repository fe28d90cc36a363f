import CanopyModel
import CanopyStore
import Foundation

/// The bundled demo: a recording of Canopy's own collectors scanning the four-account "GridCo"
/// power-utility estate (seeded into moto), twice, with a change in between. Replaying it through
/// the store gives a newcomer a full inventory, history and diff with no network and no credentials.
public struct DemoRecording: Codable, Sendable {
    public struct RecordedScan: Codable, Sendable {
        public var scan: Scan
        /// What each collector unit found, as staged by the live scan.
        public var batches: [CollectedResources]
        /// Every unit the scan covered, including those that found nothing (so removals replay).
        public var coveredUnits: [ScanUnit]
    }

    public var description: String
    public var accounts: [Account]
    public var scans: [RecordedScan]
    public var metrics: [MetricSeries]

    static let encoder = CanopyJSON.encoder()
    static let decoder = CanopyJSON.decoder()

    /// The recording that ships inside the binary.
    public static func bundled() throws -> DemoRecording {
        guard let url = Bundle.module.url(forResource: "demo-estate", withExtension: "json") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try decoder.decode(DemoRecording.self, from: Data(contentsOf: url))
    }

    public func encoded() throws -> Data { try Self.encoder.encode(self) }

    /// The CloudWatch series the demo keeps, by resource type: what savings recommendations and
    /// guardrail filters read.
    static let recordedMetrics: [String: [String]] = [
        "aws.ec2": [MetricSeries.Key.ec2CPU], "aws.nat-gateway": [MetricSeries.Key.natBytesOut], "aws.rds": [MetricSeries.Key.rdsConnections],
        "aws.s3": [MetricSeries.Key.s3StandardBytes, MetricSeries.Key.s3Objects],
    ]

    /// Records every complete scan in `store` (oldest first), for `canopy demo --record-from`.
    public static func record(from store: any CanopyStore, description: String) async throws -> DemoRecording {
        var snapshots: [(Scan, [CollectedResources])] = []
        for scan in try await store.scans(limit: 1_000).reversed() where scan.status == .complete {
            snapshots.append((scan, try await store.snapshotByUnit(scanID: scan.id)))
        }
        let everyUnit = Set(snapshots.flatMap { $0.1.map(\.unit) })
        let recorded = snapshots.map { scan, batches in
            let failed = Set(scan.errors.map(\.unit))
            return RecordedScan(
                scan: scan, batches: batches,
                coveredUnits: everyUnit.subtracting(failed).sorted { $0.description < $1.description })
        }
        var metrics: [MetricSeries] = []
        for batch in recorded.last?.batches ?? [] {
            for resource in batch.resources {
                for metric in recordedMetrics[resource.type] ?? [] {
                    if let series = try await store.series(resourceUID: resource.uid, metric: metric) { metrics.append(series) }
                }
            }
        }
        return DemoRecording(description: description, accounts: try await store.accounts(), scans: recorded, metrics: metrics)
    }

    /// Replays the recording into `store` through the same calls a live scan makes.
    public func load(into store: any CanopyStore) async throws {
        try await store.upsert(accounts)
        for recorded in scans {
            let scan = try await store.startScan(scope: recorded.scan.scope, at: recorded.scan.startedAt)
            for batch in recorded.batches {
                try await store.stage(batch, scanID: scan.id)
            }
            _ = try await store.completeScan(
                scan.id,
                ScanCompletion(
                    succeededUnits: recorded.coveredUnits, errors: recorded.scan.errors,
                    throttledRetries: recorded.scan.throttledRetries,
                    finishedAt: recorded.scan.finishedAt ?? recorded.scan.startedAt))
        }
        try await store.record(metrics)
    }
}

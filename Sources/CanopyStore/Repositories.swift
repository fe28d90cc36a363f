import CanopyModel
import Foundation

/// Filters for listing current resources. Every field narrows; `nil` means any.
public struct ResourceQuery: Sendable, Hashable {
    public var types: [String]?
    public var accounts: [String]?
    public var regions: [String]?
    /// `key=value` pairs that must all match; a `nil` value only requires the key.
    public var tags: [String: String?]
    public var limit: Int?

    public init(
        types: [String]? = nil, accounts: [String]? = nil, regions: [String]? = nil,
        tags: [String: String?] = [:], limit: Int? = nil
    ) {
        self.types = types
        self.accounts = accounts
        self.regions = regions
        self.tags = tags
        self.limit = limit
    }
}

/// What a scan hands the store when it ends: which units it covered and what went wrong.
public struct ScanCompletion: Sendable {
    /// Units whose collection succeeded: only their resources can be judged removed.
    public var succeededUnits: [ScanUnit]
    public var errors: [ScanUnitError]
    public var throttledRetries: Int
    public var finishedAt: Date

    public init(succeededUnits: [ScanUnit], errors: [ScanUnitError], throttledRetries: Int, finishedAt: Date) {
        self.succeededUnits = succeededUnits
        self.errors = errors
        self.throttledRetries = throttledRetries
        self.finishedAt = finishedAt
    }
}

/// Resources found by one collector unit, staged until the scan completes.
public struct CollectedResources: Sendable, Codable {
    public var unit: ScanUnit
    public var resources: [Resource]

    public init(unit: ScanUnit, resources: [Resource]) {
        self.unit = unit
        self.resources = resources
    }
}

/// Scans and their snapshots. A scan's resources are staged while it runs and merged into the
/// current inventory in one transaction when it completes, so an interrupted scan never leaves
/// a half-merged inventory.
public protocol ScanRepository: Sendable {
    func startScan(scope: ScanScope, at date: Date) async throws -> Scan
    func stage(_ batch: CollectedResources, scanID: Int64) async throws
    /// Merges the staged resources, records the snapshot and the changes, and marks the scan complete.
    func completeScan(_ scanID: Int64, _ completion: ScanCompletion) async throws -> Scan
    /// Marks a scan that stopped early; its staged resources are discarded.
    func abandonScan(_ scanID: Int64, reason: String, at date: Date) async throws
    func scans(limit: Int) async throws -> [Scan]
    func scan(id: Int64) async throws -> Scan?
}

/// The current inventory, past snapshots and the changes between them.
public protocol ResourceRepository: Sendable {
    func resources(_ query: ResourceQuery) async throws -> [Resource]
    func resource(uid: String) async throws -> Resource?
    /// Every resource as it stood after the given scan.
    func snapshot(scanID: Int64) async throws -> [Resource]
    /// The same snapshot grouped by the collector unit that found each resource.
    func snapshotByUnit(scanID: Int64) async throws -> [CollectedResources]
    /// The changes a scan recorded against the inventory before it.
    func changes(scanID: Int64) async throws -> [ResourceChange]
    /// One resource's history, oldest first.
    func timeline(uid: String) async throws -> [ResourceChange]
    /// What differs between the snapshots of two scans.
    func diff(from older: Int64, to newer: Int64) async throws -> [ResourceChange]
    func countsByType() async throws -> [String: Int]
}

public protocol AccountRepository: Sendable {
    func upsert(_ accounts: [Account]) async throws
    func accounts() async throws -> [Account]
}

public protocol MetricRepository: Sendable {
    /// Adds points; a point already stored for the same time is replaced, so re-collecting is idempotent.
    func record(_ series: [MetricSeries]) async throws
    func series(resourceUID: String, metric: String) async throws -> MetricSeries?
    /// Every resource's series of one metric since `since` (for policy evaluation in bulk).
    func series(metric: String, since: Date) async throws -> [MetricSeries]
}

/// Everything Canopy stores, behind one value that SQLite and PostgreSQL both implement.
public typealias CanopyStore = ScanRepository & ResourceRepository & AccountRepository & MetricRepository

/// Errors a user can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case unknownScan(Int64)
    case scanNotRunning(Int64, ScanStatus)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open database '\(path)': \(reason). Check that the directory exists and is writable, "
                + "or pass --database with another path."
        case .unknownScan(let id): "no scan with id \(id) (see `canopy scans`)"
        case .scanNotRunning(let id, let status): "scan \(id) is \(status.rawValue), not running"
        }
    }
}

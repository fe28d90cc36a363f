import CanopyCarbon
import CanopyCompliance
import CanopyModel
import CanopyStore
import Foundation

/// What pages read again and again, kept until the data behind it changes. Everything a page
/// shows follows from three numbers: the last scan (inventory), the last evaluation (findings,
/// results) and the head of the audit log (every change a person makes — triage, exceptions,
/// attestations, ownership, users — is audited in the same transaction). Each request pays those
/// three cheap queries instead of re-reading and re-decoding the estate.
final class ServerCache: @unchecked Sendable {
    /// The state of the data a cached value was computed from.
    struct Version: Hashable, Sendable {
        var scan: Int64
        var evaluation: Int64
        var audit: Int64
    }

    private let lock = NSLock()
    private var inventory: (version: Int64, resources: [Resource])?
    private var memo: [String: any Sendable] = [:]
    private var memoVersion: Version?
    /// Requests waiting for a value another request is computing (see `lead`).
    private var waiting: [String: [CheckedContinuation<(any Sendable)?, Never>]] = [:]

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func version(_ store: any CanopyStore) async throws -> Version {
        Version(
            scan: try await store.scans(limit: 1).first?.id ?? 0, evaluation: try await store.evaluations(limit: 1).first?.id ?? 0,
            audit: try await store.auditLog(limit: 1).first?.id ?? 0)
    }

    /// The whole current inventory (callers filter by scope and query).
    func resources(_ store: any CanopyStore) async throws -> [Resource] {
        let version = try await store.scans(limit: 1).first?.id ?? 0
        if let cached = locked({ inventory }), cached.version == version { return cached.resources }
        let resources = try await store.resources(ResourceQuery())
        locked { inventory = (version, resources) }
        return resources
    }

    /// At most this many values are kept for one version (a client varying query strings
    /// cannot grow the cache without bound).
    static let capacity = 4_096

    /// The value kept under `key` for `version`, if any.
    func peek<T: Sendable>(_ key: String, version: Version) -> T? {
        locked {
            if memoVersion != version {
                memo = [:]
                memoVersion = version
            }
            return memo[key] as? T
        }
    }

    /// Keeps `value` under `key` while the data stays at `version`.
    func keep<T: Sendable>(_ value: T, _ key: String, version: Version) {
        locked {
            guard memoVersion == version else { return }
            if memo.count >= Self.capacity { memo.removeAll(keepingCapacity: true) }
            memo[key] = value
        }
    }

    /// A value computed from the data as of `version`, kept until any of it changes.
    func value<T: Sendable>(_ key: String, version: Version, compute: () async throws -> T) async throws -> T {
        if let cached: T = peek(key, version: version) { return cached }
        let fresh = try await compute()
        keep(fresh, key, version: version)
        return fresh
    }

    /// Single flight: the first request to miss `key` computes it (`isLeader`), the others wait
    /// for what it `land`s instead of all rendering the same page at once when the cache is
    /// cold or just flushed (64 concurrent misses would each pay the full cost).
    func lead(_ key: String) async -> (isLeader: Bool, value: (any Sendable)?) {
        let leader: Bool = locked {
            guard waiting[key] == nil else { return false }
            waiting[key] = []
            return true
        }
        if leader { return (true, nil) }
        let value: (any Sendable)? = await withCheckedContinuation { continuation in
            let landed: Bool = locked {
                guard waiting[key] != nil else { return true }
                waiting[key]!.append(continuation)
                return false
            }
            if landed { continuation.resume(returning: nil) }
        }
        return (false, value)
    }

    /// Ends a flight: the waiters get `value` (nil: compute it yourselves).
    func land(_ key: String, _ value: (any Sendable)?) {
        let waiters = locked { waiting.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    func assessment(
        _ framework: String, level: String?, scope: AccessScope, dependencies: ServerDependencies
    ) async throws -> FrameworkAssessment {
        try await assessments([framework], level: level, scope: scope, dependencies: dependencies)[0]
    }

    /// Several frameworks' assessments (a page's worth), in order, checking the version once.
    func assessments(
        _ frameworks: [String], level: String?, scope: AccessScope, dependencies: ServerDependencies
    ) async throws -> [FrameworkAssessment] {
        let version = try await version(dependencies.store)
        var result: [FrameworkAssessment] = []
        for framework in frameworks {
            result.append(
                try await value("assessment|\(framework)|\(level ?? "")|\(scope.key)", version: version) {
                    try await dependencies.engine.assess(framework: framework, level: level, store: dependencies.store, accounts: scope.accounts)
                })
        }
        return result
    }

    /// Business units and applications with what they own, as `scope` may see them.
    func ownershipSummary(scope: AccessScope, dependencies: ServerDependencies) async throws -> OwnershipSummary {
        let store = dependencies.store
        let version = try await version(store)
        let inventory = try await resources(store)
        return try await value("ownership|\(scope.key)", version: version) {
            try await OwnershipSummary.build(store: store, accounts: scope.accounts, units: scope.units, inventory: inventory)
        }
    }

    /// Months of the carbon ledger as `scope` sees them: estimating reads every ledger row and the
    /// inventory, so pages and API calls share one estimate until the data changes.
    func carbonLedger(months: [String], scope: AccessScope, store: any CanopyStore) async throws -> CarbonLedger {
        try await value("carbon|\(months.joined(separator: ","))|\(scope.key)", version: try await version(store)) {
            try await CarbonLedger.build(months: months, store: store, allows: scope.accountFilter)
        }
    }

    func ownership(_ store: any CanopyStore) async throws -> Ownership {
        try await value("ownership-definitions", version: try await version(store)) { try await store.ownership() }
    }
}

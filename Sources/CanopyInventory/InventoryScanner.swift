import CanopyAWS
import CanopyModel
import CanopyStore
import Foundation
import Logging

/// Which accounts a scan covers.
public enum AccountSelection: Sendable {
    /// The caller's organization (every active account, reached by assuming `role`), or just the
    /// caller's account when it is not an organization's management account.
    case organization(role: String)
    /// The accounts listed in a c7n-org style `accounts.yml`.
    case file(path: String, defaultRole: String)
    /// Only the account the credentials belong to.
    case caller
}

/// Everything a scan needs, read once at the edge (CLI flags, environment) into one value.
public struct ScanConfiguration: Sendable {
    public var accounts: AccountSelection
    /// Region names, or `["all"]` for every region enabled in the account.
    public var regions: [String]
    /// Collector services or resource types; empty means all.
    public var services: [String]
    /// How many account × region × service units run at once.
    public var concurrency: Int
    public var detailConcurrency: Int
    public var metricWindow: TimeInterval

    public init(
        accounts: AccountSelection = .organization(role: "OrganizationAccountAccessRole"), regions: [String],
        services: [String] = [], concurrency: Int = 16, detailConcurrency: Int = 8, metricWindow: TimeInterval = 14 * 86_400
    ) {
        self.accounts = accounts
        self.regions = regions
        self.services = services
        self.concurrency = concurrency
        self.detailConcurrency = detailConcurrency
        self.metricWindow = metricWindow
    }
}

/// What a scan reports as it goes, for progress bars and structured log lines.
public struct ScanProgress: Sendable {
    public var unitsTotal: Int
    public var unitsDone: Int
    public var unitsFailed: Int
    public var resourcesFound: Int
    public var throttledRetries: Int
    public var lastUnit: ScanUnit?
    public var lastError: ScanUnitError?
}

/// Runs every collector over every account and region with bounded concurrency, stages what each
/// unit finds, and merges the whole scan into the store in one transaction at the end.
///
/// A unit that fails (AccessDenied, throttling past the retry budget, timeout) is recorded against
/// that unit; the rest of the scan goes on. Cancellation (Ctrl-C) abandons the scan: the store keeps
/// the previous complete inventory.
public struct InventoryScanner: Sendable {
    public var client: AWSClient
    public var store: any CanopyStore
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(client: AWSClient, store: any CanopyStore, logger: Logger = Logger(label: "canopy.scan"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.store = store
        self.logger = logger
        self.now = now
    }

    private struct Unit: Sendable {
        var target: AccountTarget
        /// The account's client, shared by its units so an assumed role is requested once.
        var client: AWSClient
        var region: String
        var collector: any Collector
        var scanUnit: ScanUnit { ScanUnit(account: target.account.id, region: region, service: collector.service) }
    }

    public func run(
        _ configuration: ScanConfiguration, progress: @escaping @Sendable (ScanProgress) -> Void = { _ in }
    ) async throws -> Scan {
        let collectors = try Collectors.select(configuration.services)
        // Read before any network call, so a bad accounts file is reported first.
        var listed: [AccountTarget]?
        if case .file(let path, let role) = configuration.accounts {
            listed = try AccountsFile.load(path: path, defaultRole: role)
        }
        let homeRegion = configuration.regions.first { $0 != "all" } ?? "us-east-1"
        let caller = try await OrganizationDiscovery.callerAccount(client, region: homeRegion)
        let (targets, source) = try await resolveAccounts(configuration.accounts, listed: listed, caller: caller)
        try await store.upsert(targets.map(\.account))

        var regionsByAccount: [String: [String]] = [:]
        var setupErrors: [ScanUnitError] = []
        var units: [Unit] = []
        for target in targets {
            let accountClient = clientFor(target)
            var regions = target.regions ?? configuration.regions
            if regions == ["all"] {
                do {
                    regions = try await OrganizationDiscovery.enabledRegions(accountClient, region: homeRegion)
                } catch {
                    setupErrors.append(Self.unitError(ScanUnit(account: target.account.id, region: "*", service: "*"), error))
                    continue
                }
            }
            regionsByAccount[target.account.id] = regions
            for collector in collectors {
                if collector.isGlobal {
                    units.append(Unit(target: target, client: accountClient, region: "global", collector: collector))
                } else {
                    units += regions.map { Unit(target: target, client: accountClient, region: $0, collector: collector) }
                }
            }
        }

        let scope = ScanScope(
            accounts: targets.map(\.account.id),
            regions: Array(Set(regionsByAccount.values.joined())).sorted(),
            services: collectors.map(\.service), source: source)
        try await abandonStaleScans()
        let scan = try await store.startScan(scope: scope, at: now())
        logger.info("scan started", metadata: ["scan": "\(scan.id)", "units": "\(units.count)", "accounts": "\(targets.count)"])
        do {
            return try await execute(scan: scan, units: units, setupErrors: setupErrors, configuration: configuration, progress: progress)
        } catch {
            let reason = error is CancellationError ? "interrupted before every unit was collected" : "\(error)"
            // The scan's own task is cancelled; the bookkeeping runs outside it so it is not cancelled too.
            let store = self.store
            let finishedAt = now()
            await Task.detached { try? await store.abandonScan(scan.id, reason: reason, at: finishedAt) }.value
            logger.warning("scan abandoned", metadata: ["scan": "\(scan.id)", "reason": "\(reason)"])
            throw error
        }
    }

    private func execute(
        scan: Scan, units: [Unit], setupErrors: [ScanUnitError], configuration: ScanConfiguration,
        progress: @escaping @Sendable (ScanProgress) -> Void
    ) async throws -> Scan {
        var state = ScanProgress(
            unitsTotal: units.count + setupErrors.count, unitsDone: setupErrors.count, unitsFailed: setupErrors.count,
            resourcesFound: 0, throttledRetries: 0)
        var succeeded: [ScanUnit] = []
        var errors = setupErrors
        progress(state)
        let observedAt = now()
        try await withThrowingTaskGroup(of: (ScanUnit, Result<CollectorOutput, any Error>).self) { group in
            var next = 0
            func launch() {
                let unit = units[next]
                next += 1
                let context = CollectorContext(
                    client: unit.client, account: unit.target.account, region: unit.region, observedAt: observedAt,
                    metricWindow: configuration.metricWindow, detailConcurrency: configuration.detailConcurrency)
                group.addTask {
                    do {
                        return (unit.scanUnit, .success(try await unit.collector.collect(context)))
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        return (unit.scanUnit, .failure(error))
                    }
                }
            }
            while next < min(units.count, max(1, configuration.concurrency)) { launch() }
            while let (unit, result) = try await group.next() {
                try Task.checkCancellation()
                switch result {
                case .success(let output):
                    try await store.stage(CollectedResources(unit: unit, resources: output.resources), scanID: scan.id)
                    if !output.metrics.isEmpty { try await store.record(output.metrics) }
                    succeeded.append(unit)
                    state.resourcesFound += output.resources.count
                case .failure(let error):
                    let failure = Self.unitError(unit, error)
                    errors.append(failure)
                    state.unitsFailed += 1
                    state.lastError = failure
                    logger.warning(
                        "unit failed", metadata: ["unit": "\(unit)", "code": "\(failure.code)", "message": "\(failure.message)"])
                }
                state.unitsDone += 1
                state.lastUnit = unit
                state.throttledRetries = await client.budget.throttledRetries
                progress(state)
                if next < units.count { launch() }
            }
        }
        let completed = try await store.completeScan(
            scan.id,
            ScanCompletion(
                succeededUnits: succeeded, errors: errors.sorted { $0.unit.description < $1.unit.description },
                throttledRetries: await client.budget.throttledRetries, finishedAt: now()))
        logger.info(
            "scan finished",
            metadata: [
                "scan": "\(completed.id)", "resources": "\(completed.resourceCount)", "failed_units": "\(completed.unitsFailed)",
            ])
        return completed
    }

    /// Scans left `running` by a process that was killed outright are marked incomplete.
    private func abandonStaleScans() async throws {
        for stale in try await store.scans(limit: 50) where stale.status == .running {
            try await store.abandonScan(stale.id, reason: "the scanning process ended before the scan finished", at: now())
        }
    }

    private func resolveAccounts(_ selection: AccountSelection, listed: [AccountTarget]?, caller: String) async throws
        -> ([AccountTarget], String)
    {
        switch selection {
        case .file(let path, let role):
            return ((listed ?? []).map { target in
                var target = target
                // The caller's own account needs no role unless the file insists on one explicitly.
                if target.account.id == caller, target.roleARN?.hasSuffix("/\(role)") == true { target.roleARN = nil }
                return target
            }, "accounts file \(path)")
        case .organization(let role):
            if let accounts = try await OrganizationDiscovery.accounts(client, callerAccount: caller, role: role) {
                return (accounts.sorted { $0.account.id < $1.account.id }, "organization (role \(role))")
            }
            return ([AccountTarget(account: Account(id: caller, name: caller))], "caller account (no organization)")
        case .caller:
            return ([AccountTarget(account: Account(id: caller, name: caller))], "caller account")
        }
    }

    private func clientFor(_ target: AccountTarget) -> AWSClient {
        guard let role = target.roleARN else { return client }
        return client.with(
            credentials: AssumeRoleProvider(roleARN: role, sessionName: "canopy-scan", externalID: target.externalID, client: client))
    }

    static func unitError(_ unit: ScanUnit, _ error: any Error) -> ScanUnitError {
        switch error {
        case let error as AWSServiceError:
            return ScanUnitError(unit: unit, code: error.code, message: "\(error.operation): \(error.message)")
        case let error as TransportError:
            if case .timeout = error { return ScanUnitError(unit: unit, code: "Timeout", message: "\(error)") }
            return ScanUnitError(unit: unit, code: "ConnectionFailed", message: "\(error)")
        case let error as CredentialError:
            return ScanUnitError(unit: unit, code: "CredentialsFailed", message: "\(error)")
        default:
            return ScanUnitError(unit: unit, code: "Error", message: "\(error)")
        }
    }
}

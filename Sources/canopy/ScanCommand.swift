import ArgumentParser
import CanopyAWS
import CanopyCompliance
import CanopyInventory
import CanopyModel
import CanopyRemediation
import CanopyStore
import Foundation
import Logging

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Inventory AWS accounts and regions, or with --host local this Linux host, into the database.",
        discussion: """
            By default Canopy scans the caller's AWS Organization, assuming --role in each member account.
            With --accounts it scans the accounts of a c7n-org style accounts.yml instead.
            Read-only: Canopy needs the SecurityAudit and ViewOnlyAccess managed policies.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "AWS profile from ~/.aws/credentials or ~/.aws/config.") var profile: String?
    @Option(help: "Role to assume in member accounts.") var role = "OrganizationAccountAccessRole"
    @Option(name: .customLong("accounts"), help: "accounts.yml (c7n-org format) listing the accounts to scan.")
    var accountsFile: String?
    @Flag(help: "Scan only the account the credentials belong to.") var callerOnly = false
    @Option(help: "Comma-separated regions, or 'all' for every enabled region (default: AWS_REGION or us-east-1).")
    var regions: String?
    @Option(help: "Comma-separated services or resource types to collect (default: all).") var services: String?
    @Option(help: "Endpoint URL for every AWS service (e.g. a moto server); overrides AWS_ENDPOINT_URL.")
    var endpoint: String?
    @Option(help: "Collector units run at once.") var concurrency = 16
    @Option(help: "Seconds before one AWS call times out.") var timeout = 30
    @Option(help: "Retries a whole scan may spend on throttling and transient errors.") var retryBudget = 2_000
    @Flag(help: "Print one structured line per unit instead of a progress bar.") var plain = false
    @OptionGroup var compliance: ComplianceOptions
    @Flag(help: "Do not evaluate the packs after collecting.") var noEvaluate = false
    @OptionGroup var hostOptions: HostScanOptions

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second") }
        if let endpoint, URL(string: endpoint)?.scheme == nil {
            throw ValidationError("--endpoint '\(endpoint)' is not a URL (e.g. http://127.0.0.1:5055)")
        }
        if accountsFile != nil && callerOnly { throw ValidationError("--accounts and --caller-only exclude each other") }
        if hostOptions.host != nil, accountsFile != nil || callerOnly || regions != nil || services != nil || endpoint != nil || profile != nil {
            throw ValidationError("--host local inventories this machine; --accounts, --caller-only, --regions, --services, --endpoint and --profile are for AWS scans")
        }
    }

    func run() async throws {
        if hostOptions.host != nil { return try await scanHost(hostOptions) }
        let environment = ProcessInfo.processInfo.environment
        // Packs and frameworks are read before any AWS call, so a broken pack costs no scan.
        var engine = noEvaluate ? nil : try compliance.engine()
        let store = try database.open()
        var box: SecretBox?
        if engine != nil, try await !store.webhooks().isEmpty { box = try database.secretBox() }
        try await AsyncHTTPClientTransport.with(maximumConnectionsPerHost: max(32, concurrency * 4)) { transport in
            if let box { engine?.notifier = WebhookDispatcher(store: store, box: box, transport: transport) }
            try await scan(store: store, transport: transport, environment: environment, engine: engine)
        }
    }

    private func scan(
        store: SQLiteStore, transport: AsyncHTTPClientTransport, environment: [String: String], engine: ComplianceEngine?
    ) async throws {
        let endpoints = EndpointResolver.fromEnvironment(environment, explicit: endpoint.flatMap(URL.init(string:)))
        var logger = Logger(label: "canopy")
        logger.logLevel = environment["CANOPY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        let (client, chain) = try await CallerClient.resolve(
            transport: transport, environment: environment, profile: profile, endpoint: endpoint,
            budget: RetryBudget(retries: retryBudget), timeout: .seconds(timeout), logger: logger)
        let regionList = (regions ?? chain.region(profile: profile) ?? "us-east-1")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let selection: AccountSelection =
            if let accountsFile { .file(path: accountsFile, defaultRole: role) } else if callerOnly { .caller } else {
                .organization(role: role)
            }
        let configuration = ScanConfiguration(
            accounts: selection, regions: regionList,
            services: services?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? [],
            concurrency: concurrency)
        let scanner = InventoryScanner(client: client, store: store, logger: logger)
        let reporter = ProgressReporter(live: !plain && isatty(STDERR_FILENO) == 1)
        let started = Date()

        let task = Task { try await scanner.run(configuration) { reporter.update($0) } }
        let signals = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        let scan: Scan
        do {
            scan = try await task.value
        } catch is CancellationError {
            reporter.finish()
            printErr("scan interrupted: nothing was merged; the previous complete inventory is unchanged.")
            throw ExitCode(CanopyExit.runtime)
        } catch {
            reporter.finish()
            throw ScanFailure(error, endpoint: endpoints.globalOverride)
        }
        reporter.finish()
        try await printSummary(scan, store: store, seconds: Date().timeIntervalSince(started))
        if let engine, scan.status == .complete {
            let evaluation = try await engine.evaluate(scan: scan, store: store)
            printOut("\n" + ComplianceText.evaluationLine(evaluation))
            printOut(try await ComplianceText.summary(engine: engine, store: store))
        }
    }

    private func printSummary(_ scan: Scan, store: SQLiteStore, seconds: Double) async throws {
        let counts = try await store.countsByType()
        let changes = try await store.changes(scanID: scan.id)
        let byKind = Dictionary(grouping: changes, by: \.kind).mapValues(\.count)
        printOut("scan \(scan.id) \(scan.status.rawValue) in \(String(format: "%.1f", seconds)) s: \(scan.resourceCount) resources in \(scan.scope.accounts.count) accounts × \(scan.scope.regions.count) regions (\(scan.scope.source))")
        printOut("  units: \(scan.unitsTotal - scan.unitsFailed) of \(scan.unitsTotal) collected, throttled retries: \(scan.throttledRetries)")
        printOut("  changes since the previous scan: \(byKind[.added] ?? 0) added, \(byKind[.removed] ?? 0) removed, \(byKind[.modified] ?? 0) changed")
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) {
            printOut("  \(type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)")
        }
        if !scan.errors.isEmpty {
            printOut("  missed (these units were not collected; their previous resources are kept):")
            for error in scan.errors {
                printOut("    \(error.unit)  \(error.code)  \(error.message.prefix(160))")
            }
        }
    }
}

/// Turns the first error of a scan into a message that says what to fix.
struct ScanFailure: Error, CustomStringConvertible {
    var description: String

    init(_ error: any Error, endpoint: URL?) {
        switch error {
        case let error as TransportError:
            description = "\(error). Check --endpoint / AWS_ENDPOINT_URL" + (endpoint.map { " (now \($0.absoluteString))" } ?? "") + " and the network."
        case let error as AWSServiceError
        where ["InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "ExpiredToken", "InvalidAccessKeyId", "AuthFailure"].contains(error.code):
            description = "the AWS credentials were rejected (\(error.code)): \(error.message). Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile."
        default:
            description = "\(error)"
        }
    }
}

/// A live progress bar on a terminal; one structured line per unit otherwise.
final class ProgressReporter: @unchecked Sendable {
    private let live: Bool
    private let lock = NSLock()
    private var drewBar = false

    init(live: Bool) { self.live = live }

    func update(_ progress: ScanProgress) {
        lock.lock()
        defer { lock.unlock() }
        if live {
            let width = 30
            let filled = progress.unitsTotal == 0 ? width : width * progress.unitsDone / progress.unitsTotal
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(bar) \(progress.unitsDone)/\(progress.unitsTotal) units  \(progress.resourcesFound) resources  \(progress.unitsFailed) errors  \(progress.throttledRetries) throttled retries"
            FileHandle.standardError.write(Data(line.utf8))
            drewBar = true
        } else if let unit = progress.lastUnit {
            let failed = progress.lastError?.unit == unit
            var line = "unit=\(unit) status=\(failed ? "failed" : "ok") done=\(progress.unitsDone)/\(progress.unitsTotal) resources=\(progress.resourcesFound) throttled=\(progress.throttledRetries)"
            if failed, let error = progress.lastError { line += " code=\(error.code)" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drewBar { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

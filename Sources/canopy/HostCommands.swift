import ArgumentParser
import CanopyAWS
import CanopyCompliance
import CanopyHost
import CanopyModel
import CanopyPolicy
import CanopyServer
import CanopyStore
import Foundation

/// `KEY=VALUE` tags from repeated `--tag` options.
func parseTags(_ values: [String]) throws -> [String: String] {
    do { return try HostTags.parse(values) } catch let problem as HostInventoryProblem { throw ValidationError("--tag: \(problem.message)") }
}

/// Options of `canopy scan --host local`.
struct HostScanOptions: ParsableArguments {
    @Option(help: "Inventory a Linux host instead of AWS: 'local' is the machine Canopy runs on.") var host: String?
    @Option(help: "With --host: the site (data centre) the host is in; its account in the inventory.") var site = "onprem"
    @Option(help: "With --host: a KEY=VALUE tag (Owner, App, Env…); repeatable.") var tag: [String] = []
    @Option(help: .hidden) var hostRoot: String?
}

extension ScanCommand {
    /// `canopy scan --host local`: collect, store as the host's own small scan, evaluate.
    func scanHost(_ options: HostScanOptions) async throws {
        guard options.host == "local" else { throw ValidationError("--host takes 'local'; remote hosts run `canopy agent` and upload") }
        guard HostPlacement.isValidSite(options.site) else { throw ValidationError("--site '\(options.site)' must be 1-64 letters, digits, '-', '_' or '.'") }
        let engine = noEvaluate ? nil : try compliance.engine()
        let store = try database.open()
        let collector = HostCollector(root: URL(fileURLWithPath: options.hostRoot ?? "/"))
        let started = Date()
        let inventory = collector.collect(at: started)
        let result = try await HostIntake(store: store).record(
            inventory, placement: HostPlacement(site: options.site, tags: try parseTags(options.tag)), source: "scan --host local", now: started)
        printOut(HostText.summary(inventory, result: result))
        if let engine {
            let evaluation = try await engine.evaluate(scan: result.scan, store: store)
            printOut("\n" + ComplianceText.evaluationLine(evaluation))
            let findings = try await store.findings(FindingQuery(resourceUID: result.resource.uid))
                .filter { $0.status != .resolved }
            printOut("host checks: \(findings.count) open finding\(findings.count == 1 ? "" : "s") on \(inventory.hostname)")
            for finding in findings.sorted(by: { $0.severityID > $1.severityID }) {
                printOut("  \(Severity(ocsfID: finding.severityID)?.rawValue ?? "-")  \(finding.checkID)  \(finding.title)")
            }
        }
    }
}

enum HostText {
    /// A decoding error as the JSON path of the field and what is wrong with it.
    static func describe(_ error: DecodingError) -> String {
        let path = CanopyJSON.path
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(context.codingPath.isEmpty ? "JSON" : path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func summary(_ inventory: HostInventory, result: HostIntake.Result) -> String {
        var lines = [
            "host \(inventory.hostname) (\(inventory.hostID)) stored as \(result.resource.uid) in scan \(result.scan.id): "
                + (result.change.map { $0.rawValue } ?? "unchanged since the previous inventory"),
            "  os: \(inventory.os.prettyName ?? inventory.os.name)  kernel: \(inventory.kernel.release)",
            "  packages: \(inventory.packages.count) (\(inventory.packageManagers.joined(separator: ", ")))  pending updates: "
                + (inventory.pendingUpdates.map { "\($0.count), \($0.filter(\.security).count) security" } ?? "unknown"),
            "  listening: \(inventory.listeningPorts.count) sockets, world-listening: "
                + Set(inventory.listeningPorts.filter(\.isWorldListening).map(\.service)).sorted().joined(separator: " "),
            "  users: \(inventory.users.count) (\(inventory.users.filter(\.canLogIn).count) can log in)  sudo rules: \(inventory.sudoRules.count)  sshd: "
                + (inventory.sshd == nil ? "not installed" : "read"),
            "  time sync: \(inventory.timeSync.service ?? "none")",
        ]
        if !inventory.problems.isEmpty {
            lines.append("  could not read (the rest was stored):")
            for problem in inventory.problems { lines.append("    \(problem.source): \(problem.message)") }
        }
        return lines.joined(separator: "\n")
    }
}

/// `canopy hosts`: on-prem hosts, their packages, and agent enrollments.
struct HostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts", abstract: "On-prem Linux hosts and agent enrollments.",
        subcommands: [List.self, Packages.self, Import.self, Enroll.self, Enrollments.self, Revoke.self], defaultSubcommand: List.self)

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import", abstract: "Store inventories written by `canopy agent --output` (hosts with no route to the server).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var compliance: ComplianceOptions
        @Argument(help: "Inventory JSON files.") var files: [String]
        @Option(help: "The site (data centre) the hosts are in.") var site: String
        @Option(help: "A KEY=VALUE tag (Owner, App, Env…); repeatable.") var tag: [String] = []

        func run() async throws {
            let engine = try compliance.engine()
            let store = try database.open()
            let tags = try parseTags(tag)
            for file in files {
                let inventory: HostInventory
                do {
                    inventory = try CanopyJSON.decoder().decode(HostInventory.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
                } catch let error as DecodingError {
                    throw ValidationError("\(file): not a host inventory: \(HostText.describe(error))")
                }
                let result: HostIntake.Result
                do {
                    result = try await HostIntake(store: store).record(inventory, placement: HostPlacement(site: site, tags: tags), source: "import \(file)")
                } catch let problem as HostInventoryProblem {
                    throw ValidationError("\(file): \(problem)")
                }
                try await engine.evaluate(scan: result.scan, store: store)
                printOut(HostText.summary(inventory, result: result))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The hosts in the inventory.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            let hosts = try await store.resources(ResourceQuery(types: [onpremHostType]))
            let table = Table(
                columns: ["uid", "hostname", "site", "os", "packages", "pending", "security", "observed"],
                rows: hosts.map { host in
                    let p = host.properties
                    return [
                        host.uid, host.name, host.account, p.value(atPath: "OS.PrettyName")?.stringValue ?? "",
                        p["PackageCount"].map { "\($0.intValue ?? 0)" } ?? "", p["PendingUpdateCount"].map { "\($0.intValue ?? 0)" } ?? "unknown",
                        p["PendingSecurityUpdateCount"].map { "\($0.intValue ?? 0)" } ?? "unknown", host.observedAt.shortTimestamp,
                    ]
                })
            printOut(try table.render(format) { try JSONOutput.encode(hosts) })
        }
    }

    struct Packages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "packages", abstract: "A host's installed packages (its child records).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The host's resource uid or hostname.") var host: String
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            let hosts = try await store.resources(ResourceQuery(types: [onpremHostType]))
            guard let match = hosts.first(where: { $0.uid == host || $0.name == host }) else {
                throw ValidationError("no host '\(host)' in the inventory (see `canopy hosts list`)")
            }
            let packages = try await store.hostPackages(hostUID: match.uid)
            let table = Table(columns: ["name", "version", "architecture", "manager"], rows: packages.map { [$0.name, $0.version, $0.architecture, $0.manager] })
            printOut(try table.render(format) { try JSONOutput.encode(packages) })
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enroll", abstract: "Issue an agent token for one host; printed once, stored hashed, bound to the host on first upload.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Option(help: "What the token is for (usually the hostname).") var name: String
        @Option(help: "The site (data centre) the host is in.") var site: String
        @Option(help: "A KEY=VALUE tag every upload carries (Owner, App, Env…); repeatable.") var tag: [String] = []
        @Option(help: "Days until the token expires.") var days = 365

        func run() async throws {
            let store = try database.open()
            let (enrollment, secret) = try await Administration.enrollHost(
                name: name, site: site, tags: try parseTags(tag), days: days, actor: actor.resolved, store: store)
            printOut("host enrollment \(enrollment.id) \(enrollment.name) at \(enrollment.site), expires \(Timestamps.iso8601(enrollment.expiresAt)); token shown once:\n\(secret)")
        }
    }

    struct Enrollments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "enrollments", abstract: "Agent enrollments (never their tokens).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            let enrollments = try await store.hostEnrollments()
            let table = Table(
                columns: ["id", "name", "site", "host id", "last upload", "expires", "state"],
                rows: enrollments.map {
                    [
                        "\($0.id)", $0.name, $0.site, $0.hostID ?? "(not yet bound)", $0.lastUploadAt?.shortTimestamp ?? "-",
                        $0.expiresAt.shortTimestamp, $0.state(at: Date()).rawValue,
                    ]
                })
            printOut(try table.render(format) { try JSONOutput.encode(enrollments) })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an agent enrollment; the host can be enrolled again.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "The enrollment id.") var id: Int64

        func run() async throws {
            try await database.open().revokeHostEnrollment(id: id, actor: actor.resolved)
            printOut("host enrollment \(id) revoked")
        }
    }
}

/// `canopy agent`: runs on a host, uploads its inventory every interval.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Inventory this host and upload it to a Canopy server, once or every --interval.",
        discussion: """
            The token comes from `canopy hosts enroll` (or CANOPY_AGENT_TOKEN). It is sent only over HTTPS, or over plain HTTP
            to the loopback address. Run as root so /etc/shadow, sudoers and every process's sockets can be read.
            """)
    @Option(help: "The Canopy server's base URL (https://canopy.example.com).") var server: String?
    @Option(help: "Write the inventory to this JSON file instead of uploading (for hosts with no route to the server: carry the file over and `canopy hosts import` it).")
    var output: String?
    @Option(help: "The host's enrollment token (prefer --token-file or CANOPY_AGENT_TOKEN: arguments show in ps).") var token: String?
    @Option(help: "A file holding the enrollment token (e.g. /etc/canopy/agent.token, mode 0600).") var tokenFile: String?
    @Option(help: "Time between uploads: 30m, 1h, 6h… (ignored with --once).") var interval = "1h"
    @Flag(help: "Upload once and exit.") var once = false
    @Option(help: "A KEY=VALUE tag to add (the enrollment's tags win); repeatable.") var tag: [String] = []
    @Option(help: .hidden) var hostRoot: String?

    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        guard let unit = text.last, let factor = units[unit], let count = Int(text.dropLast()), count > 0 else { return nil }
        return count * factor
    }

    func validate() throws {
        if output != nil {
            guard server == nil else { throw ValidationError("--output and --server exclude each other") }
            return
        }
        guard let server else { throw ValidationError("give --server URL to upload, or --output FILE to write the inventory") }
        guard let url = URL(string: server), url.host != nil else { throw ValidationError("--server '\(server)' is not a URL") }
        guard HostAgent.isSafe(url) else {
            throw ValidationError("--server must be https:// (plain http only to 127.0.0.1): the token must not cross the network in clear")
        }
        guard let seconds = Self.seconds(interval), seconds >= 60 else { throw ValidationError("--interval must be like 30m, 1h or 1d, at least 1m") }
        _ = seconds
    }

    func run() async throws {
        let collector = HostCollector(root: URL(fileURLWithPath: hostRoot ?? "/"))
        if let output {
            let inventory = collector.collect()
            try CanopyJSON.encoder(pretty: true).encode(inventory).write(to: URL(fileURLWithPath: output))
            printOut("wrote \(inventory.hostname)'s inventory to \(output): \(inventory.packages.count) packages, \(inventory.problems.count) parts unreadable")
            return
        }
        guard let server else { throw ValidationError("give --server URL") }
        let fromFile = try tokenFile.map { try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let secret = fromFile ?? token ?? ProcessInfo.processInfo.environment["CANOPY_AGENT_TOKEN"], !secret.isEmpty else {
            throw ValidationError("give --token-file, --token or CANOPY_AGENT_TOKEN (from `canopy hosts enroll`)")
        }
        let tags = try parseTags(tag)
        let wait = Self.seconds(interval) ?? 3_600
        try await AsyncHTTPClientTransport.with { transport in
            let agent = HostAgent(server: URL(string: server)!, token: secret, collector: collector, tags: tags, transport: transport)
            while true {
                do {
                    let receipt = try await agent.uploadOnce()
                    printOut("\(Timestamps.iso8601(Date())) uploaded \(receipt.host): \(receipt.resource), scan \(receipt.scan), \(receipt.change ?? "unchanged")"
                        + (receipt.problems > 0 ? ", \(receipt.problems) parts unreadable" : ""))
                } catch {
                    printErr("\(Timestamps.iso8601(Date())) upload failed: \(error)")
                    if once { throw ExitCode(CanopyExit.runtime) }
                }
                if once { return }
                try await Task.sleep(for: .seconds(wait))
            }
        }
    }
}

/// `canopy patch`: compliance against the patch baseline, and the baseline itself.
struct PatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch", abstract: "Patch compliance of on-prem hosts against the patch baseline.",
        subcommands: [Compliance.self, Baseline.self], defaultSubcommand: Compliance.self)

    struct Compliance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "compliance", abstract: "Per host or per business unit: missing approved updates by age and severity.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "host or bu.") var by: PatchView = .host
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        enum PatchView: String, ExpressibleByArgument, CaseIterable { case host, bu }

        func run() async throws {
            let store = try database.open()
            let report = try await PatchReports.evaluate(store: store, accounts: nil, now: Date())
            switch by {
            case .host:
                let table = Table(
                    columns: ["host", "site", "bu", "env", "state", "missing", "security", "oldest days", "highest", "pending (not yet due)"],
                    rows: report.hosts.map {
                        [
                            $0.hostname, $0.site, $0.businessUnit ?? "-", $0.environment ?? "-", $0.state.rawValue, "\($0.missing.count)", "\($0.missingSecurity)",
                            $0.oldestMissingDays.map(String.init) ?? "-", $0.highestSeverity ?? "-", "\($0.pending.count)",
                        ]
                    })
                printOut(try table.render(format) { try JSONOutput.encode(report) })
            case .bu:
                let table = Table(
                    columns: ["business unit", "hosts", "compliant", "non-compliant", "unknown", "compliance %", "missing security", "0-7 d", "8-30 d", "31-90 d", "91+ d"],
                    rows: report.businessUnits.map { unit in
                        [
                            unit.businessUnit, "\(unit.hosts)", "\(unit.compliant)", "\(unit.nonCompliant)", "\(unit.unknown)",
                            unit.compliancePercent.map { String(format: "%.1f", $0) } ?? "-", "\(unit.missingSecurity)",
                        ] + PatchCompliance.ageBands.map { "\(unit.securityByAge[$0] ?? 0)" }
                    })
                printOut(try table.render(format) { try JSONOutput.encode(report.businessUnits) })
            }
        }
    }

    struct Baseline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "baseline", abstract: "Show the patch baseline in force, or apply one from YAML.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "'show', or 'apply' with a FILE.") var action: String = "show"
        @Argument(help: "The baseline YAML for 'apply'.") var file: String?

        func run() async throws {
            let store = try database.open()
            switch action {
            case "show":
                let version = try await store.patchBaseline()
                printOut(version.map { "# applied \(Timestamps.iso8601($0.appliedAt)) by \($0.actor), sha256 \($0.sha256)\n\($0.source)" }
                    ?? "# no baseline applied: Canopy's standard one is in force\n" + PatchReports.describe(PatchBaseline.standard))
            case "apply":
                guard let file else { throw ValidationError("give the baseline YAML: canopy patch baseline apply FILE") }
                let baseline: PatchBaseline
                do { baseline = try PatchBaselineFile.load(path: file) } catch let error as PolicyError { throw ValidationError("\(error)") }
                let text = try String(contentsOfFile: file, encoding: .utf8)
                if let version = try await store.applyPatchBaseline(baseline, source: text, actor: actor.resolved) {
                    printOut("patch baseline applied (\(baseline.rules.count) rules, sha256 \(version.sha256))")
                } else {
                    printOut("patch baseline unchanged: the same baseline is in force")
                }
            default:
                throw ValidationError("'\(action)' is not show or apply")
            }
        }
    }
}

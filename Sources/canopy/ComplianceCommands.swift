import ArgumentParser
import CanopyAWS
import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyRemediation
import CanopyStore
import Foundation

/// Options for commands that use the packs and frameworks.
struct ComplianceOptions: ParsableArguments {
    @Option(help: "A folder of pack files that replace (same name) or add to the built-in packs.") var packs: String?
    @Option(help: "A folder of framework files that replace (same name) or add to the built-in frameworks.") var frameworks: String?

    func engine() throws -> ComplianceEngine {
        do { return try ComplianceEngine.load(packsDirectory: packs, frameworksDirectory: frameworks) } catch let error as PolicyError {
            throw ValidationError("\(error)")
        }
    }

    /// Runs `body` with the engine telling the configured webhooks (if any) what it opens and
    /// decides; the HTTP client lives only as long as the command.
    func withEngine<T>(store: SQLiteStore, database: DatabaseOptions, _ body: (ComplianceEngine) async throws -> T) async throws -> T {
        var engine = try engine()
        guard try await !store.webhooks().isEmpty else { return try await body(engine) }
        let box = try database.secretBox()
        return try await AsyncHTTPClientTransport.with { transport in
            engine.notifier = WebhookDispatcher(store: store, box: box, transport: transport)
            return try await body(engine)
        }
    }
}

/// Who is acting, for the audit log: `--actor`, `CANOPY_ACTOR`, or the login name.
struct ActorOption: ParsableArguments {
    @Option(help: "Your name for the audit log (default: CANOPY_ACTOR or the login name).") var actor: String?

    var resolved: String {
        let environment = ProcessInfo.processInfo.environment
        return actor ?? environment["CANOPY_ACTOR"] ?? environment["USER"] ?? "unknown"
    }
}

struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate the built-in packs over the last complete scan and update the findings.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var compliance: ComplianceOptions

    func run() async throws {
        let store = try database.open()
        try await compliance.withEngine(store: store, database: database) { engine in
            let evaluation = try await engine.evaluateLatest(store: store)
            printOut(ComplianceText.evaluationLine(evaluation))
            printOut(try await ComplianceText.summary(engine: engine, store: store))
        }
    }
}

enum ComplianceText {
    static func evaluationLine(_ e: Evaluation) -> String {
        "evaluation \(e.id) of scan \(e.scanID.map(String.init) ?? "-"): \(e.checks) checks; findings opened \(e.opened), resolved \(e.resolved), reopened \(e.reopened)"
    }

    static func percent(_ rate: Double?) -> String {
        rate.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
    }

    /// One line per framework: requirement statuses and pass rates, with the trend.
    static func summary(engine: ComplianceEngine, store: any CanopyStore, level: [String: String] = [:]) async throws -> String {
        var rows: [[String]] = []
        for framework in engine.frameworks {
            let a = try await engine.assess(framework: framework.id, level: level[framework.id], store: store)
            let c = a.summary.counts
            let trend = a.trend.map { percent($0.passRate) }.joined(separator: " → ")
            rows.append([
                framework.id, String(a.requirements.count), String(c["passed"] ?? 0), String(c["failed"] ?? 0), String(c["waived"] ?? 0),
                String((c["manual"] ?? 0) + (c["attested"] ?? 0) + (c["attested-failed"] ?? 0)), percent(a.summary.passRate),
                percent(a.summary.resourcePassRate), trend,
            ])
        }
        return try Table(
            columns: ["framework", "requirements", "passed", "failed", "waived", "manual", "pass rate", "resource pass rate", "trend"],
            rows: rows
        ).render(.table) { Data() }
    }
}

struct ComplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compliance",
        abstract: "Pass rates per framework (with trend), or per requirement of one framework, or cut by account/application/business unit.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var compliance: ComplianceOptions
    @Option(help: "One framework: show its requirements.") var framework: String?
    @Option(help: "For leveled frameworks (Taiwan 普/中/高): keep the requirements of this level.") var level: String?
    @Option(help: "Cut pass rates by account, application or business-unit.") var by: String?
    @Option(help: "table, json or csv.") var format: OutputFormat = .table

    func run() async throws {
        let store = try database.open()
        let engine = try compliance.engine()
        guard try await !store.evaluations(limit: 1).isEmpty else { throw ComplianceError.noEvaluation }
        if let by {
            guard let dimension = ScoreDimension(rawValue: by) else {
                throw ValidationError("--by is one of \(ScoreDimension.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let checks = try framework.map { id -> Set<String> in
                guard let f = engine.framework(id) else { throw ComplianceError.unknownFramework(id, known: engine.frameworks.map(\.id)) }
                return Set(f.requirements.flatMap(\.checks))
            }
            let cuts = try await engine.scores(by: dimension, checks: checks, store: store)
            let names = Dictionary(try await store.accounts().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            func label(_ key: String) -> String {
                guard dimension == .account, let name = names[key] else { return key }
                return "\(name) (\(key))"
            }
            let table = Table(
                columns: [by, "passed", "failed", "waived", "pass rate"],
                rows: cuts.map { [label($0.key), String($0.passed), String($0.failed), String($0.waived), ComplianceText.percent($0.passRate)] })
            printOut(try table.render(format) { try JSONOutput.encode(cuts) })
            return
        }
        guard let framework else {
            printOut(try await ComplianceText.summary(engine: engine, store: store))
            return
        }
        let assessment = try await engine.assess(framework: framework, level: level, store: store)
        let table = Table(
            columns: ["requirement", "status", "mode", "checks", "failing", "title"],
            rows: assessment.requirements.map { r in
                [
                    r.requirement.id, r.status.rawValue, r.requirement.mode.rawValue, r.checks.map(\.id).joined(separator: " "),
                    String(r.checks.reduce(0) { $0 + $1.failed }), r.requirement.title,
                ]
            })
        printOut(try table.render(format) { try JSONOutput.encode(assessment) })
        if format == .table {
            printOut("\npass rate \(ComplianceText.percent(assessment.summary.passRate)) of assessed requirements; resources \(ComplianceText.percent(assessment.summary.resourcePassRate))")
        }
    }
}

struct ExceptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exceptions",
        abstract: "Request, approve, reject, revoke and list waivers of a check for selected resources (all audited).",
        subcommands: [List.self, Request.self, Decide.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List exceptions.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let waivers = try await database.open().waivers()
            let now = Date()
            let table = Table(
                columns: ["id", "check", "selector", "state", "in force", "expires", "requested by", "approved by", "reason"],
                rows: waivers.map {
                    [
                        String($0.id), $0.checkID, $0.selector, $0.state.rawValue, $0.isInForce(at: now) ? "yes" : "no",
                        Timestamps.iso8601($0.expiresAt), $0.requestedBy, $0.approvedBy ?? "", $0.reason,
                    ]
                })
            printOut(try table.render(format) { try JSONOutput.encode(waivers) })
        }
    }

    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "request",
            abstract: "Ask for an exception; with --approve-as it is granted at once (for an approver acting directly).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var compliance: ComplianceOptions
        @OptionGroup var actor: ActorOption
        @Option(help: "The check id (see `canopy policy packs`).") var check: String
        @Option(help: "Which resources: a resource uid, account:<id>, tag:Key=Value, or * for all.") var selector: String
        @Option(help: "Why the risk is accepted.") var reason: String
        @Option(help: "Days until it expires (default 90).") var days: Int = 90
        @Option(help: "Grant it now, as this approver.") var approveAs: String?

        func run() async throws {
            let store = try database.open()
            let waiver = try await compliance.withEngine(store: store, database: database) { engine in
                try await ExceptionWorkflow.request(
                    check: check, selector: selector, reason: reason, days: days, requester: actor.resolved, approveAs: approveAs, engine: engine,
                    store: store)
            }
            printOut("exception \(waiver.id) \(waiver.state.rawValue) for \(check) on \(selector) until \(Timestamps.iso8601(waiver.expiresAt))")
            if waiver.state == .requested { printOut("an approver decides it with `canopy exceptions decide \(waiver.id) approve`") }
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decide", abstract: "Approve, reject or revoke an exception.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "The exception id.") var id: Int64
        @OptionGroup var compliance: ComplianceOptions
        @Argument(help: "approve, reject or revoke.") var decision: String

        func run() async throws {
            guard let decision = ExceptionWorkflow.Decision(rawValue: decision) else { throw ValidationError("decision is approve, reject or revoke") }
            let store = try database.open()
            let saved = try await compliance.withEngine(store: store, database: database) { engine in
                try await ExceptionWorkflow.decide(id: id, decision, actor: actor.resolved, engine: engine, store: store)
            }
            printOut("exception \(saved.id) \(saved.state.rawValue)")
        }
    }
}

struct AttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Record that a manual requirement is met (or not), with an evidence file whose SHA-256 is kept (audited).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var compliance: ComplianceOptions
    @OptionGroup var actor: ActorOption
    @Option(help: "Framework id.") var framework: String
    @Option(help: "Requirement id.") var requirement: String
    @Option(help: "What was checked and found.") var statement: String
    @Option(help: "An evidence file (its name and SHA-256 go into the record and the reports).") var evidence: String?
    @Flag(help: "Record that the requirement is NOT met.") var notMet = false
    @Option(help: "Days the attestation stays valid (default 365).") var days: Int = 365

    func run() async throws {
        let engine = try compliance.engine()
        guard let f = engine.framework(framework) else { throw ComplianceError.unknownFramework(framework, known: engine.frameworks.map(\.id)) }
        guard let r = f.requirements.first(where: { $0.id == requirement }) else {
            throw ValidationError("framework \(framework) has no requirement '\(requirement)'")
        }
        guard r.mode == .manual else { throw ValidationError("requirement '\(requirement)' is \(r.mode.rawValue); only manual requirements take attestations") }
        var hash: String?
        if let evidence {
            guard let data = FileManager.default.contents(atPath: evidence) else { throw ValidationError("cannot read evidence file \(evidence)") }
            hash = ContentHash.sha256(data)
        }
        let now = Date()
        let saved = try await database.open().save(
            Attestation(
                id: 0, frameworkID: framework, requirementID: requirement, satisfied: !notMet, statement: statement,
                evidenceName: evidence.map { ($0 as NSString).lastPathComponent }, evidenceSHA256: hash, attestedBy: actor.resolved,
                attestedAt: now, expiresAt: now.addingTimeInterval(Double(days) * 86_400)),
            actor: actor.resolved)
        printOut("attestation \(saved.id): \(framework) \(requirement) \(saved.satisfied ? "met" : "not met")" + (hash.map { ", evidence sha256 \($0)" } ?? ""))
    }
}

struct AuditLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-log", abstract: "Show the audit log; --verify checks its hash chain.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Check that no entry was changed or removed.") var verify = false
    @Option(help: "How many entries.") var limit = 50
    @Option(help: "table, json or csv.") var format: OutputFormat = .table

    func run() async throws {
        let store = try database.open()
        if verify {
            if let broken = try await store.firstBrokenAuditEntry() {
                printErr("audit log chain broken at entry \(broken)")
                throw ExitCode(CanopyExit.runtime)
            }
            printOut("audit log chain intact")
            return
        }
        let entries = try await store.auditLog(limit: limit)
        let table = Table(
            columns: ["id", "at", "actor", "action", "target", "details"],
            rows: entries.map { [String($0.id), Timestamps.iso8601($0.at), $0.actor, $0.action, $0.target, $0.details.canonicalJSON()] })
        printOut(try table.render(format) { try JSONOutput.encode(entries) })
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports.", subcommands: [Audit.self])

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "An audit-ready report of one framework: requirement status, checks, evidence, waivers, attestations.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var compliance: ComplianceOptions
        @Option(help: "Framework id (see `canopy compliance`).") var framework: String
        @Option(help: "For leveled frameworks: 普, 中 or 高.") var level: String?
        @Option(help: "html, csv or json.") var format: String = "html"
        @Option(help: "en or zh-TW (HTML labels and titles).") var lang: String = "en"
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            guard let format = AuditReport.Format(rawValue: format) else { throw ValidationError("--format is html, csv or json") }
            guard let language = AuditReport.Language(rawValue: lang) else { throw ValidationError("--lang is en or zh-TW") }
            let store = try database.open()
            guard try await !store.evaluations(limit: 1).isEmpty else { throw ComplianceError.noEvaluation }
            let assessment = try await compliance.engine().assess(framework: framework, level: level, store: store)
            let text = try AuditReport.render(assessment, format: format, language: language)
            if let output {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output))
                let c = assessment.summary.counts
                printOut("wrote \(output): \(assessment.requirements.count) requirements — \(c.map { "\($0.value) \($0.key)" }.sorted().joined(separator: ", "))")
            } else {
                printOut(text)
            }
        }
    }
}

import ArgumentParser
import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyStore
import Foundation

/// `canopy detect`: Sigma rules over the activity lake, and the rules in force.
struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Detections: run the Sigma rules over the lake's history, and manage the rules.",
        subcommands: [Run.self, Rules.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run every rule in force over the lake's events (or those since a time) and record the matches as Detection Findings, one per rule × principal × window.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Option(help: "Only events at or after this time (ISO 8601 or YYYY-MM-DD).") var since: String?
        @Option(help: "Only events matching this lake filter (as `canopy lake query`).") var filter: String = ""
        @Option(help: "Deduplication window in minutes: matches of one rule by one principal within it are one finding.") var windowMinutes: Int = 60
        @Option(help: "table or json.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            var parsed: LakeFilter
            do { parsed = try LakeQuery.parse(filter) } catch let problem as LakeQuery.Problem { throw ValidationError(problem.description) }
            if let since {
                guard Timestamps.parse(since) ?? CostCalendar.date(since) != nil else { throw ValidationError("--since '\(since)' is not a time (ISO 8601 or YYYY-MM-DD)") }
                parsed.clauses.append(.init(field: .eventTime, op: .atLeast, value: since))
            }
            guard windowMinutes > 0 else { throw ValidationError("--window-minutes must be positive") }
            let detector = Detector(rules: try await DetectionRuleSet.load(store: store), window: TimeInterval(windowMinutes * 60))
            let result = try await ActivityDetection.run(store: store, detector: detector, filter: parsed, actor: actor.resolved)
            if format == .json {
                printOut(String(decoding: try JSONOutput.encode(result), as: UTF8.self))
                return
            }
            printOut(
                "\(result.events) events, \(result.rules) rules: \(result.matches) matches; \(result.detections.added) new detections, \(result.detections.updated) updated, \(result.detections.unchanged) unchanged")
        }
    }

    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules", abstract: "The Sigma rules in force: Canopy's built-in ones and those loaded.", subcommands: [List.self, Add.self, Remove.self],
            defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "Every rule in force, with its level and where it came from.")
            @OptionGroup var database: DatabaseOptions
            @Option(help: "table, json or csv.") var format: OutputFormat = .table

            func run() async throws {
                let rules = try await DetectionRuleSet.load(store: try database.open())
                let table = Table(
                    columns: ["id", "level", "title", "techniques", "origin"],
                    rows: rules.map { [$0.id, $0.level, $0.title, $0.techniques.joined(separator: " "), $0.origin] })
                printOut(try table.render(format) { try JSONOutput.encode(table.rows.map { Dictionary(uniqueKeysWithValues: zip(table.columns, $0)) }) })
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add", abstract: "Load Sigma rules (files or directories of .yml) into the store, checked first; all or none. Audited.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var actor: ActorOption
            @Argument(help: "Rule files or directories.") var paths: [String]

            func run() async throws {
                let read: [(rule: SigmaRule, stored: StoredDetectionRule)]
                do { read = try DetectionRuleSet.read(paths) } catch let error as SigmaError { throw ValidationError(error.description) }
                let saved = try await database.open().saveDetectionRules(read.map(\.stored), actor: actor.resolved)
                printOut("\(read.count) rules read: \(saved.added) added, \(saved.replaced) replaced, \(read.count - saved.added - saved.replaced) unchanged")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a loaded rule (built-in rules stay). Audited.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var actor: ActorOption
            @Argument(help: "The rule id.") var id: String

            func run() async throws {
                guard try await database.open().deleteDetectionRule(id: id, actor: actor.resolved) else {
                    throw ValidationError("no loaded rule has id \(id) (built-in rules cannot be removed)")
                }
                printOut("removed \(id)")
            }
        }
    }
}

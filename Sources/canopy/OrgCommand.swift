import ArgumentParser
import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// `canopy org`: business units and applications, kept as a YAML file.
struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Business units and applications: import, export and list them.",
        subcommands: [Import.self, Export.self, List.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Replace the business units and applications with a YAML file's (all or nothing; importing the same file again changes nothing).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var compliance: ComplianceOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "The ownership file (see docs/ownership.md).") var file: String
        @Flag(help: "Do not re-evaluate the latest scan under the new attribution.") var noEvaluate = false

        func run() async throws {
            let ownership: Ownership
            do { ownership = try OwnershipFile.load(path: file) } catch let error as PolicyError { throw ValidationError("\(error)") }
            let store = try database.open()
            guard try await store.replaceOwnership(ownership, actor: actor.resolved) else {
                printOut("unchanged: \(ownership.businessUnits.count) business units, \(ownership.applications.count) applications")
                return
            }
            printOut("imported \(ownership.businessUnits.count) business units and \(ownership.applications.count) applications")
            guard !noEvaluate else { return }
            if let evaluation = try await compliance.withEngine(store: store, database: database, { try await $0.refresh(store: store) }) {
                printOut("re-evaluated scan \(evaluation.scanID.map(String.init) ?? "-") so findings carry the new attribution (evaluation \(evaluation.id))")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export", abstract: "Write the business units and applications as YAML.")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            let text = try OwnershipFile.render(try await database.open().ownership())
            if let output { try text.write(toFile: output, atomically: true, encoding: .utf8) } else { printOut(text) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Business units and applications with what they own in the current inventory.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            let summary = try await OwnershipSummary.build(store: store)
            let table = Table(
                columns: ["kind", "id", "name", "business unit", "accounts", "resources", "tier", "rto/rpo (min)"],
                rows: summary.units.map { unit in
                    ["business-unit", unit.unit.id, unit.unit.name, "", String(unit.accounts.count), String(unit.resources), "", ""]
                }
                    + summary.applications.map { app in
                        [
                            "application", app.application.id, app.application.name, app.application.businessUnit, String(app.accounts.count),
                            String(app.resources), app.application.tier ?? "",
                            [app.application.rtoMinutes, app.application.rpoMinutes].map { $0.map(String.init) ?? "-" }.joined(separator: "/"),
                        ]
                    } + [["unassigned", "", "", "", "", String(summary.unassignedResources), "", ""]])
            printOut(try table.render(format) { try JSONOutput.encode(summary) })
        }
    }
}

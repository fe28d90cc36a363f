import ArgumentParser
import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Evaluate Custodian policies over the stored inventory.",
        discussion: """
            Runs the filters of Cloud Custodian policy files (value filters with and/or/not) against the
            resources of the last scan, without calling AWS. With --output-dir it writes
            DIR/<policy>/resources.json and metadata.json as Custodian does. Actions are not executed.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("policy"), help: "A Custodian policy file (repeatable).") var policyFiles: [String] = []
    @Option(help: "Write Custodian-style output under this directory.") var outputDir: String?
    @Option(help: "table or json.") var format: OutputFormat = .table

    func validate() throws {
        guard !policyFiles.isEmpty else { throw ValidationError("give at least one --policy FILE") }
    }

    func run() async throws {
        var policies: [Policy] = []
        for file in policyFiles {
            do {
                policies += try PolicyLoader.load(path: file)
            } catch let error as PolicyError {
                throw ValidationError("\(error)")
            }
        }
        let store = try database.open()
        let context = try await EvaluationContext.load(from: store)
        let results = PolicyRunner.run(policies, over: context.inventory, context: context)
        if let outputDir {
            try PolicyRunner.writeCustodianOutput(results, to: URL(fileURLWithPath: outputDir))
        }
        let withActions = policies.filter { !$0.actions.isEmpty }.map(\.name)
        if !withActions.isEmpty {
            printErr("note: actions are not executed by this version (policies: \(withActions.joined(separator: ", ")))")
        }
        struct Row: Encodable {
            var policy: String
            var resource: String
            var matched: [String]
            var evaluated: Int
        }
        let rows = results.map {
            Row(policy: $0.policy.name, resource: $0.policy.resource, matched: $0.matched.map(\.uid), evaluated: $0.evaluated)
        }
        let table = Table(
            columns: ["policy", "resource", "matched", "evaluated"],
            rows: rows.map { [$0.policy, $0.resource, String($0.matched.count), String($0.evaluated)] })
        printOut(try table.render(format) { try JSONOutput.encode(rows) })
    }
}

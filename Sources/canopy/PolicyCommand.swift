import ArgumentParser
import CanopyPolicy
import Foundation

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate and test policies; list the built-in packs.",
        subcommands: [Validate.self, TestPolicies.self, ListPacks.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check policy files without running them: YAML, filter types, ops, value types, regexes.")

        @Argument(help: "Custodian policy files.") var files: [String]

        func run() async throws {
            var failed = false
            for file in files {
                do {
                    let policies = try PolicyLoader.load(path: file)
                    printOut("\(file): \(policies.count) polic\(policies.count == 1 ? "y" : "ies") valid")
                } catch let error as PolicyError {
                    printErr("\(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode(CanopyExit.usage) }
        }
    }

    struct TestPolicies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run policy tests (resources in, expected matches out).",
            discussion: """
                DIR holds policy files (*.yml) and test files (*.tests.yml). Without DIR, the built-in
                packs are tested against their shipped tests. See the README for the test format.
                """)

        @Argument(help: "A folder of policies and *.tests.yml files.") var directory: String?

        func run() async throws {
            var policies: [Policy] = []
            var testFiles: [String] = []
            if let directory {
                let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
                for name in names where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
                    let path = (directory as NSString).appendingPathComponent(name)
                    if name.contains(".tests.") { testFiles.append(path) } else { policies += try load(path) }
                }
            } else {
                policies = try Packs.load().flatMap { $0.checks.map(\.policy) }
                testFiles = try PolicyTestRunner.builtInTestFiles().map(\.path)
            }
            var tests: [PolicyTestCase] = []
            for file in testFiles { tests += try loadTests(file) }
            let outcomes = PolicyTestRunner.run(tests, policies: policies)
            let untested = Set(policies.map(\.name)).subtracting(tests.map(\.policyName)).sorted()
            for outcome in outcomes where !outcome.passed {
                printErr("FAIL \(outcome.test.location) \(outcome.test.policyName): \(outcome.problem ?? "")")
            }
            for name in untested { printErr("UNTESTED \(name)") }
            let passed = outcomes.filter(\.passed).count
            printOut("\(passed)/\(outcomes.count) policy tests passed; \(policies.count - untested.count)/\(policies.count) policies tested")
            if passed != outcomes.count || !untested.isEmpty { throw ExitCode(1) }
        }

        func load(_ path: String) throws -> [Policy] {
            do { return try PolicyLoader.load(path: path) } catch let error as PolicyError { throw ValidationError("\(error)") }
        }

        func loadTests(_ path: String) throws -> [PolicyTestCase] {
            do { return try PolicyTestRunner.load(path: path) } catch let error as PolicyError { throw ValidationError("\(error)") }
        }
    }

    struct ListPacks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "packs", abstract: "List the built-in packs and their checks.")

        @Option(help: "A folder whose pack files replace or add to the built-in ones.") var packs: String?
        @Option(help: "table or json.") var format: OutputFormat = .table

        func run() async throws {
            let loaded: [Pack]
            do { loaded = try Packs.load(overrides: packs) } catch let error as PolicyError { throw ValidationError("\(error)") }
            struct Row: Encodable {
                var pack, check, policy, resource, severity, title: String
            }
            let rows = loaded.flatMap { pack in
                pack.checks.map {
                    Row(pack: pack.name, check: $0.id, policy: $0.policy.name, resource: $0.policy.resource, severity: $0.severity.rawValue, title: $0.title)
                }
            }
            let table = Table(
                columns: ["pack", "check", "resource", "severity", "title"],
                rows: rows.map { [$0.pack, $0.check, $0.resource, $0.severity, $0.title] })
            printOut(try table.render(format) { try JSONOutput.encode(rows) })
        }
    }
}

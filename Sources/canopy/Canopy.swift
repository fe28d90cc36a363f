import ArgumentParser
import CanopyStore
import Foundation

/// The `canopy` command: parses flags into configuration and calls the libraries.
struct Canopy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canopy",
        abstract: "Governance for a hybrid cloud: inventory, guardrails, cost, carbon and resilience in one binary.",
        subcommands: [
            DemoCommand.self, ScanCommand.self, ScansCommand.self, ResourcesCommand.self, ResourceCommand.self,
            DiffCommand.self, RunCommand.self, PolicyCommand.self, EvaluateCommand.self, ComplianceCommand.self,
            FindingsCommand.self, ExceptionsCommand.self, AttestCommand.self, ReportCommand.self, AuditLogCommand.self, BenchCommand.self, ServeCommand.self,
            UserCommand.self, TokenCommand.self, OrgCommand.self, CostCommand.self, CarbonCommand.self, LakeCommand.self, DetectCommand.self, HostsCommand.self, AgentCommand.self, PatchCommand.self,
        ])
}

/// Options every command that reads or writes the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (or set CANOPY_DATABASE).")
    var database: String?

    func resolvedPath(default fallback: String = "canopy.db") -> String {
        database ?? ProcessInfo.processInfo.environment["CANOPY_DATABASE"] ?? fallback
    }

    func open(default fallback: String = "canopy.db") throws -> SQLiteStore {
        try SQLiteStore(path: resolvedPath(default: fallback))
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Canopy's exit codes, for scripts: 0 ok, 1 findings above threshold (later), 2 usage, 3 runtime error.
enum CanopyExit {
    static let usage: Int32 = 2
    static let runtime: Int32 = 3
}

@main
enum Main {
    static func main() async {
        do {
            var command = try Canopy.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Canopy.exitCode(for: error)
            if code == .success || error is CleanExit {
                Canopy.exit(withError: error)
            }
            if let exit = error as? ExitCode {
                Foundation.exit(exit.rawValue)
            }
            if code == .validationFailure || error is ValidationError {
                FileHandle.standardError.write(Data((Canopy.fullMessage(for: error) + "\n").utf8))
                Foundation.exit(CanopyExit.usage)
            }
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(CanopyExit.runtime)
        }
    }
}

extension DatabaseOptions {
    /// The key that seals secrets kept in the database (webhook addresses): `CANOPY_SECRET_KEY`,
    /// else a key file beside the database (`canopy.db.key`, created owner-only on first use).
    func secretBox(default fallback: String = "canopy.db") throws -> SecretBox {
        try SecretBox.load(keyFile: resolvedPath(default: fallback) + ".key")
    }
}

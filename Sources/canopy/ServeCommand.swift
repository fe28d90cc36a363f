import ArgumentParser
import CanopyAWS
import CanopyCompliance
import CanopyRemediation
import CanopyModel
import CanopyServer
import CanopyStore
import Foundation
import Hummingbird
import HummingbirdBcrypt
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the console and the REST API (/api/v1).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var compliance: ComplianceOptions
    @OptionGroup var server: ServeOptions

    func run() async throws {
        server.bootstrapLogging()
        try await server.serve(store: try database.open(), engine: try compliance.engine(), box: try database.secretBox())
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How the server listens and logs; shared by `serve` and `demo`.
struct ServeOptions: ParsableArguments {
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(help: "Mark cookies Secure (when a TLS proxy fronts Canopy).") var secureCookies = false
    @Option(help: "text, or json: one JSON object per line on standard error, for log shippers.") var logFormat: LogFormat = .text
    @Option(help: "trace, debug, info (includes the access log), notice, warning, error or critical.") var logLevel: Logger.Level = .info

    func bootstrapLogging() {
        let level = logLevel
        switch logFormat {
        case .json: LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// Serves until Ctrl-C. On a database without users it prints a one-time token that
    /// creates the first administrator at /setup.
    func serve(store: SQLiteStore, engine: ComplianceEngine, box: SecretBox) async throws {
        var dependencies = ServerDependencies(
            store: store, engine: engine,
            configuration: ServerConfiguration(host: host, port: port, secureCookies: secureCookies, logLevel: logLevel))
        if try await store.users().isEmpty {
            let (token, secret) = BootstrapToken.make()
            dependencies.bootstrap = token
            printOut("""
                no users yet. Create the first administrator at http://\(host):\(port)/setup with this one-time token:
                  \(secret)
                (or stop the server and run `canopy user add NAME --role admin`)
                """)
        }
        printOut("Canopy console and API on http://\(host):\(port)/  (API: /api/v1, OpenAPI: /api/v1/openapi.yaml); Ctrl-C stops")
        try await AsyncHTTPClientTransport.with { transport in
            dependencies.webhooks = WebhookDispatcher(store: store, box: box, transport: transport, consoleURL: "http://\(host):\(port)/")
            try await buildApplication(dependencies).runService()
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage console users.", subcommands: [Add.self, Update.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a user; the password is read from standard input or generated and printed once.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "User name.") var name: String
        @Option(help: "admin, ccoe, bu-owner, auditor or viewer.") var role: Role
        @Option(help: "For bu-owner: a business unit id (see `canopy org list`); repeatable.") var businessUnit: [String] = []
        @Flag(help: "Read the password from standard input instead of generating one.") var passwordStdin = false

        func run() async throws {
            let password = passwordStdin ? (readLine(strippingNewline: true) ?? "") : nil
            let (user, generated) = try await Administration.createUser(
                name: name, role: role, businessUnits: businessUnit, password: password, actor: actor.resolved, store: database.open())
            printOut("user \(user.name) (\(user.role.rawValue)) created" + (generated.map { "; password (shown once): \($0)" } ?? ""))
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Change a user's role and business units (their sessions end).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "User name.") var name: String
        @Option(help: "admin, ccoe, bu-owner, auditor or viewer.") var role: Role
        @Option(help: "For bu-owner: a business unit id; repeatable.") var businessUnit: [String] = []

        func run() async throws {
            let user = try await Administration.updateUser(name: name, role: role, businessUnits: businessUnit, actor: actor.resolved, store: database.open())
            printOut("user \(user.name) is now \(user.role.rawValue)" + (user.businessUnits.isEmpty ? "" : " of \(user.businessUnits.joined(separator: ", "))"))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let users = try await database.open().users()
            let table = Table(
                columns: ["name", "role", "business units", "locked until"],
                rows: users.map { [$0.name, $0.role.rawValue, $0.businessUnits.joined(separator: ", "), $0.lockedUntil.map(Timestamps.iso8601) ?? ""] })
            printOut(try table.render(.table) { Data() })
        }
    }
}

extension Role: ExpressibleByArgument {}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an API token acting as a user; it is printed once and stored hashed.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "A name for the token (what uses it).") var name: String
        @Option(help: "The user it acts as (and whose scope it has).") var user: String
        @Option(help: "A narrower role for the token (default: the user's).") var role: Role?
        @Option(help: "Days until it expires (default 90).") var days = 90

        func run() async throws {
            let store = try database.open()
            guard let owner = try await store.user(named: user) else { throw StoreError.unknownUser(user) }
            let (token, secret) = try await Administration.issueToken(name: name, for: owner, role: role, days: days, actor: actor.resolved, store: store)
            printOut("token \(token.id) \(token.name) for \(owner.name) (\(token.role.rawValue)), expires \(Timestamps.iso8601(token.expiresAt)); shown once:\n\(secret)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List API tokens (never their secrets).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this user's tokens.") var user: String?

        func run() async throws {
            let tokens = try await database.open().apiTokens(user: user)
            let table = Table(
                columns: ["id", "name", "user", "role", "created", "created by", "expires"],
                rows: tokens.map {
                    [String($0.id), $0.name, $0.user, $0.role.rawValue, $0.createdAt.map(Timestamps.iso8601) ?? "", $0.createdBy ?? "", Timestamps.iso8601($0.expiresAt)]
                })
            printOut(try table.render(.table) { Data() })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an API token at once.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "The token id (see `canopy token list`).") var id: Int64

        func run() async throws {
            try await database.open().revokeAPIToken(id: id, actor: actor.resolved)
            printOut("token \(id) revoked")
        }
    }
}

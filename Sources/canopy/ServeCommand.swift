import ArgumentParser
import CanopyCompliance
import CanopyModel
import CanopyServer
import CanopyStore
import Foundation
import Hummingbird
import HummingbirdBcrypt

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the console and the REST API (/api/v1).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var compliance: ComplianceOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(help: "Mark cookies Secure (when a TLS proxy fronts Canopy).") var secureCookies = false

    func run() async throws {
        let store = try database.open()
        if try await store.users().isEmpty {
            printErr("no users yet: create the first with `canopy user add NAME --role admin --database \(database.resolvedPath())`")
        }
        try await Self.serve(store: store, engine: try compliance.engine(), host: host, port: port, secureCookies: secureCookies)
    }

    static func serve(store: SQLiteStore, engine: ComplianceEngine, host: String, port: Int, secureCookies: Bool) async throws {
        let dependencies = ServerDependencies(
            store: store, engine: engine, configuration: ServerConfiguration(host: host, port: port, secureCookies: secureCookies))
        printOut("Canopy console and API on http://\(host):\(port)/  (API: /api/v1, OpenAPI: /api/v1/openapi.yaml); Ctrl-C stops")
        try await buildApplication(dependencies).runService()
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage console users.", subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a user; the password is read from standard input or generated and printed once.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "User name.") var name: String
        @Option(help: "admin, ccoe, bu-owner, auditor or viewer.") var role: String
        @Option(help: "For bu-owner: a business unit (organizational unit name); repeatable.") var businessUnit: [String] = []
        @Flag(help: "Read the password from standard input instead of generating one.") var passwordStdin = false

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
            if role == .buOwner, businessUnit.isEmpty { throw ValidationError("a bu-owner needs at least one --business-unit") }
            var password = Secrets.token().prefix(20).description
            if passwordStdin {
                password = readLine(strippingNewline: true) ?? ""
                guard password.count >= 12 else { throw ValidationError("the password must have at least 12 characters") }
            }
            let user = try await database.open().createUser(
                name: name, passwordHash: Bcrypt.hash(password, cost: 12), role: role, businessUnits: businessUnit, actor: actor.resolved)
            printOut("user \(user.name) (\(user.role.rawValue)) created" + (passwordStdin ? "" : "; password (shown once): \(password)"))
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

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an API token acting as a user; it is printed once and stored hashed.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "A name for the token (what uses it).") var name: String
        @Option(help: "The user it acts as (and whose role and scope it has).") var user: String
        @Option(help: "Days until it expires (default 90).") var days = 90

        func run() async throws {
            let store = try database.open()
            guard let owner = try await store.user(named: user) else { throw ValidationError("no user named '\(user)'") }
            guard (1...730).contains(days) else { throw ValidationError("--days must be between 1 and 730") }
            let token = Secrets.token()
            try await store.createAPIToken(
                name: name, userID: owner.id, tokenHash: Secrets.hash(token), expiresAt: Date().addingTimeInterval(Double(days) * 86_400), actor: actor.resolved)
            printOut("token \(name) for \(owner.name) (\(owner.role.rawValue)), expires in \(days) days; shown once:\n\(token)")
        }
    }
}

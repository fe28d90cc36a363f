import CanopyHost
import CanopyModel
import CanopyStore
import Foundation
import HummingbirdBcrypt

/// Users and API tokens, with the rules the CLI, the console and the API share. Secrets are
/// generated here, returned once, and only their hashes are stored.
public enum Administration {
    public static let maximumTokenDays = 730
    public static let minimumPasswordLength = 12

    /// A new user; without a password one is generated (returned, to be shown once).
    public static func createUser(
        name: String, role: Role, businessUnits: [String], password: String?, actor: String, store: any CanopyStore, bcryptCost: UInt8 = 12
    ) async throws -> (user: User, generatedPassword: String?) {
        try validate(name: name)
        let units = try await validate(role: role, businessUnits: businessUnits, store: store)
        if let password, password.count < minimumPasswordLength {
            throw AdministrationError.invalid(field: "password", "the password must have at least \(minimumPasswordLength) characters")
        }
        let secret = password ?? String(Secrets.token().prefix(20))
        let user = try await store.createUser(
            name: name, passwordHash: Bcrypt.hash(secret, cost: bcryptCost), role: role, businessUnits: units, actor: actor)
        return (user, password == nil ? secret : nil)
    }

    public static func updateUser(name: String, role: Role, businessUnits: [String], actor: String, store: any CanopyStore) async throws -> User {
        let units = try await validate(role: role, businessUnits: businessUnits, store: store)
        return try await store.updateUser(name: name, role: role, businessUnits: units, actor: actor)
    }

    /// A token for `user`, acting with `role` (their own when nil); the secret is returned once.
    public static func issueToken(
        name: String, for user: User, role: Role?, days: Int, actor: String, store: any CanopyStore, now: Date = Date()
    ) async throws -> (token: APIToken, secret: String) {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100 else { throw AdministrationError.invalid(field: "name", "a token needs a name (what uses it), up to 100 characters") }
        guard (1...maximumTokenDays).contains(days) else {
            throw AdministrationError.invalid(field: "days", "days must be between 1 and \(maximumTokenDays)")
        }
        if let role, !user.role.canDelegate(to: role) {
            throw AdministrationError.notAllowed(field: "role", "a \(user.role.rawValue) cannot issue a token acting as \(role.rawValue)")
        }
        let secret = Secrets.token()
        let token = try await store.createAPIToken(
            name: name, userID: user.id, role: role, tokenHash: Secrets.hash(secret), expiresAt: now.addingTimeInterval(Double(days) * 86_400),
            actor: actor)
        return (token, secret)
    }

    /// An agent enrollment for one host at `site`; the token is returned once and kept hashed.
    public static func enrollHost(
        name: String, site: String, tags: [String: String], days: Int, actor: String, store: any CanopyStore, now: Date = Date()
    ) async throws -> (enrollment: HostEnrollment, secret: String) {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100 else { throw AdministrationError.invalid(field: "name", "an enrollment needs a name (the host), up to 100 characters") }
        guard HostPlacement.isValidSite(site) else { throw AdministrationError.invalid(field: "site", "a site is 1-64 letters, digits, '-', '_' or '.'") }
        guard (1...maximumTokenDays).contains(days) else { throw AdministrationError.invalid(field: "days", "days must be between 1 and \(maximumTokenDays)") }
        try HostTags.validate(tags)
        // A recognisable prefix lets secret scanners find a leaked host token.
        let secret = "cph_" + Secrets.token()
        let enrollment = try await store.createHostEnrollment(
            name: name, site: site, tags: tags, tokenHash: Secrets.hash(secret), expiresAt: now.addingTimeInterval(Double(days) * 86_400), actor: actor)
        return (enrollment, secret)
    }

    static func validate(name: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._@-"))
        guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }) else {
            throw AdministrationError.invalid(field: "name", "a user name is 1-64 letters, digits, '.', '_', '@' or '-'")
        }
    }

    /// A bu-owner needs units, and they must exist; other roles see every unit and keep none.
    static func validate(role: Role, businessUnits: [String], store: any CanopyStore) async throws -> [String] {
        guard role == .buOwner else { return [] }
        guard !businessUnits.isEmpty else { throw AdministrationError.invalid(field: "businessUnits", "a bu-owner needs at least one business unit") }
        let known = Set(try await store.ownership().effectiveBusinessUnits(accounts: store.accounts()).map(\.id))
        if let unknown = businessUnits.first(where: { !known.contains($0) }) {
            throw AdministrationError.invalid(
                field: "businessUnits", "no business unit '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
        }
        return businessUnits
    }
}

public enum AdministrationError: Error, CustomStringConvertible, Sendable {
    /// The input is wrong (400).
    case invalid(field: String, String)
    /// The input is fine but the caller's role does not allow it (403).
    case notAllowed(field: String, String)

    public var field: String {
        switch self {
        case .invalid(let field, _), .notAllowed(let field, _): field
        }
    }

    public var description: String {
        switch self {
        case .invalid(_, let message), .notAllowed(_, let message): message
        }
    }
}

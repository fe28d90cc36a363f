import CanopyModel
import Foundation
import GRDB

extension SQLiteStore: UserRepository {
    static func user(_ row: Row) throws -> User {
        User(
            id: row["id"], name: row["name"], role: Role(rawValue: row["role"]) ?? .viewer,
            businessUnits: try StoreCoding.decode([String].self, row["business_units"]), passwordHash: row["password_hash"],
            failedLogins: row["failed_logins"], lockedUntil: row["locked_until"])
    }

    public func createUser(name: String, passwordHash: String, role: Role, businessUnits: [String], actor: String) async throws -> User {
        let units = try StoreCoding.text(businessUnits)
        return try await writer.write { db in
            if try Row.fetchOne(db, sql: "SELECT id FROM app_user WHERE name = ?", arguments: [name]) != nil {
                throw StoreError.duplicateUser(name)
            }
            try db.execute(
                sql: "INSERT INTO app_user (name, role, business_units, password_hash) VALUES (?, ?, ?, ?)",
                arguments: [name, role.rawValue, units, passwordHash])
            let user = User(id: db.lastInsertedRowID, name: name, role: role, businessUnits: businessUnits, passwordHash: passwordHash)
            _ = try Self.appendAudit(
                db, actor: actor, action: "user.create", target: "user/\(name)",
                details: ["role": .string(role.rawValue), "business_units": .array(businessUnits.map(JSONValue.string))], at: Date())
            return user
        }
    }

    public func user(named name: String) async throws -> User? {
        try await writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM app_user WHERE name = ?", arguments: [name]).map(Self.user) }
    }

    public func users() async throws -> [User] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM app_user ORDER BY name").map(Self.user) }
    }

    public func recordLogin(userID: Int64, succeeded: Bool, limit: Int, lockUntil: Date, from address: String, at: Date) async throws {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM app_user WHERE id = ?", arguments: [userID]) else { return }
            let user = try Self.user(row)
            if succeeded {
                try db.execute(sql: "UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = ?", arguments: [userID])
            } else {
                let failures = user.failedLogins + 1
                let locked: Date? = failures >= limit ? lockUntil : nil
                try db.execute(
                    sql: "UPDATE app_user SET failed_logins = ?, locked_until = ? WHERE id = ?", arguments: [failures, locked, userID])
            }
            _ = try Self.appendAudit(
                db, actor: user.name, action: succeeded ? "session.login" : "session.login-failed", target: "user/\(user.name)",
                details: ["address": .string(address)], at: at)
        }
    }

    public func createSession(userID: Int64, tokenHash: String, csrfToken: String, expiresAt: Date) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO user_session (token_hash, user_id, csrf_token, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, userID, csrfToken, expiresAt])
        }
    }

    public func session(tokenHash: String, at: Date) async throws -> Session? {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT u.*, s.csrf_token, s.expires_at FROM user_session s JOIN app_user u ON u.id = s.user_id
                        WHERE s.token_hash = ? AND s.expires_at > ?
                        """,
                    arguments: [tokenHash, at])
            else { return nil }
            return Session(user: try Self.user(row), csrfToken: row["csrf_token"], expiresAt: row["expires_at"])
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM user_session WHERE token_hash = ?", arguments: [tokenHash]) }
    }

    public func createAPIToken(name: String, userID: Int64, role: Role?, tokenHash: String, expiresAt: Date, actor: String) async throws -> APIToken {
        try await writer.write { db in
            guard let owner = try Row.fetchOne(db, sql: "SELECT * FROM app_user WHERE id = ?", arguments: [userID]).map(Self.user) else {
                throw StoreError.unknownUser("#\(userID)")
            }
            let acting = role ?? owner.role
            let now = Date()
            try db.execute(
                sql: "INSERT INTO api_token (name, user_id, token_hash, expires_at, created_at, created_by, role) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [name, userID, tokenHash, expiresAt, now, actor, acting.rawValue])
            let id = db.lastInsertedRowID
            _ = try Self.appendAudit(
                db, actor: actor, action: "token.create", target: "token/\(id)",
                details: [
                    "name": .string(name), "user": .string(owner.name), "role": .string(acting.rawValue),
                    "expires": .string(Timestamps.iso8601(expiresAt)),
                ], at: now)
            return APIToken(id: id, name: name, user: owner.name, role: acting, createdAt: now, createdBy: actor, expiresAt: expiresAt)
        }
    }

    public func apiTokenUser(tokenHash: String, at: Date) async throws -> User? {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT u.*, t.role AS token_role FROM api_token t JOIN app_user u ON u.id = t.user_id WHERE t.token_hash = ? AND t.expires_at > ?",
                    arguments: [tokenHash, at])
            else { return nil }
            var user = try Self.user(row)
            // A token acts with its own role, which must still be one its user may hand out: a
            // user demoted since loses the tokens that would now exceed their rights.
            if let role = (row["token_role"] as String?).flatMap(Role.init(rawValue:)) {
                guard user.role.canDelegate(to: role) else { return nil }
                user.role = role
            }
            return user
        }
    }

    public func apiTokens(user: String?) async throws -> [APIToken] {
        try await writer.read { db in
            var sql = "SELECT t.*, u.name AS user_name, u.role AS user_role FROM api_token t JOIN app_user u ON u.id = t.user_id"
            var arguments: StatementArguments = []
            if let user {
                sql += " WHERE u.name = ?"
                arguments = [user]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY t.id", arguments: arguments).map { row in
                APIToken(
                    id: row["id"], name: row["name"], user: row["user_name"],
                    role: (row["role"] as String?).flatMap(Role.init(rawValue:)) ?? Role(rawValue: row["user_role"]) ?? .viewer,
                    createdAt: row["created_at"], createdBy: row["created_by"], expiresAt: row["expires_at"])
            }
        }
    }

    public func apiTokenID(tokenHash: String) async throws -> Int64? {
        try await writer.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM api_token WHERE token_hash = ?", arguments: [tokenHash]) }
    }

    public func revokeAPIToken(id: Int64, actor: String) async throws {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT name FROM api_token WHERE id = ?", arguments: [id]) else { throw StoreError.unknownToken(id) }
            try db.execute(sql: "DELETE FROM api_token WHERE id = ?", arguments: [id])
            _ = try Self.appendAudit(db, actor: actor, action: "token.revoke", target: "token/\(id)", details: ["name": .string(row["name"])], at: Date())
        }
    }

    public func updateUser(name: String, role: Role, businessUnits: [String], actor: String) async throws -> User {
        let units = try StoreCoding.text(businessUnits)
        return try await writer.write { db in
            guard var user = try Row.fetchOne(db, sql: "SELECT * FROM app_user WHERE name = ?", arguments: [name]).map(Self.user) else {
                throw StoreError.unknownUser(name)
            }
            try db.execute(sql: "UPDATE app_user SET role = ?, business_units = ? WHERE id = ?", arguments: [role.rawValue, units, user.id])
            // Sessions carry the old role's rights: end them.
            try db.execute(sql: "DELETE FROM user_session WHERE user_id = ?", arguments: [user.id])
            _ = try Self.appendAudit(
                db, actor: actor, action: "user.update", target: "user/\(name)",
                details: [
                    "role": .string(role.rawValue), "previous_role": .string(user.role.rawValue),
                    "business_units": .array(businessUnits.map(JSONValue.string)),
                ], at: Date())
            user.role = role
            user.businessUnits = businessUnits
            return user
        }
    }
}

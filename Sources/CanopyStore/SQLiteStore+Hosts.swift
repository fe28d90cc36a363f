import CanopyModel
import Crypto
import Foundation
import GRDB

/// On-prem hosts: agent enrollments (hashed tokens bound to one host each), the hosts' package and
/// port child records, and the patch baseline in force.
public protocol HostRepository: Sendable {
    func createHostEnrollment(name: String, site: String, tags: [String: String], tokenHash: String, expiresAt: Date, actor: String) async throws
        -> HostEnrollment
    func hostEnrollments() async throws -> [HostEnrollment]
    /// The usable enrollment a token belongs to (not revoked, not expired).
    func hostEnrollment(tokenHash: String, at date: Date) async throws -> HostEnrollment?
    func revokeHostEnrollment(id: Int64, actor: String) async throws
    /// Binds an enrollment to the machine id of its first upload; refuses another host's id, and
    /// an id another enrollment holds. Returns the enrollment as bound.
    func bindHostEnrollment(id: Int64, hostID: String, at date: Date) async throws -> HostEnrollment
    /// Replaces a host's package and port records with those of its latest inventory.
    func replaceHostDetails(hostUID: String, packages: [HostPackageRecord], ports: [HostPortRecord]) async throws
    func hostPackages(hostUID: String) async throws -> [HostPackageRecord]
    func hostPorts(hostUID: String) async throws -> [HostPortRecord]
    func patchBaseline() async throws -> PatchBaselineVersion?
    /// Stores `baseline` as the one in force; nil when it equals the one in force.
    func applyPatchBaseline(_ baseline: PatchBaseline, source: String, actor: String) async throws -> PatchBaselineVersion?
}

extension SQLiteStore: HostRepository {
    public func createHostEnrollment(
        name: String, site: String, tags: [String: String], tokenHash: String, expiresAt: Date, actor: String
    ) async throws -> HostEnrollment {
        let tagText = try StoreCoding.text(tags)
        return try await writer.write { db in
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO host_enrollment (name, site, tags, token_hash, created_at, created_by, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [name, site, tagText, tokenHash, now, actor, expiresAt])
            let id = db.lastInsertedRowID
            _ = try Self.appendAudit(
                db, actor: actor, action: "host.enroll", target: "host-enrollment/\(id)",
                details: [
                    "name": .string(name), "site": .string(site), "tags": .object(tags.mapValues(JSONValue.string)),
                    "expires": .string(Timestamps.iso8601(expiresAt)),
                ], at: now)
            return HostEnrollment(id: id, name: name, site: site, tags: tags, hostID: nil, createdAt: now, createdBy: actor, expiresAt: expiresAt)
        }
    }

    public func hostEnrollments() async throws -> [HostEnrollment] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM host_enrollment ORDER BY id").map(Self.enrollment) }
    }

    public func hostEnrollment(tokenHash: String, at date: Date) async throws -> HostEnrollment? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM host_enrollment WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
                arguments: [tokenHash, date]
            ).map(Self.enrollment)
        }
    }

    public func revokeHostEnrollment(id: Int64, actor: String) async throws {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT name, host_id FROM host_enrollment WHERE id = ?", arguments: [id]) else {
                throw StoreError.unknownHostEnrollment(id)
            }
            let now = Date()
            // The binding is released too, so the host can be enrolled again with a new token.
            try db.execute(sql: "UPDATE host_enrollment SET revoked_at = ?, host_id = NULL WHERE id = ?", arguments: [now, id])
            _ = try Self.appendAudit(
                db, actor: actor, action: "host.enroll.revoke", target: "host-enrollment/\(id)",
                details: ["name": .string(row["name"]), "host_id": (row["host_id"] as String?).map(JSONValue.string) ?? .null], at: now)
        }
    }

    public func bindHostEnrollment(id: Int64, hostID: String, at date: Date) async throws -> HostEnrollment {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM host_enrollment WHERE id = ?", arguments: [id]) else {
                throw StoreError.unknownHostEnrollment(id)
            }
            var enrollment = try Self.enrollment(row)
            if let bound = enrollment.hostID, bound != hostID {
                throw StoreError.hostBoundElsewhere(enrollment: id, boundTo: bound, offered: hostID)
            }
            if enrollment.hostID == nil {
                if try Int64.fetchOne(db, sql: "SELECT id FROM host_enrollment WHERE host_id = ? AND id != ?", arguments: [hostID, id]) != nil {
                    throw StoreError.hostClaimedByAnotherEnrollment(hostID: hostID)
                }
                try db.execute(sql: "UPDATE host_enrollment SET host_id = ? WHERE id = ?", arguments: [hostID, id])
                _ = try Self.appendAudit(
                    db, actor: "host-enrollment/\(id)", action: "host.enroll.bind", target: "host/\(hostID)",
                    details: ["enrollment": .int(id), "site": .string(enrollment.site)], at: date)
                enrollment.hostID = hostID
            }
            try db.execute(sql: "UPDATE host_enrollment SET last_upload_at = ? WHERE id = ?", arguments: [date, id])
            enrollment.lastUploadAt = date
            return enrollment
        }
    }

    public func replaceHostDetails(hostUID: String, packages: [HostPackageRecord], ports: [HostPortRecord]) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM host_package WHERE host_uid = ?", arguments: [hostUID])
            try db.execute(sql: "DELETE FROM host_port WHERE host_uid = ?", arguments: [hostUID])
            let insertPackage = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO host_package (host_uid, name, architecture, version, manager) VALUES (?, ?, ?, ?, ?)")
            for package in packages {
                try insertPackage.execute(arguments: [hostUID, package.name, package.architecture, package.version, package.manager])
            }
            let insertPort = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO host_port (host_uid, transport, address, port, process, user) VALUES (?, ?, ?, ?, ?, ?)")
            for port in ports {
                try insertPort.execute(arguments: [hostUID, port.transport, port.address, port.port, port.process, port.user])
            }
        }
    }

    public func hostPackages(hostUID: String) async throws -> [HostPackageRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM host_package WHERE host_uid = ? ORDER BY name, architecture", arguments: [hostUID]).map {
                HostPackageRecord(name: $0["name"], version: $0["version"], architecture: $0["architecture"], manager: $0["manager"])
            }
        }
    }

    public func hostPorts(hostUID: String) async throws -> [HostPortRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM host_port WHERE host_uid = ? ORDER BY transport, port, address", arguments: [hostUID]).map {
                HostPortRecord(transport: $0["transport"], address: $0["address"], port: $0["port"], process: $0["process"], user: $0["user"])
            }
        }
    }

    public func patchBaseline() async throws -> PatchBaselineVersion? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM patch_baseline ORDER BY id DESC LIMIT 1").map { row in
                PatchBaselineVersion(
                    baseline: try StoreCoding.decode(PatchBaseline.self, row["definition"]), source: row["source"], sha256: row["sha256"],
                    appliedAt: row["applied_at"], actor: row["actor"])
            }
        }
    }

    public func applyPatchBaseline(_ baseline: PatchBaseline, source: String, actor: String) async throws -> PatchBaselineVersion? {
        if let problem = baseline.problems().first { throw StoreError.invalidPatchBaseline(problem) }
        let definition = try StoreCoding.text(baseline)
        let sha = SHA256.hash(data: Data(definition.utf8)).hexEncoded
        return try await writer.write { db in
            if try String.fetchOne(db, sql: "SELECT sha256 FROM patch_baseline ORDER BY id DESC LIMIT 1") == sha { return nil }
            let now = Date()
            try db.execute(
                sql: "INSERT INTO patch_baseline (definition, source, sha256, applied_at, actor) VALUES (?, ?, ?, ?, ?)",
                arguments: [definition, source, sha, now, actor])
            _ = try Self.appendAudit(
                db, actor: actor, action: "patch.baseline.apply", target: "patch-baseline/\(db.lastInsertedRowID)",
                details: ["sha256": .string(sha), "rules": .int(Int64(baseline.rules.count))], at: now)
            return PatchBaselineVersion(baseline: baseline, source: source, sha256: sha, appliedAt: now, actor: actor)
        }
    }

    static func enrollment(_ row: Row) throws -> HostEnrollment {
        HostEnrollment(
            id: row["id"], name: row["name"], site: row["site"], tags: try StoreCoding.decode([String: String].self, row["tags"]),
            hostID: row["host_id"], createdAt: row["created_at"], createdBy: row["created_by"], expiresAt: row["expires_at"],
            revokedAt: row["revoked_at"], lastUploadAt: row["last_upload_at"])
    }
}

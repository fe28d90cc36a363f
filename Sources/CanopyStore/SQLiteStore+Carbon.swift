import CanopyModel
import Crypto
import Foundation
import GRDB

/// Carbon settings (grid factors, market-based factors, on-prem sites). Applying the same
/// settings again changes nothing; every change is audited.
public protocol CarbonRepository: Sendable {
    func carbonSettings() async throws -> CarbonSettingsVersion?
    /// Stores `settings` as the ones in force; nil when they equal the ones in force.
    func applyCarbonSettings(_ settings: CarbonSettings, source: String, actor: String) async throws -> CarbonSettingsVersion?
}

extension SQLiteStore: CarbonRepository {
    public func carbonSettings() async throws -> CarbonSettingsVersion? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM carbon_settings ORDER BY id DESC LIMIT 1").map { row in
                CarbonSettingsVersion(
                    settings: try StoreCoding.decode(CarbonSettings.self, row["definition"]), source: row["source"], sha256: row["sha256"],
                    appliedAt: row["applied_at"], actor: row["actor"])
            }
        }
    }

    public func applyCarbonSettings(_ settings: CarbonSettings, source: String, actor: String) async throws -> CarbonSettingsVersion? {
        if let problem = settings.problems().first { throw StoreError.invalidCarbonSettings(problem) }
        let definition = try StoreCoding.text(settings)
        let sha = SHA256.hash(data: Data(definition.utf8)).hexEncoded
        return try await writer.write { db in
            if try String.fetchOne(db, sql: "SELECT sha256 FROM carbon_settings ORDER BY id DESC LIMIT 1") == sha { return nil }
            let now = Date()
            try db.execute(
                sql: "INSERT INTO carbon_settings (definition, source, sha256, applied_at, actor) VALUES (?, ?, ?, ?, ?)",
                arguments: [definition, source, sha, now, actor])
            _ = try Self.appendAudit(
                db, actor: actor, action: "carbon.settings.apply", target: "carbon-settings/\(db.lastInsertedRowID)",
                details: [
                    "sha256": .string(sha), "sites": .array(settings.sites.map { .string($0.id) }),
                    "location_factors": .array(settings.locationFactors.keys.sorted().map(JSONValue.string)),
                    "market_factors": .array(settings.marketFactors.keys.sorted().map(JSONValue.string)),
                ], at: now)
            return CarbonSettingsVersion(settings: settings, source: source, sha256: sha, appliedAt: now, actor: actor)
        }
    }
}

import CanopyModel
import Foundation
import GRDB

extension SQLiteStore: OwnershipRepository {
    public func ownership() async throws -> Ownership {
        try await writer.read { db in try Self.ownership(db) }
    }

    static func ownership(_ db: Database) throws -> Ownership {
        Ownership(
            businessUnits: try String.fetchAll(db, sql: "SELECT definition FROM business_unit ORDER BY position, id").map {
                try StoreCoding.decode(BusinessUnit.self, $0)
            },
            applications: try String.fetchAll(db, sql: "SELECT definition FROM application ORDER BY position, id").map {
                try StoreCoding.decode(Application.self, $0)
            })
    }

    /// Writes `ownership` as the whole set of definitions, if it passes the model's rules.
    private static func write(_ ownership: Ownership, _ db: Database) throws {
        if let problem = ownership.problems().first { throw StoreError.invalidOwnership(problem) }
        try db.execute(sql: "DELETE FROM business_unit")
        try db.execute(sql: "DELETE FROM application")
        for (position, unit) in ownership.businessUnits.enumerated() {
            try db.execute(
                sql: "INSERT INTO business_unit (id, position, definition) VALUES (?, ?, ?)",
                arguments: [unit.id, position, try StoreCoding.text(unit)])
        }
        for (position, app) in ownership.applications.enumerated() {
            try db.execute(
                sql: "INSERT INTO application (id, position, definition) VALUES (?, ?, ?)",
                arguments: [app.id, position, try StoreCoding.text(app)])
        }
    }

    /// Applies `change` to the stored definitions in one transaction; records it when it changed
    /// anything. Returns whether it did.
    private func change(
        actor: String, action: String, target: String, details: JSONValue, _ change: @escaping @Sendable (inout Ownership) throws -> Void
    ) async throws -> Bool {
        try await writer.write { db in
            let before = try Self.ownership(db)
            var after = before
            try change(&after)
            guard after != before else { return false }
            try Self.write(after, db)
            _ = try Self.appendAudit(db, actor: actor, action: action, target: target, details: details, at: Date())
            return true
        }
    }

    @discardableResult
    public func replaceOwnership(_ ownership: Ownership, actor: String) async throws -> Bool {
        try await change(
            actor: actor, action: "ownership.import", target: "ownership",
            details: [
                "business_units": .array(ownership.businessUnits.map { .string($0.id) }),
                "applications": .array(ownership.applications.map { .string($0.id) }),
            ]
        ) { $0 = ownership }
    }

    @discardableResult
    public func save(_ unit: BusinessUnit, actor: String) async throws -> Bool {
        let definition = try JSONValue.parse(try StoreCoding.encoder.encode(unit))
        return try await change(actor: actor, action: "business-unit.save", target: "business-unit/\(unit.id)", details: definition) { ownership in
            if let index = ownership.businessUnits.firstIndex(where: { $0.id == unit.id }) {
                ownership.businessUnits[index] = unit
            } else {
                ownership.businessUnits.append(unit)
            }
        }
    }

    @discardableResult
    public func save(_ application: Application, actor: String) async throws -> Bool {
        let definition = try JSONValue.parse(try StoreCoding.encoder.encode(application))
        return try await change(actor: actor, action: "application.save", target: "application/\(application.id)", details: definition) {
            ownership in
            if let index = ownership.applications.firstIndex(where: { $0.id == application.id }) {
                ownership.applications[index] = application
            } else {
                ownership.applications.append(application)
            }
        }
    }

    @discardableResult
    public func deleteBusinessUnit(id: String, actor: String) async throws -> Bool {
        try await change(actor: actor, action: "business-unit.delete", target: "business-unit/\(id)", details: [:]) { ownership in
            guard ownership.businessUnits.contains(where: { $0.id == id }) else { throw StoreError.unknownOwnership("business unit", id) }
            ownership.businessUnits.removeAll { $0.id == id }
        }
    }

    @discardableResult
    public func deleteApplication(id: String, actor: String) async throws -> Bool {
        try await change(actor: actor, action: "application.delete", target: "application/\(id)", details: [:]) { ownership in
            guard ownership.applications.contains(where: { $0.id == id }) else { throw StoreError.unknownOwnership("application", id) }
            ownership.applications.removeAll { $0.id == id }
        }
    }
}

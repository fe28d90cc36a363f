import CanopyModel
import CanopyStore
import Foundation
import Testing

/// The ownership part of the store contract: definitions round-trip in order, every change is
/// checked and audited with where it came from, and an identical import writes nothing.
extension StoreContractTests {
    static let gen = BusinessUnit(id: "gen", name: "Generation", nameZh: "發電", costCenter: "CC-1", organizationalUnits: ["Generation"])
    static let grid = BusinessUnit(id: "grid", name: "Grid", accounts: ["222222222222"])
    static let scada = Application(
        id: "scada", name: "SCADA", businessUnit: "gen", tier: "tier-1", rtoMinutes: 60, rpoMinutes: 15,
        selector: ResourceSelector(tags: ["App": ["scada"]]))

    @Test("ownership round-trips, is validated, audited with the address, and an identical import writes nothing", arguments: stores)
    func ownershipRoundTrip(factory: Factory) async throws {
        let store = try factory.make()
        #expect(try await store.ownership() == Ownership())
        let ownership = Ownership(businessUnits: [Self.gen, Self.grid], applications: [Self.scada])
        let changed = try await AuditContext.$address.withValue("192.0.2.7") {
            try await store.replaceOwnership(ownership, actor: "lead")
        }
        #expect(changed)
        #expect(try await store.ownership() == ownership)
        #expect(try await store.replaceOwnership(ownership, actor: "lead") == false)
        let log = try await store.auditLog(limit: 10)
        #expect(log.count == 1 && log[0].action == "ownership.import" && log[0].address == "192.0.2.7")

        var billing = Application(id: "billing", name: "Billing", businessUnit: "grid", selector: ResourceSelector(accounts: ["222222222222"]))
        #expect(try await store.save(billing, actor: "lead"))
        billing.tier = "tier-2"
        #expect(try await store.save(billing, actor: "lead"))
        #expect(try await store.ownership().applications.map(\.id) == ["scada", "billing"])
        #expect(try await store.ownership().application("billing")?.tier == "tier-2")

        // A unit still used by an application cannot go; nor can an application with no selector come in.
        await #expect(throws: StoreError.self) { try await store.deleteBusinessUnit(id: "grid", actor: "lead") }
        await #expect(throws: StoreError.self) {
            try await store.save(Application(id: "empty", name: "E", businessUnit: "gen", selector: ResourceSelector()), actor: "lead")
        }
        await #expect(throws: StoreError.self) { try await store.deleteApplication(id: "nope", actor: "lead") }
        #expect(try await store.deleteApplication(id: "billing", actor: "lead"))
        #expect(try await store.deleteBusinessUnit(id: "grid", actor: "lead"))
        #expect(try await store.ownership().businessUnits.map(\.id) == ["gen"])
        #expect(try await store.auditLog(limit: 20).map(\.action).filter { $0 != "ownership.import" }.count == 4)
        #expect(try await store.auditLog(limit: 20).allSatisfy { $0.address == "192.0.2.7" || $0.address == "cli" })
        #expect(try await store.firstBrokenAuditEntry() == nil)
    }
}

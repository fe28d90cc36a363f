import CanopyCompliance
import CanopyHost
import CanopyModel
import CanopyStore
import Foundation

/// GridCo's on-prem hosts: inventories recorded with `canopy agent --output`, stored through the
/// same intake as an agent's upload, as of the demo's last day, then checked with the estate.
public enum DemoHosts {
    struct Manifest: Decodable {
        struct Host: Decodable {
            var file: String
            var site: String
            var tags: [String: String]
            var pendingSinceDays: Int
        }

        var hosts: [Host]
    }

    public struct Summary: Sendable {
        public var hosts: Int
        public var sites: Int
        public var report: PatchCompliance.Report
    }

    public static func load(into store: any CanopyStore, engine: ComplianceEngine, end: Date) async throws -> Summary {
        guard let directory = Bundle.module.url(forResource: "hosts", withExtension: nil) else {
            throw HostInventoryProblem(field: "hosts", message: "the demo's host recordings are missing from the installation")
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: directory.appendingPathComponent("hosts.json")))
        var last: Scan?
        for host in manifest.hosts {
            var inventory = try CanopyJSON.decoder().decode(HostInventory.self, from: Data(contentsOf: directory.appendingPathComponent(host.file)))
            inventory.collectedAt = end
            let since = end.addingTimeInterval(-Double(host.pendingSinceDays) * 86_400)
            inventory.pendingUpdates = inventory.pendingUpdates?.map { update in
                var update = update
                update.firstSeen = since
                return update
            }
            last = try await HostIntake(store: store).record(
                inventory, placement: HostPlacement(site: host.site, tags: host.tags), source: "demo recording \(host.file)", now: end
            ).scan
        }
        if let last { try await engine.evaluate(scan: last, store: store) }
        return Summary(
            hosts: manifest.hosts.count, sites: Set(manifest.hosts.map(\.site)).count,
            report: try await PatchReports.evaluate(store: store, accounts: nil, now: end))
    }
}

import CanopyCompliance
import CanopyDemo
import CanopyHost
import CanopyModel
import CanopyStore
import Foundation
import Testing

@Suite struct DemoHostsTests {
    /// The demo's on-prem half: seven recorded hosts at their sites, in the same inventory, checked
    /// by the host guardrails, with patch compliance per business unit.
    @Test func theDemoShowsOnPremHostsBesideTheAWSAccounts() async throws {
        let store = try SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        let engine = try ComplianceEngine.load()
        try await DemoGovernance.prepare(store: store, engine: engine)
        let end = try #require(try await store.scans(limit: 1).first?.finishedAt)
        let summary = try await DemoHosts.load(into: store, engine: engine, end: end)
        #expect(summary.hosts == 7 && summary.sites == 5)
        let hosts = try await store.resources(ResourceQuery(types: [onpremHostType]))
        #expect(Set(hosts.map(\.name)) == ["hist-01", "plant-dcs-gw", "rtu-gw-07", "ems-app-01", "gis-db-01", "corp-files-01", "siem-collector-01"])
        #expect(try await store.resources(ResourceQuery(types: ["aws.ec2"])).count == 50, "the AWS estate is untouched")
        #expect(try await store.scans(limit: 1).first?.finishedAt == end, "the demo's last day stays the last day")
        let ems = try #require(hosts.first { $0.name == "ems-app-01" })
        #expect(try await store.hostPackages(hostUID: ems.uid).count == 823, "a real Debian 12 machine's packages")

        let units = Dictionary(uniqueKeysWithValues: summary.report.businessUnits.map { ($0.businessUnit, $0) })
        #expect(units["generation"]?.hosts == 3 && units["generation"]?.nonCompliant == 1 && units["generation"]?.unknown == 2)
        #expect(units["grid-operations"]?.nonCompliant == 2)
        // The Rocky Linux host's updates carry the vendor's severities from dnf's metadata.
        let gis = try #require(summary.report.hosts.first { $0.hostname == "gis-db-01" })
        #expect(gis.highestSeverity == "important" && gis.missingSecurity == 2)
        #expect(units["corporate"]?.compliant == 1 && units["cyber-platform"]?.compliant == 1)

        let open = try await store.findings(FindingQuery(statuses: [.new])).filter { $0.resourceType == onpremHostType }
        let byCheck = Dictionary(grouping: open, by: \.checkID)
        #expect(byCheck["host.os.unsupported"]?.map(\.resourceName) == ["plant-dcs-gw"])
        #expect(byCheck["host.patch.security_updates_overdue"]?.map(\.resourceName) == ["hist-01"])
        #expect(byCheck["host.account.extra_uid0"]?.map(\.resourceName) == ["hist-01"])
        #expect(byCheck["host.ssh.root_login_permitted"]?.map(\.resourceName) == ["plant-dcs-gw"])
        #expect(byCheck["host.network.unexpected_world_listener"]?.contains { $0.resourceName == "corp-files-01" } == false)
        // Host findings carry their application, so every cut by business unit has them.
        #expect(byCheck["host.os.unsupported"]?.first?.application == "plant-dcs-gateway")
    }
}

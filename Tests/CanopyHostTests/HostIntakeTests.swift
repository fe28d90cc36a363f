import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

@testable import CanopyHost

@Suite struct HostOnThisMachineTests {
    /// The collector against the machine the tests run on: whatever it is, the result is a valid
    /// inventory, and dpkg's own database agrees on what is installed.
    @Test func collectsTheRealMachine() throws {
        let host = HostCollector().collect()
        try HostInventoryValidation.validate(host, now: Date())
        #expect(HostIdentity.isValid(host.hostID))
        #expect(!host.kernel.release.isEmpty && host.kernel.release != "unknown")
        #expect((host.cpu?.logicalCPUs ?? 0) >= 1)
        #expect((host.memoryBytes ?? 0) > 0)
        #expect(host.disks.contains { $0.mountPoint == "/" } || host.disks.isEmpty)
        #expect(host.users.contains { $0.name == "root" && $0.uid == 0 })
        if let status = try? String(contentsOfFile: "/var/lib/dpkg/status", encoding: .utf8) {
            let installed = status.components(separatedBy: "\n\n").filter { $0.contains("\nStatus: install ok installed") || $0.contains("\nStatus: hold ok installed") }
            #expect(host.packages.count == installed.count)
        }
    }

    /// apt is the peer for pending updates: the same package names it lists as upgradable.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/apt"), "needs apt (a Debian machine)"))
    func pendingUpdatesMatchAptListUpgradable() async throws {
        let host = HostCollector().collect()
        // Without downloaded lists the pending updates are unknown, and apt has nothing to list either.
        guard let updates = host.pendingUpdates else {
            #expect(host.problems.contains { $0.source == "/var/lib/apt/lists" })
            return
        }
        let apt = try await Subprocess.run(["apt", "list", "--upgradable"], environment: ["LANG": "C", "PATH": "/usr/bin:/bin"])
        let names = Set(apt.text.split(separator: "\n").filter { $0.contains("[upgradable from:") }.compactMap { $0.split(separator: "/").first.map(String.init) })
        #expect(Set(updates.map(\.name)) == names)
    }
}

@Suite struct HostResourceTests {
    let host = HostFixtures.inventory("debian-ot")

    @Test func theResourceIsAnOnpremHostPlacedAtItsSite() throws {
        let resource = host.resource(placement: HostPlacement(site: "tpe-dc1", tags: ["App": "scada-historian", "Env": "production"]))
        #expect(resource.uid == "canopy:onprem:tpe-dc1:tpe-dc1:onprem.host/0f3c9a7be1d24c5e8a6b2d4f1e3c5a79")
        #expect(resource.provider == .onprem && resource.account == "tpe-dc1" && resource.type == "onprem.host" && resource.name == "hist-01")
        #expect(resource.tags == ["App": "scada-historian", "Env": "production", "Name": "hist-01"])
        let p = resource.properties
        #expect(p.value(atPath: "Sshd.PermitRootLogin")?.stringValue == "no")
        #expect(p.value(atPath: "Sshd.RootLoginAllowed")?.boolValue == false)
        #expect(p.value(atPath: "Sshd.PasswordAuthenticationAllowed")?.boolValue == true, "the Match block allows passwords")
        #expect(p["ExtraUid0Accounts"] == .array([.string("toor")]))
        #expect(p["EmptyPasswordAccounts"] == .array([.string("guest")]))
        #expect(p["NoPasswordSudoEverything"] == .array([.string("%ops")]))
        #expect(p["WorldListeningServices"] == .array([.string("tcp/22"), .string("tcp/502"), .string("udp/123")]))
        #expect(p["PendingSecurityUpdateCount"]?.intValue == 3)
        #expect(p.value(atPath: "OS.SupportEnds")?.stringValue == "2028-06-30T00:00:00.000Z")
        #expect(p.value(atPath: "TimeSync.Synchronised")?.boolValue == true)
        #expect(p["UptimeSeconds"] == nil, "values that change every minute stay out of the timeline")
    }

    /// The onprem-linux pack over the fixture hosts: each check fails exactly where the host's
    /// files say it should.
    @Test func hostChecksFindWhatTheFilesShow() throws {
        let engine = try ComplianceEngine.load()
        let now = HostFixtures.collectedAt
        var ot = host
        ot.pendingUpdates = ot.pendingUpdates?.map { var u = $0; u.firstSeen = now.addingTimeInterval(-40 * 86_400); return u }
        var old = HostFixtures.inventory("debian-damaged")
        old.os.versionID = "10"
        let resources = [
            ot.resource(placement: HostPlacement(site: "tpe-dc1")), old.resource(placement: HostPlacement(site: "tpe-dc1")),
            HostFixtures.inventory("plantos-rtu").resource(placement: HostPlacement(site: "khh-sub7")),
        ]
        let context = EvaluationContext(now: now, inventory: resources)
        var failing: [String: [String]] = [:]
        for outcome in engine.evaluate(context) where outcome.check.policy.resource == onpremHostType {
            failing[outcome.check.id] = outcome.failing.map(\.name).sorted()
        }
        #expect(failing["host.ssh.root_login_permitted"] == [])
        #expect(failing["host.ssh.password_authentication"] == ["hist-01"])
        #expect(failing["host.account.extra_uid0"] == ["hist-01"])
        #expect(failing["host.account.empty_password"] == ["hist-01"])
        #expect(failing["host.sudo.nopasswd_all"] == ["hist-01"])
        #expect(failing["host.network.unexpected_world_listener"] == ["hist-01"])
        #expect(failing["host.patch.security_updates_overdue"] == ["hist-01"])
        #expect(failing["host.os.unsupported"] == ["localhost"], "Debian 10 ended in 2024")
        #expect(failing["host.os.lifecycle_unknown"] == ["rtu-gw-07"])
        #expect(failing["host.time.no_sync"] == ["localhost", "rtu-gw-07"])
        // Mapped into the frameworks like the cloud checks.
        #expect(engine.requirementsByCheck["host.patch.security_updates_overdue"]?.contains("nist-800-53-r5-moderate:SI-2") == true)
        #expect(engine.requirementsByCheck["host.time.no_sync"]?.contains("iec-62443-3-3:SR 2.11") == true)
        #expect(engine.requirementsByCheck["host.ssh.root_login_permitted"]?.contains("tw-ics-protection-baseline:AC-3") == true)
    }
}

@Suite struct HostIntakeTests {
    @Test func storesTheHostAsItsOwnScanUnitAndCarriesUpdateAges() async throws {
        let store = try SQLiteStore()
        let intake = HostIntake(store: store)
        let first = HostFixtures.inventory("debian-ot")
        let day0 = first.collectedAt
        let placement = HostPlacement(site: "tpe-dc1", tags: ["Env": "production"])
        let stored = try await intake.record(first, placement: placement, source: "test", now: day0)
        #expect(stored.change == .added)
        #expect(try await store.hostPackages(hostUID: stored.resource.uid).count == 8)
        #expect(try await store.hostPorts(hostUID: stored.resource.uid).count == 6)
        #expect(try await store.accounts().contains { $0.id == "tpe-dc1" && $0.provider == .onprem })

        // Ten days later the same updates are still pending: their first-seen time is kept.
        var later = first
        later.collectedAt = day0.addingTimeInterval(10 * 86_400)
        let again = try await intake.record(later, placement: placement, source: "test", now: later.collectedAt)
        #expect(again.change == nil, "nothing about the host changed")
        let updates = again.resource.properties["PendingUpdates"]?.arrayValue ?? []
        #expect(updates.allSatisfy { $0["FirstSeen"]?.stringValue == Timestamps.iso8601(day0) })

        // The host patched libssl3: one update fewer, a change in its timeline.
        var patched = later
        patched.collectedAt = day0.addingTimeInterval(11 * 86_400)
        patched.pendingUpdates?.removeAll { $0.name == "libssl3" }
        let third = try await intake.record(patched, placement: placement, source: "test", now: patched.collectedAt)
        #expect(third.change == .modified)
        #expect(try await store.timeline(uid: third.resource.uid).count == 2)
        #expect(try await store.scans(limit: 5).allSatisfy { $0.status == .complete })
    }

    @Test func anotherHostsUploadLeavesTheRestOfTheInventoryAlone() async throws {
        let store = try SQLiteStore()
        let intake = HostIntake(store: store)
        let now = HostFixtures.collectedAt
        let a = try await intake.record(HostFixtures.inventory("debian-ot"), placement: HostPlacement(site: "tpe-dc1"), source: "test", now: now)
        _ = try await intake.record(HostFixtures.inventory("plantos-rtu"), placement: HostPlacement(site: "khh-sub7"), source: "test", now: now)
        let hosts = try await store.resources(ResourceQuery(types: [onpremHostType]))
        #expect(hosts.count == 2)
        #expect(hosts.contains { $0.uid == a.resource.uid })
    }

    @Test func invalidInventoriesAreRefusedNamingTheFieldAndStoreNothing() async throws {
        let store = try SQLiteStore()
        let intake = HostIntake(store: store)
        let now = HostFixtures.collectedAt
        var forged = HostFixtures.inventory("debian-ot")
        forged.hostID = "../../etc/passwd"
        await #expect(throws: HostInventoryProblem.self) { try await intake.record(forged, placement: HostPlacement(site: "tpe-dc1"), source: "test", now: now) }
        var huge = HostFixtures.inventory("debian-ot")
        huge.packages = Array(repeating: huge.packages[0], count: HostInventoryValidation.maximumPackages + 1)
        do {
            _ = try await intake.record(huge, placement: HostPlacement(site: "tpe-dc1"), source: "test", now: now)
            Issue.record("an oversized inventory was accepted")
        } catch let problem as HostInventoryProblem {
            #expect(problem.field == "packages")
        }
        var hostile = HostFixtures.inventory("debian-ot")
        hostile.packages[2].name = "evil\u{1B}[31m"
        do {
            _ = try await intake.record(hostile, placement: HostPlacement(site: "tpe-dc1"), source: "test", now: now)
            Issue.record("a control character was accepted")
        } catch let problem as HostInventoryProblem {
            #expect(problem.description == "packages[2].name: contains control characters")
        }
        var future = HostFixtures.inventory("debian-ot")
        future.schema = 2
        await #expect(throws: HostInventoryProblem.self) { try await intake.record(future, placement: HostPlacement(site: "tpe-dc1"), source: "test", now: now) }
        await #expect(throws: HostInventoryProblem.self) {
            try await intake.record(HostFixtures.inventory("debian-ot"), placement: HostPlacement(site: "dc 1; DROP"), source: "test", now: now)
        }
        #expect(try await store.resources(ResourceQuery()).isEmpty)
        #expect(try await store.scans(limit: 5).isEmpty)
    }
}

@Suite struct PatchComplianceTests {
    static let now = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01

    static func host(_ name: String, env: String?, app: String? = nil, updates: [(String, Bool, String?, Int)]?) -> Resource {
        var inventory = HostFixtures.inventory("debian-ot")
        inventory.hostID = String(ContentDigestForTests.hex(name).prefix(32))
        inventory.hostname = name
        inventory.pendingUpdates = updates.map { list in
            list.map {
                HostInventory.PendingUpdate(
                    name: $0.0, installedVersion: "1", candidateVersion: "2", security: $0.1, severity: $0.2, firstSeen: now.addingTimeInterval(-Double($0.3) * 86_400))
            }
        }
        var tags: [String: String] = [:]
        if let env { tags["Env"] = env }
        if let app { tags["App"] = app }
        return inventory.resource(placement: HostPlacement(site: "tpe-dc1", tags: tags))
    }

    @Test func approvedUpdatesStillMissingMakeAHostNonCompliant() {
        let hosts = [
            Self.host("scada-01", env: "production", app: "scada", updates: [("openssl", true, "high", 8), ("tzdata", false, nil, 2)]),
            Self.host("scada-02", env: "production", app: "scada", updates: [("openssl", true, "high", 5)]),
            Self.host("dev-01", env: "dev", app: "portal", updates: [("openssl", true, nil, 4), ("vim", false, nil, 31)]),
            Self.host("rtu-01", env: "production", app: "scada", updates: nil),
        ]
        let ownership = Ownership(
            businessUnits: [BusinessUnit(id: "grid", name: "Grid"), BusinessUnit(id: "corp", name: "Corporate")],
            applications: [
                Application(id: "scada", name: "SCADA", businessUnit: "grid", selector: ResourceSelector(tags: ["App": ["scada"]])),
                Application(id: "portal", name: "Portal", businessUnit: "corp", selector: ResourceSelector(tags: ["App": ["portal"]])),
            ])
        let report = PatchCompliance.evaluate(hosts: hosts, baseline: .standard, ownership: ownership, accounts: [], now: Self.now)
        let byName = Dictionary(uniqueKeysWithValues: report.hosts.map { ($0.hostname, $0) })
        // Production: security after 7 days. 8 days old is approved and missing; 5 is not yet due.
        #expect(byName["scada-01"]?.state == .nonCompliant)
        #expect(byName["scada-01"]?.missing.map(\.name) == ["openssl"])
        #expect(byName["scada-01"]?.pending.map(\.name) == ["tzdata"])
        #expect(byName["scada-01"]?.highestSeverity == "high")
        #expect(byName["scada-02"]?.state == .compliant)
        #expect(byName["scada-02"]?.pending.first?.approvedInDays == 2)
        // Elsewhere: security after 3 days, others after 30.
        #expect(byName["dev-01"]?.state == .nonCompliant)
        #expect(byName["dev-01"]?.missing.map(\.name) == ["vim", "openssl"])
        #expect(byName["rtu-01"]?.state == .unknown, "updates that could not be read are not compliance")
        let grid = report.businessUnits.first { $0.businessUnit == "grid" }
        #expect(grid?.hosts == 3 && grid?.compliant == 1 && grid?.nonCompliant == 1 && grid?.unknown == 1)
        #expect(grid?.compliancePercent == 50)
        #expect(grid?.securityByAge == ["0-7": 0, "8-30": 1, "31-90": 0, "91+": 0])
        #expect(report.businessUnits.first { $0.businessUnit == "corp" }?.missingSecurity == 1)
    }

    @Test func rulesMatchEnvironmentClassificationAndSeverityFirstMatchWins() {
        let baseline = PatchBaseline(rules: [
            .init(environment: "production", classification: "security", severities: ["critical"], approveAfterDays: 1),
            .init(environment: "production", classification: "security", approveAfterDays: 14),
            .init(environment: "*", classification: "any", approveAfterDays: 60),
        ])
        #expect(baseline.rule(environment: "Production", security: true, severity: "critical")?.approveAfterDays == 1)
        #expect(baseline.rule(environment: "production", security: true, severity: nil)?.approveAfterDays == 14)
        #expect(baseline.rule(environment: "production", security: false, severity: nil)?.approveAfterDays == 60)
        #expect(baseline.rule(environment: nil, security: true, severity: "critical")?.approveAfterDays == 60)
        #expect(PatchBaseline(rules: [.init(environment: "*", classification: "some", approveAfterDays: 400)]).problems().count == 2)
    }

    @Test func baselineFilesNameTheLineAndField() throws {
        let good = """
            rules:
              - environment: production
                classification: security
                severities: [Critical, high]
                approve_after_days: 3
              - classification: any
                approve_after_days: 14
            """
        let baseline = try PatchBaselineFile.parse(good, file: "baseline.yml")
        #expect(baseline.rules == [
            .init(environment: "production", classification: "security", severities: ["critical", "high"], approveAfterDays: 3),
            .init(environment: "*", classification: "any", approveAfterDays: 14),
        ])
        let bad = "rules:\n  - environment: production\n    classification: security\n    approve_after_days: soon\n"
        do {
            _ = try PatchBaselineFile.parse(bad, file: "baseline.yml")
            Issue.record("a non-number was accepted")
        } catch {
            #expect("\(error)".contains("baseline.yml:4"))
            #expect("\(error)".contains("rules[0].approve_after_days"))
        }
        #expect(throws: PolicyError.self) { try PatchBaselineFile.parse("rules:\n  - {classification: security, approve_after_days: 1, typo: 2}\n", file: "b.yml") }
    }

    @Test func theStoreKeepsTheBaselineWithItsTextAndAuditsAChange() async throws {
        let store = try SQLiteStore()
        #expect(try await store.patchBaseline() == nil)
        let applied = try await store.applyPatchBaseline(.standard, source: "rules: …", actor: "ccoe")
        #expect(applied?.sha256.count == 64)
        #expect(try await store.applyPatchBaseline(.standard, source: "rules: …", actor: "ccoe") == nil, "the same baseline changes nothing")
        #expect(try await store.auditLog(limit: 5).filter { $0.action == "patch.baseline.apply" }.count == 1)
        await #expect(throws: StoreError.self) { try await store.applyPatchBaseline(PatchBaseline(rules: []), source: "", actor: "ccoe") }
    }
}

enum ContentDigestForTests {
    static func hex(_ text: String) -> String { ContentDigest.sha256(text) }
}

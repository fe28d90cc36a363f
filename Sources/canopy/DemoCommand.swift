import ArgumentParser
import CanopyCompliance
import CanopyDemo
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load the bundled demo estate (a four-account power utility) into canopy-demo.db and show it.",
        discussion: "Needs no network, no credentials and no Python.")

    @Option(help: "Where to write the demo database (replaced if it exists).") var database = "canopy-demo.db"
    @Option(help: "Instead: record the complete scans of this database as demo data (for maintainers).")
    var recordFrom: String?
    @Option(help: "With --record-from: the file to write.") var output = "Sources/CanopyDemo/Resources/demo-estate.json"

    func run() async throws {
        if let recordFrom {
            let recording = try await DemoRecording.record(
                from: try SQLiteStore(path: recordFrom),
                description: "GridCo, a four-account power utility, seeded into moto by shared/tools/moto/seed_estate.py and scanned by Canopy")
            try recording.encoded().write(to: URL(fileURLWithPath: output))
            printOut("recorded \(recording.scans.count) scans of \(recording.accounts.count) accounts into \(output)")
            return
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let store = try SQLiteStore(path: database)
        let recording = try DemoRecording.bundled()
        try await recording.load(into: store)

        let accounts = try await store.accounts()
        let scans = try await store.scans(limit: 10)
        let counts = try await store.countsByType()
        printOut("Canopy demo — \(recording.description)")
        printOut("database: \(database)\n")
        printOut("accounts (\(accounts.count)):")
        for account in accounts {
            printOut("  \(account.id)  \(account.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(account.organizationalUnit ?? "")")
        }
        printOut("\ninventory: \(counts.values.reduce(0, +)) resources")
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) {
            printOut("  \(type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)")
        }
        var example: String?
        if scans.count >= 2 {
            let newer = scans[0].id
            let older = scans[1].id
            let changes = try await store.diff(from: older, to: newer)
            example = changes.first { $0.kind == .modified }?.uid
            printOut("\nbetween scan \(older) and scan \(newer): \(changes.count) changes")
            for change in changes.prefix(12) {
                let sign = change.kind == .added ? "+" : change.kind == .removed ? "-" : "~"
                let detail = change.differences.prefix(2).map { "\($0.path): \($0.before?.compactText ?? "∅") → \($0.after?.compactText ?? "∅")" }.joined(separator: "; ")
                printOut("  \(sign) \(change.type) \(change.name)" + (detail.isEmpty ? "" : "  (\(detail.prefix(120)))"))
            }
        }
        let engine = try ComplianceEngine.load()
        try await DemoCompliance.prepare(store: store, engine: engine)
        printOut("\ncompliance (\(engine.checks.count) checks in \(engine.packs.count) packs; 2 evaluations, one per scan):")
        printOut(try await ComplianceText.summary(engine: engine, store: store))
        let open = try await store.findings(FindingQuery(statuses: [.new, .inProgress]))
        let bySeverity = Dictionary(grouping: open, by: \.severityID).mapValues(\.count)
        let severityLine = Severity.allCases.reversed().map { "\(bySeverity[$0.ocsfID] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        printOut("open findings: \(open.count) (\(severityLine))")

        printOut("""

            next:
              canopy compliance --database \(database) --framework nerc-cip
              canopy report audit --database \(database) --framework tw-ics-protection-baseline --level 中 --lang zh-TW -o tw-audit.html
              canopy findings --database \(database) --severity high
              canopy resources --database \(database) --type ec2 --tag Env=prod
              canopy scans --database \(database)
              canopy diff --database \(database) \(scans.last?.id ?? 1) \(scans.first?.id ?? 2)
            """)
        if let example {
            printOut("  canopy resource --database \(database) \(example)")
        }
    }
}

/// The demo's governance story: the first scan is evaluated, the CCoE grants one exception and
/// attests two manual requirements, then the second scan is evaluated — so the reports show
/// automated, waived and manual requirements and a trend.
enum DemoCompliance {
    static func prepare(store: SQLiteStore, engine: ComplianceEngine) async throws {
        let scans = try await store.scans(limit: 10).filter { $0.status == .complete }.sorted { $0.id < $1.id }
        guard let last = scans.last else { return }
        for scan in scans.dropLast() { try await engine.evaluate(scan: scan, store: store) }
        let bastion = try await store.resources(ResourceQuery(types: ["aws.security-group"])).first {
            $0.properties["GroupName"]?.stringValue == "bastion-ssh-open"
        }
        let granted = last.finishedAt ?? Date()
        if let bastion {
            _ = try await store.save(
                Waiver(
                    id: 0, checkID: "ec2.sg.ssh_open_to_world", selector: bastion.uid,
                    reason: "OT bastion: SSH reaches it only through the vendor VPN (NACL); replacement by Session Manager is change CHG-2026-114",
                    requestedBy: "ot-platform@gridco.example", approvedBy: "ccoe-lead@gridco.example", state: .approved,
                    createdAt: granted.addingTimeInterval(-3_600), expiresAt: granted.addingTimeInterval(90 * 86_400)),
                actor: "ccoe-lead@gridco.example")
        }
        _ = try await store.save(
            Waiver(
                id: 0, checkID: "config.account.not_recording", selector: "*",
                reason: "Member-account AWS Config recorders arrive with the Control Tower rollout (CHG-2026-120); until then the management account records organization-wide changes",
                requestedBy: "cloud-platform@gridco.example", approvedBy: "ciso@gridco.example", state: .approved,
                createdAt: granted.addingTimeInterval(-3_600), expiresAt: granted.addingTimeInterval(60 * 86_400)),
            actor: "ciso@gridco.example")
        let inventory = "BCSI information inventory 2026: SCADA historian archive, EMS network diagrams, substation IED configurations"
        _ = try await store.save(
            Attestation(
                id: 0, frameworkID: "nerc-cip", requirementID: "CIP-011-3 R1 Part 1.1", satisfied: true,
                statement: "BCSI repositories identified and labelled DataClass=bcsi; inventory reviewed by the CIP senior manager",
                evidenceName: "bcsi-information-inventory-2026.txt", evidenceSHA256: ContentHash.sha256(inventory),
                attestedBy: "cip-senior-manager@gridco.example", attestedAt: granted.addingTimeInterval(-1_800),
                expiresAt: granted.addingTimeInterval(365 * 86_400)),
            actor: "cip-senior-manager@gridco.example")
        _ = try await store.save(
            Attestation(
                id: 0, frameworkID: "tw-ics-protection-baseline", requirementID: "AU-5", satisfied: true,
                statement: "EC2 uses the Amazon Time Sync Service; on-premises hosts sync to the GPS stratum-1 NTP servers",
                evidenceName: nil, evidenceSHA256: nil, attestedBy: "soc@gridco.example", attestedAt: granted.addingTimeInterval(-1_800),
                expiresAt: granted.addingTimeInterval(365 * 86_400)),
            actor: "soc@gridco.example")
        try await engine.evaluate(scan: last, store: store)
    }
}

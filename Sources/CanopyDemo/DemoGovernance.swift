import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// The demo's governance story: the first scan is evaluated, the CCoE grants three exceptions and
/// attests two manual requirements, then the second scan is evaluated — so the reports show
/// automated, waived and manual requirements and a trend.
public enum DemoGovernance {
    /// GridCo's business units and applications (`Resources/demo-ownership.yaml`).
    public static func ownership() throws -> Ownership {
        guard let url = Bundle.module.url(forResource: "demo-ownership", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "demo-ownership.yaml"])
        }
        return try OwnershipFile.load(path: url.path)
    }

    /// GridCo's cost allocation rules (`Resources/demo-allocation.yaml`) and their text.
    public static func allocation() throws -> (rules: AllocationRules, source: String) {
        guard let url = Bundle.module.url(forResource: "demo-allocation", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "demo-allocation.yaml"])
        }
        let source = try String(contentsOf: url, encoding: .utf8)
        return (try AllocationFile.parse(source, file: "demo-allocation.yaml"), source)
    }

    public static func prepare(store: any CanopyStore, engine: ComplianceEngine) async throws {
        let scans = try await store.scans(limit: 10).filter { $0.status == .complete }.sorted { $0.id < $1.id }
        guard let last = scans.last else { return }
        try await store.replaceOwnership(try ownership(), actor: "ccoe-lead@gridco.example")
        for scan in scans.dropLast() { try await engine.evaluate(scan: scan, store: store) }
        let bastion = try await store.resources(ResourceQuery(types: ["aws.security-group"])).first {
            $0.properties["GroupName"]?.stringValue == "bastion-ssh-open"
        }
        let granted = last.finishedAt ?? Date()
        /// An exception granted an hour before the last scan finished, by `approver`.
        func grant(_ check: String, _ selector: String, _ reason: String, requester: String, approver: String, days: Double) async throws {
            _ = try await store.save(
                Waiver(
                    id: 0, checkID: check, selector: selector, reason: reason, requestedBy: requester, approvedBy: approver, state: .approved,
                    createdAt: granted.addingTimeInterval(-3_600), expiresAt: granted.addingTimeInterval(days * 86_400)),
                actor: approver)
        }
        if let bastion {
            try await grant(
                "ec2.sg.ssh_open_to_world", bastion.uid,
                "OT bastion: SSH reaches it only through the vendor VPN (NACL); replacement by Session Manager is change CHG-2026-114",
                requester: "ot-platform@gridco.example", approver: "ccoe-lead@gridco.example", days: 90)
        }
        try await grant(
            "config.account.not_recording", "*",
            "Member-account AWS Config recorders arrive with the Control Tower rollout (CHG-2026-120); until then the management account records organization-wide changes",
            requester: "cloud-platform@gridco.example", approver: "ciso@gridco.example", days: 60)
        try await grant(
            "rds.instance.single_az", "*",
            "Single-AZ databases accepted until the Aurora migration (PRJ-2027-03); restores are rehearsed monthly and RTO 4 h is met",
            requester: "dba@gridco.example", approver: "ccoe-lead@gridco.example", days: 120)
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
                id: 0, frameworkID: "tw-ics-protection-baseline", requirementID: "AU-3", satisfied: true,
                statement: "Log storage is sized for 13 months of CloudTrail and on-premises syslog at the SOC; capacity reviewed 2026-Q3 with 40% headroom",
                evidenceName: nil, evidenceSHA256: nil, attestedBy: "soc@gridco.example", attestedAt: granted.addingTimeInterval(-1_800),
                expiresAt: granted.addingTimeInterval(365 * 86_400)),
            actor: "soc@gridco.example")
        try await engine.evaluate(scan: last, store: store)
    }
}

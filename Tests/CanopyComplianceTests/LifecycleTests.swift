import CanopyCompliance
import CanopyDemo
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Testing

/// A small engine: one check (unencrypted volumes), mapped by two frameworks.
func smallEngine() throws -> ComplianceEngine {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-engine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let pack = folder.appendingPathComponent("mini.yml")
    try """
        policies:
          - name: ebs-unencrypted
            resource: aws.ebs
            metadata: {check: t.volume.unencrypted, severity: high, title: Unencrypted volume, remediation: Encrypt it.}
            filters:
              - Encrypted: false
        """.write(to: pack, atomically: true, encoding: .utf8)
    let loaded = try Packs.load(name: "mini", path: pack.path)
    let frameworkA = folder.appendingPathComponent("a.yml")
    try "framework: {id: fa, name: A}\nrequirements:\n  - {id: A1, title: Encrypt, mode: automated, checks: [t.volume.unencrypted]}\n  - {id: A2, title: Paper, mode: manual}\n"
        .write(to: frameworkA, atomically: true, encoding: .utf8)
    let frameworkB = folder.appendingPathComponent("b.yml")
    try "framework: {id: fb, name: B}\nrequirements:\n  - {id: B7, title: Protect data, mode: automated, checks: [t.volume.unencrypted]}\n"
        .write(to: frameworkB, atomically: true, encoding: .utf8)
    let checks: Set<String> = ["t.volume.unencrypted"]
    return ComplianceEngine(
        packs: [loaded], frameworks: [try Frameworks.load(path: frameworkA.path, checks: checks), try Frameworks.load(path: frameworkB.path, checks: checks)])
}

func volume(_ id: String, encrypted: Bool, account: String = "111111111111", tags: [String: String] = [:]) -> Resource {
    Resource(
        uid: "arn:aws:ec2:us-east-1:\(account):volume/\(id)", account: account, region: "us-east-1", type: "aws.ebs", name: id, tags: tags,
        properties: ["VolumeId": .string(id), "Encrypted": .bool(encrypted)], observedAt: Date())
}

@Suite struct FindingLifecycleTests {
    @Test func newUpdatedResolvedAndReopenedInPlace() async throws {
        let store = try SQLiteStore()
        let engine = try smallEngine()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        func evaluate(_ inventory: [Resource], at offset: Double) async throws -> Evaluation {
            try await engine.run(store: store, context: EvaluationContext(now: t0.addingTimeInterval(offset), inventory: inventory), scanID: nil)
        }
        let first = try await evaluate([volume("v1", encrypted: false), volume("v2", encrypted: true)], at: 0)
        #expect(first.opened == 1 && first.resolved == 0)
        let uid = ComplianceEngine.findingUID(check: "t.volume.unencrypted", resource: volume("v1", encrypted: false).uid)
        var finding = try #require(try await store.findings(FindingQuery()).first)
        #expect(finding.uid == uid && finding.status == .new)
        #expect(finding.requirements.sorted() == ["fa:A1", "fb:B7"], "one finding for the check, listing every framework's requirement")

        let second = try await evaluate([volume("v1", encrypted: false), volume("v2", encrypted: true)], at: 3_600)
        #expect(second.opened == 0)
        finding = try #require(try await store.findings(FindingQuery()).first)
        #expect(finding.firstSeen == t0 && finding.lastSeen == t0.addingTimeInterval(3_600))

        _ = try await store.triage(findingUID: uid, status: .inProgress, assignee: "ops", note: "ticket OPS-1", actor: "alice", at: t0)
        let fixed = try await evaluate([volume("v1", encrypted: true), volume("v2", encrypted: true)], at: 7_200)
        #expect(fixed.resolved == 1)
        finding = try #require(try await store.findings(FindingQuery(statuses: [.resolved])).first)
        #expect(finding.resolvedAt == t0.addingTimeInterval(7_200) && finding.assignee == "ops")

        let relapse = try await evaluate([volume("v1", encrypted: false), volume("v2", encrypted: true)], at: 10_800)
        #expect(relapse.reopened == 1 && relapse.opened == 0)
        let all = try await store.findings(FindingQuery(statuses: nil))
        #expect(all.count == 1 && all[0].uid == uid && all[0].status == .new && all[0].reopenCount == 1)

        let results = try await store.checkResults(evaluationID: relapse.id)
        #expect(results.map(\.failed).reduce(0, +) == 1 && results.map(\.passed).reduce(0, +) == 1)
        #expect(try await store.firstBrokenAuditEntry() == nil)
        #expect(try await store.auditLog(limit: 10).map(\.action) == ["finding.triage"])
    }

    @Test func waiversSuppressAndTheirExpiryReactivates() async throws {
        let store = try SQLiteStore()
        let engine = try smallEngine()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let inventory = [volume("v1", encrypted: false, tags: ["Env": "lab"]), volume("v2", encrypted: false, account: "222222222222")]
        _ = try await store.save(
            Waiver(
                id: 0, checkID: "t.volume.unencrypted", selector: "tag:Env=lab", reason: "lab data only", requestedBy: "bob",
                approvedBy: "carol", state: .approved, createdAt: t0, expiresAt: t0.addingTimeInterval(86_400)),
            actor: "carol")
        try await engine.run(store: store, context: EvaluationContext(now: t0.addingTimeInterval(60), inventory: inventory), scanID: nil)
        let statuses = Dictionary(uniqueKeysWithValues: try await store.findings(FindingQuery(statuses: nil)).map { ($0.resourceName, $0.status) })
        #expect(statuses == ["v1": .suppressed, "v2": .new])
        let assessment = try await engine.assess(framework: "fa", store: store, now: t0.addingTimeInterval(60))
        #expect(assessment.requirements.first { $0.requirement.id == "A1" }?.status == .failed)
        #expect(assessment.requirements.first { $0.requirement.id == "A1" }?.checks.first?.waived == 1)

        // The day after, the waiver has expired: the finding is active again.
        try await engine.run(store: store, context: EvaluationContext(now: t0.addingTimeInterval(90_000), inventory: inventory), scanID: nil)
        let later = try await store.findings(FindingQuery(statuses: nil))
        #expect(later.allSatisfy { $0.status == .new && $0.waiverID == nil })
        #expect(try await store.auditLog(limit: 10).first?.action == "exception.grant")
    }

    @Test func requirementStatusesAndAttestations() async throws {
        let store = try SQLiteStore()
        let engine = try smallEngine()
        let now = Date()
        try await engine.run(store: store, context: EvaluationContext(now: now, inventory: [volume("v1", encrypted: true)]), scanID: nil)
        var a = try await engine.assess(framework: "fa", store: store, now: now)
        #expect(a.requirements.map(\.status) == [.passed, .manual])
        #expect(a.summary.passRate == 1)
        _ = try await store.save(
            Attestation(
                id: 0, frameworkID: "fa", requirementID: "A2", satisfied: false, statement: "policy not yet signed", evidenceName: nil,
                evidenceSHA256: nil, attestedBy: "auditor", attestedAt: now, expiresAt: nil),
            actor: "auditor")
        a = try await engine.assess(framework: "fa", store: store, now: now)
        #expect(a.requirements.map(\.status) == [.passed, .attestedFailed])
        #expect(a.summary.passRate == 0.5)
        try await engine.run(store: store, context: EvaluationContext(now: now, inventory: []), scanID: nil)
        a = try await engine.assess(framework: "fa", store: store, now: now)
        #expect(a.requirements.first?.status == .noResources)
    }
}

@Suite struct DemoComplianceTests {
    /// The bar: NERC CIP and Taiwan reports for the demo estate show automated, manual and
    /// waived requirements.
    @Test func demoReportsShowAutomatedManualAndWaivedRequirements() async throws {
        let store = try SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        let engine = try ComplianceEngine.load()
        try await DemoGovernance.prepare(store: store, engine: engine)
        #expect(try await store.evaluations(limit: 10).count == 2)

        let nerc = try await engine.assess(framework: "nerc-cip", store: store)
        let nercStatuses = Set(nerc.requirements.map(\.status))
        #expect(nercStatuses.isSuperset(of: [.failed, .passed, .waived, .attested, .manual]), "\(nercStatuses)")
        let taiwan = try await engine.assess(framework: "tw-ics-protection-baseline", level: "中", store: store)
        let taiwanStatuses = Set(taiwan.requirements.map(\.status))
        #expect(taiwanStatuses.isSuperset(of: [.failed, .attested, .manual, .waived]), "\(taiwanStatuses)")
        #expect(taiwan.trend.count == 2)

        let html = try AuditReport.render(taiwan, format: .html, language: .zhTW)
        #expect(html.contains("資通系統防護基準") && html.contains("已聲明符合") && html.contains("未通過"))
        let csv = try AuditReport.render(nerc, format: .csv)
        #expect(csv.contains("CIP-011-3 R1 Part 1.2") && csv.contains(",waived,"))
        let json = try JSONValue.parse(Data(try AuditReport.render(nerc, format: .json).utf8))
        #expect(json["requirements"]?.arrayValue?.count == nerc.requirements.count)

        // Findings carry evidence that resolves to the stored resource state.
        let finding = try #require(try await store.findings(FindingQuery(checkIDs: ["s3.bucket.public"])).first)
        let version = try #require(finding.resourceVersion)
        let state = try #require(try await store.resourceState(version: version))
        #expect(state["properties"]?["Name"]?.stringValue == "gridco-gridops-outage-maps-public")
        #expect(try await store.firstBrokenAuditEntry() == nil)
    }

    @Test func csvFieldsAreQuotedAndFormulaSafe() {
        #expect(AuditReport.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(AuditReport.field("a,b") == "\"a,b\"")
        #expect(AuditReport.field("plain") == "plain")
    }
}

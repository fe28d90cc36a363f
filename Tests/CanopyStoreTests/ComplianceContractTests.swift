import CanopyModel
import CanopyStore
import Foundation
import Testing

/// The compliance and audit parts of the store contract, over every implementation.
extension StoreContractTests {
    static func finding(_ uid: String, check: String = "c.one", status: FindingStatus = .new, severity: Int = 4, account: String = "111111111111", app: String? = "billing") -> Finding {
        Finding(
            uid: uid, checkID: check, title: "T", severityID: severity, status: status, resourceUID: "res-\(uid)", resourceType: "aws.ebs",
            resourceName: uid, account: account, region: "us-east-1", application: app, firstSeen: t0, lastSeen: t0, lastScanID: nil,
            resourceVersion: nil, policyHash: "h", requirements: ["fw:R1", "other:X"])
    }

    @Test("evaluations upsert findings in place and keep triage", arguments: stores)
    func findingsRoundTrip(factory: Factory) async throws {
        let store = try factory.make()
        let first = try await store.record(
            EvaluationRecord(
                scanID: nil, evaluatedAt: Self.t0, checks: 2,
                findings: [Self.finding("a"), Self.finding("b", check: "c.two", severity: 2, account: "222222222222", app: nil)],
                results: [CheckResult(checkID: "c.one", account: "111111111111", application: "billing", passed: 3, failed: 1, waived: 0)],
                opened: 2, resolved: 0, reopened: 0))
        #expect(first.id > 0)
        let triaged = try await store.triage(findingUID: "a", status: .inProgress, assignee: "ops", note: "OPS-7", actor: "alice", at: Self.t0)
        #expect(triaged.status == .inProgress)
        var updated = Self.finding("a", status: .inProgress)
        updated.lastSeen = Self.t0.addingTimeInterval(60)
        _ = try await store.record(
            EvaluationRecord(scanID: nil, evaluatedAt: Self.t0.addingTimeInterval(60), checks: 2, findings: [updated], results: [], opened: 0, resolved: 0, reopened: 0))
        let a = try #require(try await store.findings(FindingQuery(checkIDs: ["c.one"])).first)
        #expect(a.lastSeen == Self.t0.addingTimeInterval(60) && a.assignee == "ops" && a.note == "OPS-7" && a.requirements == ["fw:R1", "other:X"])
        #expect(try await store.findings(FindingQuery(accounts: ["222222222222"])).map(\.uid) == ["b"])
        #expect(try await store.findings(FindingQuery(minimumSeverityID: 3)).map(\.uid) == ["a"])
        #expect(try await store.findings(FindingQuery(statuses: [.new])).map(\.uid) == ["b"])
        #expect(try await store.findings(FindingQuery(application: "billing")).map(\.uid) == ["a"])
        #expect(try await store.findings(FindingQuery(checkIDs: [])).isEmpty)
        #expect(try await store.findings(FindingQuery(uids: ["b"], statuses: nil)).map(\.uid) == ["b"])
        #expect(try await store.evaluations(limit: 5).map(\.id).count == 2)
        #expect(try await store.checkResults(evaluationID: first.id).first?.failed == 1)
        await #expect(throws: StoreError.self) { try await store.triage(findingUID: "nope", status: nil, assignee: nil, note: nil, actor: "x", at: Self.t0) }
    }

    @Test("waivers and attestations are saved and audited in a verifiable chain", arguments: stores)
    func waiversAttestationsAndAudit(factory: Factory) async throws {
        let store = try factory.make()
        var waiver = try await store.save(
            Waiver(id: 0, checkID: "c.one", selector: "*", reason: "r", requestedBy: "bob", approvedBy: nil, state: .requested, createdAt: Self.t0, expiresAt: Self.t0.addingTimeInterval(86_400)),
            actor: "bob")
        #expect(waiver.id > 0)
        waiver.state = .approved
        waiver.approvedBy = "carol"
        _ = try await store.save(waiver, actor: "carol")
        #expect(try await store.waivers().map(\.state) == [.approved])
        var missing = waiver
        missing.id = 999
        await #expect(throws: StoreError.self) { try await store.save(missing, actor: "x") }
        _ = try await store.save(
            Attestation(id: 0, frameworkID: "fw", requirementID: "R2", satisfied: true, statement: "s", evidenceName: "e.pdf", evidenceSHA256: "ab", attestedBy: "dan", attestedAt: Self.t0, expiresAt: nil),
            actor: "dan")
        #expect(try await store.attestations().first?.evidenceName == "e.pdf")
        let log = try await store.auditLog(limit: 10)
        #expect(log.map(\.action) == ["attestation.record", "exception.approved", "exception.request"])
        #expect(log.map(\.actor) == ["dan", "carol", "bob"])
        #expect(log[0].previousHash == log[1].hash && log[1].previousHash == log[2].hash && log[2].previousHash == "")
        #expect(try await store.firstBrokenAuditEntry() == nil)
    }
}

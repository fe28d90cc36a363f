import CanopyAWS
import CanopyCompliance
import CanopyDemo
import CanopyModel
import CanopySecurity
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

/// Security Hub both ways against moto: Canopy's findings pushed with BatchImportFindings are
/// read back by boto3 as valid ASFF; other products' findings imported by boto3 are pulled with
/// GetFindings (every page), Canopy's own left out.
extension MotoIntegrationTests {
    @Test func findingsGoToSecurityHubAndComeBackFromIt() async throws {
        let store = try SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        try await DemoGovernance.prepare(store: store, engine: try ComplianceEngine.load())
        _ = try await DemoSecurity.load(into: store, box: .ephemeral(), end: try await store.scans(limit: 1).first?.finishedAt ?? Date())
        let views = try await FindingsHub.list(store: store, FindingsHub.Selection())
        let own = views.filter { $0.finding.source == Detector.source || $0.finding.source == FindingsHub.guardrailSource }
        #expect(own.count > 100 && own.count < views.count)

        let client = Self.client()
        let pushed = try await SecurityHub.push(views: views, client: client, region: "us-east-1", importingAccount: "123456789012")
        #expect(pushed.sent == own.count && pushed.failed.isEmpty)
        let detection = try #require(own.first { $0.finding.title == "Security Group Opened to the Internet" })
        // boto3 reads what Canopy wrote, field by field.
        try Moto.boto3("""
            hub = client("securityhub")
            found = [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"] if f["Id"] == "\(detection.finding.uid)"]
            assert len(found) >= 1, "not in Security Hub"
            f = found[0]
            assert f["ProductArn"] == "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default", f["ProductArn"]
            assert f["AwsAccountId"] == "599006413549" and f["Severity"]["Label"] == "HIGH", f
            assert f["Resources"][0]["Type"] == "AwsEc2SecurityGroup", f["Resources"]
            assert f["Resources"][0]["Id"].endswith("security-group/sg-a42c46c85bd9cd4e3"), f["Resources"]
            assert f["ProductFields"]["canopy/business_unit"] == "generation", f["ProductFields"]
            assert "ec2.sg.ssh_open_to_world" in f["ProductFields"]["canopy/why"], f["ProductFields"]
            """)

        let export = Moto.packageRoot.appendingPathComponent("Sources/CanopyDemo/Resources/security/asff-securityhub-export.json")
        try Moto.boto3("""
            import json
            hub = client("securityhub")
            result = hub.batch_import_findings(Findings=json.load(open("\(export.path)"))["Findings"])
            assert result["SuccessCount"] == 3, result
            """)
        let pulledInto = try SQLiteStore()
        let pulled = try await SecurityHub.pull(client: client, region: "us-east-1", store: pulledInto, skipBad: false, actor: "t")
        #expect(pulled.read > 100, "more than one page of 100")
        #expect(pulled.ownSkipped >= own.count && pulled.skipped.isEmpty)
        let stored = try await pulledInto.securityFindings(SecurityFindingFilter(), limit: nil)
        #expect(Set(stored.map(\.source)) == ["GuardDuty", "Inspector", "Security Hub"] && stored.count == 3)
        let again = try await SecurityHub.pull(client: client, region: "us-east-1", store: pulledInto, skipBad: false, actor: "t")
        #expect(again.saved.added == 0 && again.saved.updated == 0)
    }
}

import CanopyAWS
import CanopyLake
import CanopyModel
import CanopyStore
import Foundation

/// AWS Security Hub both ways: pull its findings (GuardDuty, Inspector, Macie, its own
/// controls… all in ASFF) with `GetFindings`, and push Canopy's own — detections and guardrail
/// findings — with `BatchImportFindings`, so teams that live in Security Hub see them too.
public enum SecurityHub {
    /// Marks the findings Canopy pushed, so a pull does not take them back in as another source's.
    static let canopyUIDField = "canopy/uid"

    public struct Pull: Sendable {
        public var read: Int
        /// Canopy's own findings, pushed earlier, left out.
        public var ownSkipped: Int
        public var saved: SecurityFindingSave
        public var skipped: [FindingInputError]
    }

    /// Every finding `GetFindings` returns (all pages; optional ASFF `filters`), imported like an
    /// ASFF file in one transaction.
    public static func pull(
        client: AWSClient, region: String, filters: JSONValue? = nil, store: any CanopyStore, skipBad: Bool, actor: String, maxPages: Int = 1_000
    ) async throws -> Pull {
        var records: [JSONValue] = []
        var token: String?
        var pages = 0
        repeat {
            var body: [String: JSONValue] = ["MaxResults": 100]
            if let filters { body["Filters"] = filters }
            if let token { body["NextToken"] = .string(token) }
            let page = try await client.rest(
                "securityhub", "GetFindings", region: region, path: "/findings", body: Data(JSONValue.object(body).canonicalJSON().utf8), contentType: "application/json")
            records += page["Findings"]?.arrayValue ?? []
            token = page["NextToken"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < maxPages
        let own = records.filter { $0.value(atPath: "ProductFields")?[canopyUIDField] != nil }
        let theirs = records.filter { $0.value(atPath: "ProductFields")?[canopyUIDField] == nil }
        let source = "securityhub://\(region)"
        let parsed = try FindingImport.parse(Data(JSONValue.object(["Findings": .array(theirs)]).canonicalJSON().utf8), file: source, skipBad: skipBad)
        let saved = try await store.saveSecurityFindings(parsed.findings, events: [:], actor: actor, action: "findings.import", source: source)
        return Pull(read: records.count, ownSkipped: own.count, saved: saved, skipped: parsed.skipped)
    }

    /// A Canopy finding in ASFF, as a custom product of the account that imports it
    /// (`product/<account>/default`).
    public static func asff(_ view: FindingView, importingAccount: String, region: String) -> JSONValue {
        let f = view.finding
        let label = ["INFORMATIONAL", "INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "CRITICAL"][min(max(f.severityID, 0), 6)]
        let types: [JSONValue] =
            switch f.findingClass {
            case .detection: ["TTPs"]
            case .vulnerability: ["Software and Configuration Checks/Vulnerabilities/CVE"]
            case .compliance: ["Software and Configuration Checks/Industry and Regulatory Standards"]
            }
        let resource: JSONValue =
            f.resourceUID.map { ["Type": .string(asffType(f.resourceType, uid: $0)), "Id": .string($0), "Partition": "aws", "Region": .string(f.region.isEmpty ? region : f.region)] }
            ?? ["Type": "AwsAccount", "Id": .string("AWS::::Account:\(f.account)"), "Partition": "aws", "Region": .string(f.region.isEmpty ? region : f.region)]
        let workflow: String =
            switch view.status {
            case .new: "NEW"
            case .inProgress: "NOTIFIED"
            case .suppressed: "SUPPRESSED"
            case .resolved: "RESOLVED"
            }
        var productFields: [String: JSONValue] = [
            canopyUIDField: .string(f.uid), "canopy/source": .string(f.source), "canopy/priority": .string(SecurityFinding.severityName(view.priority)),
        ]
        if let unit = view.context.businessUnit { productFields["canopy/business_unit"] = .string(unit) }
        if let application = view.context.application { productFields["canopy/application"] = .string(application) }
        if !view.reasons.isEmpty { productFields["canopy/why"] = .string(view.reasons.joined(separator: "; ")) }
        var finding: [String: JSONValue] = [
            "SchemaVersion": "2018-10-08", "Id": .string(f.uid),
            "ProductArn": .string("arn:aws:securityhub:\(region):\(importingAccount):product/\(importingAccount)/default"),
            "GeneratorId": .string("canopy/\(f.ruleID)"), "AwsAccountId": .string(f.account.isEmpty ? importingAccount : f.account), "Types": .array(types),
            "FirstObservedAt": .string(Timestamps.iso8601(f.firstSeen)), "LastObservedAt": .string(Timestamps.iso8601(f.lastSeen)),
            "CreatedAt": .string(Timestamps.iso8601(f.firstSeen)), "UpdatedAt": .string(Timestamps.iso8601(f.updatedAt)),
            "Severity": ["Label": .string(label)], "Title": .string(String(f.title.prefix(256))),
            "Description": .string(String((f.description.isEmpty ? f.title : f.description).prefix(1_024))), "Resources": [resource],
            "Workflow": ["Status": .string(workflow)], "RecordState": view.status == .resolved ? "ARCHIVED" : "ACTIVE",
            "ProductFields": .object(productFields), "CompanyName": "Canopy", "ProductName": .string(f.source),
        ]
        if f.findingClass == .compliance { finding["Compliance"] = ["Status": view.status == .resolved ? "PASSED" : "FAILED"] }
        if let note = f.note { finding["Note"] = ["Text": .string(String(note.prefix(512))), "UpdatedBy": .string(f.assignee ?? "canopy"), "UpdatedAt": .string(Timestamps.iso8601(f.updatedAt))] }
        return .object(finding)
    }

    /// Canopy's resource types as ASFF's (`AwsEc2Instance`…); others as `Other`.
    static func asffType(_ type: String?, uid: String) -> String {
        let byType = [
            "aws.ec2": "AwsEc2Instance", "aws.security-group": "AwsEc2SecurityGroup", "aws.s3": "AwsS3Bucket", "aws.iam-user": "AwsIamUser",
            "aws.iam-role": "AwsIamRole", "aws.kms-key": "AwsKmsKey", "aws.rds": "AwsRdsDbInstance", "aws.ebs": "AwsEc2Volume", "aws.vpc": "AwsEc2Vpc",
            "aws.cloudtrail": "AwsCloudTrailTrail", "aws.lambda": "AwsLambdaFunction",
        ]
        if let type, let known = byType[type] { return known }
        for (marker, asff) in [
            (":security-group/", "AwsEc2SecurityGroup"), (":instance/", "AwsEc2Instance"), (":trail/", "AwsCloudTrailTrail"), (":role/", "AwsIamRole"),
            (":user/", "AwsIamUser"), (":key/", "AwsKmsKey"), ("arn:aws:s3:::", "AwsS3Bucket"),
        ] where uid.contains(marker) {
            return asff
        }
        return "Other"
    }

    public struct Push: Sendable {
        public var sent: Int
        public var failed: [String]
    }

    /// Sends Canopy's own findings (detections and guardrail findings) to Security Hub, 100 a
    /// call; each failure named by finding id and Security Hub's reason.
    public static func push(views: [FindingView], client: AWSClient, region: String, importingAccount: String) async throws -> Push {
        var sent = 0
        var failed: [String] = []
        let own = views.filter { $0.finding.source == Detector.source || $0.finding.source == FindingsHub.guardrailSource }
        for start in stride(from: 0, to: own.count, by: 100) {
            let batch = own[start..<min(start + 100, own.count)].map { asff($0, importingAccount: importingAccount, region: region) }
            let answer = try await client.rest(
                "securityhub", "BatchImportFindings", region: region, path: "/findings/import",
                body: Data(JSONValue.object(["Findings": .array(batch)]).canonicalJSON().utf8), contentType: "application/json")
            sent += Int(answer["SuccessCount"]?.intValue ?? 0)
            for failure in answer["FailedFindings"]?.arrayValue ?? [] {
                failed.append("\(failure["Id"]?.stringValue ?? "?"): \(failure["ErrorCode"]?.stringValue ?? "") \(failure["ErrorMessage"]?.stringValue ?? "")")
            }
        }
        return Push(sent: sent, failed: failed)
    }
}

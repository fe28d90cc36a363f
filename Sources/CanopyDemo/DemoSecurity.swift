import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyStore
import Foundation

/// The demo utility's security week: CloudTrail activity for its four accounts (routine work
/// with six incidents planted in it), run through the lake and the built-in detection rules,
/// and the findings its tools reported (a Security Hub export with GuardDuty and Inspector
/// findings, a Prowler OCSF scan, a Trivy report of the SCADA historian's image).
public enum DemoSecurity {
    struct Actor {
        var account: String
        var arn: String
        var type: String
        var name: String
    }

    static let region = "us-east-1"

    static let people: [Actor] = [
        Actor(account: "123456789012", arn: "arn:aws:iam::123456789012:user/alice.admin", type: "IAMUser", name: "alice.admin"),
        Actor(account: "123456789012", arn: "arn:aws:iam::123456789012:user/carol.auditor", type: "IAMUser", name: "carol.auditor"),
        Actor(account: "508722232647", arn: "arn:aws:sts::508722232647:assumed-role/GovPlatformAuditRole/canopy-scan", type: "AssumedRole", name: "GovPlatformAuditRole"),
        Actor(account: "599006413549", arn: "arn:aws:iam::599006413549:user/ot-engineer", type: "IAMUser", name: "ot-engineer"),
        Actor(account: "599006413549", arn: "arn:aws:sts::599006413549:assumed-role/gridco-lambda-exec/scada-export", type: "AssumedRole", name: "gridco-lambda-exec"),
        Actor(account: "751136107545", arn: "arn:aws:iam::751136107545:user/mdm-batch", type: "IAMUser", name: "mdm-batch"),
        Actor(account: "751136107545", arn: "arn:aws:sts::751136107545:assumed-role/GovPlatformAuditRole/canopy-scan", type: "AssumedRole", name: "GovPlatformAuditRole"),
    ]

    /// Read-mostly calls people and services make all day.
    static let routine: [(source: String, name: String, readOnly: Bool)] = [
        ("ec2.amazonaws.com", "DescribeInstances", true), ("s3.amazonaws.com", "ListBuckets", true), ("sts.amazonaws.com", "GetCallerIdentity", true),
        ("cloudwatch.amazonaws.com", "GetMetricData", true), ("iam.amazonaws.com", "ListRoles", true), ("kms.amazonaws.com", "Decrypt", true),
        ("ec2.amazonaws.com", "DescribeSecurityGroups", true), ("rds.amazonaws.com", "DescribeDBInstances", true), ("s3.amazonaws.com", "PutObject", false),
        ("lambda.amazonaws.com", "Invoke", false), ("ssm.amazonaws.com", "GetParameter", true), ("logs.amazonaws.com", "PutLogEvents", false),
    ]

    /// A UUID-shaped id, the same for the same index on every run.
    static func eventID(_ index: Int) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "gridco-demo-\(index)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(format: "%08x-%04x-4%03x-8%03x-%012x", Int(hash >> 32), Int((hash >> 16) & 0xffff), Int(hash & 0xfff), index & 0xfff, index)
    }

    static func record(_ index: Int, at time: Date, actor: Actor, source: String, name: String, readOnly: Bool, ip: String = "10.0.12.34",
        request: JSONValue = .null, response: JSONValue = .null, extra: [String: JSONValue] = [:]) -> JSONValue
    {
        var identity: [String: JSONValue] = [
            "type": .string(actor.type), "arn": .string(actor.arn), "accountId": .string(actor.account), "principalId": .string("AIDA\(actor.name.uppercased().prefix(12))"),
        ]
        if actor.type == "IAMUser" { identity["userName"] = .string(actor.name) }
        if actor.type == "AssumedRole" {
            identity["sessionContext"] = ["sessionIssuer": ["type": "Role", "userName": .string(actor.name), "arn": .string("arn:aws:iam::\(actor.account):role/\(actor.name)")]]
        }
        var object: [String: JSONValue] = [
            "eventVersion": "1.09", "eventID": .string(eventID(index)), "eventTime": .string(Timestamps.iso8601(time).replacingOccurrences(of: ".000Z", with: "Z")),
            "eventSource": .string(source), "eventName": .string(name), "awsRegion": .string(region), "recipientAccountId": .string(actor.account),
            "sourceIPAddress": .string(ip), "userAgent": "aws-cli/2.17.0 Python/3.11", "userIdentity": .object(identity), "readOnly": .bool(readOnly),
            "eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management", "requestID": .string("req-\(eventID(index).prefix(8))"),
            "requestParameters": request, "responseElements": response,
        ]
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// A week of activity ending at `end`: three routine calls an hour per account, and the incidents.
    public static func activity(end: Date) -> [JSONValue] {
        var records: [JSONValue] = []
        var index = 0
        let start = end.addingTimeInterval(-7 * 86_400)
        for hour in 0..<(7 * 24) {
            for (slot, person) in people.enumerated() where (hour + slot) % 2 == 0 {
                let call = routine[(hour * 7 + slot * 3) % routine.count]
                let time = start.addingTimeInterval(TimeInterval(hour * 3_600 + slot * 401 % 3_000))
                records.append(record(index, at: time, actor: person, source: call.source, name: call.name, readOnly: call.readOnly))
                index += 1
            }
        }
        let alice = people[0]
        let ot = people[3]
        let mdm = people[5]
        func at(hoursBefore: Double) -> Date { end.addingTimeInterval(-hoursBefore * 3_600) }
        // Routine sign-ins with MFA, to compare with the one without.
        for day in 0..<7 {
            records.append(
                record(
                    index, at: at(hoursBefore: Double(day * 24 + 10)), actor: alice, source: "signin.amazonaws.com", name: "ConsoleLogin", readOnly: false,
                    ip: "203.0.113.10", response: ["ConsoleLogin": "Success"], extra: ["additionalEventData": ["MFAUsed": "Yes"], "eventType": "AwsConsoleSignIn"]))
            index += 1
        }
        // 1. A batch service user signs in to the console, without MFA, from outside.
        records.append(
            record(
                index, at: at(hoursBefore: 30), actor: mdm, source: "signin.amazonaws.com", name: "ConsoleLogin", readOnly: false, ip: "198.51.100.23",
                response: ["ConsoleLogin": "Success"], extra: ["additionalEventData": ["MFAUsed": "No"], "eventType": "AwsConsoleSignIn"]))
        index += 1
        // 2. SSH opened to the world on the generation bastion's security group…
        records.append(
            record(
                index, at: at(hoursBefore: 20), actor: ot, source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", readOnly: false, ip: "198.51.100.77",
                request: ["groupId": "sg-a42c46c85bd9cd4e3", "ipPermissions": ["items": [["ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["items": [["cidrIp": "0.0.0.0/0"]]]]]]],
                response: ["_return": true]))
        index += 1
        // 3. …and minutes later the account's trail stops logging.
        records.append(
            record(
                index, at: at(hoursBefore: 19.8), actor: ot, source: "cloudtrail.amazonaws.com", name: "StopLogging", readOnly: false, ip: "198.51.100.77",
                request: ["name": "gen-local-trail"]))
        index += 1
        // 4. AdministratorAccess attached to the Lambda execution role.
        records.append(
            record(
                index, at: at(hoursBefore: 6), actor: people[0], source: "iam.amazonaws.com", name: "AttachRolePolicy", readOnly: false,
                request: ["roleName": "gridco-lambda-exec", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"]))
        index += 1
        // 5. The management account's root user signs in.
        let root = Actor(account: "123456789012", arn: "arn:aws:iam::123456789012:root", type: "Root", name: "root")
        records.append(
            record(
                index, at: at(hoursBefore: 3), actor: root, source: "signin.amazonaws.com", name: "ConsoleLogin", readOnly: false, ip: "203.0.113.99",
                response: ["ConsoleLogin": "Success"], extra: ["additionalEventData": ["MFAUsed": "Yes"], "eventType": "AwsConsoleSignIn"]))
        index += 1
        // 6. A grid-operations KMS key is scheduled for deletion.
        records.append(
            record(
                index, at: at(hoursBefore: 2), actor: people[6], source: "kms.amazonaws.com", name: "ScheduleKeyDeletion", readOnly: false,
                request: ["keyId": "arn:aws:kms:us-east-1:751136107545:key/e0024b4a-7861-4ee7-b7ef-2d03d8c78209", "pendingWindowInDays": 7]))
        return records.sorted { ($0["eventTime"]?.stringValue ?? "") < ($1["eventTime"]?.stringValue ?? "") }
    }

    public struct Summary: Sendable {
        public var events: Int
        public var detections: Int
        public var findings: Int
    }

    /// Loads the week into the lake (signed with the store's lake key, sealed by `box`), runs the
    /// built-in rules over it, and imports the tools' findings.
    public static func load(into store: any CanopyStore, box: SecretBox, end: Date, actor: String = "demo") async throws -> Summary {
        let signer = try await LakeSigner.load(store: store, box: box)
        // The week goes through the same import as any CloudTrail file: lake, rules, findings.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-demo-cloudtrail-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(JSONValue.array(activity(end: end)).canonicalJSON().utf8).write(to: file)
        let week = try await ActivityDetection.importFile(
            path: file.path, name: "demo-cloudtrail.json", store: store, signer: signer, detector: Detector(rules: try BuiltInRules.load()), skipBad: false,
            actor: actor)
        var imported = 0
        guard let directory = Bundle.module.url(forResource: "security", withExtension: nil) else {
            throw FindingInputError.file("security", "the demo's findings files are missing from the installation")
        }
        for name in ["asff-securityhub-export.json", "prowler-ocsf.json", "trivy-image.json"] {
            let done = try await FindingImport.importFile(
                path: directory.appendingPathComponent(name).path, name: name, store: store, skipBad: false, actor: actor, now: end)
            imported += done.saved.added
        }
        return Summary(events: week.append.added, detections: week.detections.added, findings: imported)
    }
}

import CanopyAWS
import CanopyCompliance
import CanopyInventory
import CanopyModel
import CanopyPolicy
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

/// The same value-filter policies run by `custodian run` (c7n from PyPI) against moto, and by
/// Canopy over its own scan of the same estate: the matched resources must be identical.
/// Part of the serialized moto suite, since it reseeds the shared server.
extension MotoIntegrationTests {
    /// Policy name → the property that identifies its resources in both outputs.
    static let differentialPolicies: [(name: String, idKey: String, yaml: String)] = [
        ("ec2-previous-generation", "InstanceId", "resource: aws.ec2\n    filters:\n      - type: value\n        key: InstanceType\n        op: regex\n        value: '^(t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4)\\.'"),
        ("ec2-stopped", "InstanceId", "resource: aws.ec2\n    filters:\n      - State.Name: stopped"),
        ("ec2-missing-costcenter", "InstanceId", "resource: aws.ec2\n    filters:\n      - 'tag:CostCenter': absent"),
        ("ec2-dev-or-untagged-owner", "InstanceId", "resource: aws.ec2\n    filters:\n      - or:\n          - 'tag:Env': dev\n          - 'tag:Owner': absent"),
        ("ec2-not-t3", "InstanceId", "resource: aws.ec2\n    filters:\n      - not:\n          - type: value\n            key: InstanceType\n            op: glob\n            value: 't3.*'"),
        ("ebs-unencrypted", "VolumeId", "resource: aws.ebs\n    filters:\n      - Encrypted: false"),
        ("ebs-gp2", "VolumeId", "resource: aws.ebs\n    filters:\n      - type: value\n        key: VolumeType\n        op: in\n        value: [gp2, standard]"),
        ("ebs-unattached", "VolumeId", "resource: aws.ebs\n    filters:\n      - Attachments: empty"),
        ("ebs-large", "VolumeId", "resource: aws.ebs\n    filters:\n      - type: value\n        key: Size\n        op: ge\n        value: 100"),
        ("sg-world-ingress", "GroupId", "resource: aws.security-group\n    filters:\n      - type: value\n        key: IpPermissions[].IpRanges[].CidrIp\n        op: contains\n        value: 0.0.0.0/0"),
        ("sg-ssh-from-port", "GroupId", "resource: aws.security-group\n    filters:\n      - type: value\n        key: IpPermissions[].FromPort\n        op: contains\n        value: 22"),
        ("rds-public-or-unencrypted", "DBInstanceIdentifier", "resource: aws.rds\n    filters:\n      - or:\n          - PubliclyAccessible: true\n          - StorageEncrypted: false"),
        ("rds-single-az", "DBInstanceIdentifier", "resource: aws.rds\n    filters:\n      - MultiAZ: false\n      - type: value\n        key: BackupRetentionPeriod\n        op: lt\n        value: 7"),
        ("iam-user-names", "UserName", "resource: aws.iam-user\n    filters:\n      - type: value\n        key: UserName\n        op: regex\n        value: '.*(ops|svc).*'"),
    ]

    @Test(.enabled(if: Custodian.isAvailable, "needs c7n (custodian) from PyPI"))
    func canopyMatchesExactlyWhatCustodianMatches() async throws {
        try Moto.seed()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-c7n-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let yaml = "policies:\n" + Self.differentialPolicies.map { "  - name: \($0.name)\n    \($0.yaml)\n" }.joined()
        let file = work.appendingPathComponent("policies.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)

        try await Custodian.run(policies: file, output: work.appendingPathComponent("c7n"))

        let store = try SQLiteStore()
        _ = try await InventoryScanner(client: Self.client(), store: store).run(
            ScanConfiguration(accounts: .caller, regions: ["us-east-1"], services: ["ec2", "ebs", "vpc", "rds", "iam"]))
        let loaded = try PolicyLoader.load(path: file.path)
        let context = try await EvaluationContext.load(from: store)
        let results = PolicyRunner.run(loaded, context: context)
        var differences: [String] = []
        var matchedTotal = 0
        for (result, spec) in zip(results, Self.differentialPolicies) {
            let output = work.appendingPathComponent("c7n/\(spec.name)/resources.json")
            let custodian = Set(
                (try JSONValue.parse(Data(contentsOf: output)).arrayValue ?? []).compactMap { $0[spec.idKey]?.stringValue })
            let canopy = Set(result.matched.compactMap { $0.properties[spec.idKey]?.stringValue })
            matchedTotal += custodian.count
            if custodian != canopy {
                differences.append("\(spec.name): custodian-only \(custodian.subtracting(canopy)), canopy-only \(canopy.subtracting(custodian))")
            }
        }
        #expect(matchedTotal >= 10, "the policies should match something in the seeded estate")
        #expect(differences.isEmpty, "\(differences)")
    }
}

enum Custodian {
    static let isAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["custodian", "version"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static func run(policies: URL, output: URL) async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ENDPOINT_URL"] = Moto.endpoint.absoluteString
        environment["AWS_ACCESS_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE"
        environment["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        environment.removeValue(forKey: "AWS_PROFILE")
        let result = try await Subprocess.run(
            ["custodian", "run", "--cache-period", "0", "--region", "us-east-1", "-s", output.path, policies.path], environment: environment)
        let stderr = result.stderr
        guard result.status == 0 else {
            throw Moto.MotoError(message: "custodian run failed: " + String(decoding: stderr.suffix(2000), as: UTF8.self))
        }
    }
}

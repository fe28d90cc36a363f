import CanopyModel
import Foundation
import Testing

@testable import CanopyPolicy

/// Loads one policy from YAML and runs it over resources (of its type unless given).
func select(_ yaml: String, _ resources: [Resource], now: Date = Date(), metrics: [MetricSeries] = []) throws -> [String] {
    let policy = try #require(try PolicyLoader.parse("policies:\n" + yaml, file: "test.yml").first)
    let typed = resources.map { r -> Resource in
        var r = r
        if r.type.isEmpty { r.type = policy.resource }
        return r
    }
    let context = EvaluationContext(now: now, inventory: typed, metrics: metrics)
    return policy.select(typed.filter { $0.type == policy.resource }, in: context).map(\.uid).sorted()
}

func resource(_ uid: String, type: String = "", account: String = "111111111111", _ properties: JSONValue) -> Resource {
    Resource(uid: uid, account: account, region: "us-east-1", type: type, name: uid, tags: tagDictionary(properties["Tags"]), properties: properties, observedAt: Date())
}

@Suite struct SecurityGroupFilterTests {
    static let groups: [Resource] = [
        resource("ssh-world", ["GroupId": "sg-1", "IpPermissions": [["IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [["CidrIp": "0.0.0.0/0"]]]]]),
        resource("range-world", ["GroupId": "sg-2", "IpPermissions": [["IpProtocol": "tcp", "FromPort": 0, "ToPort": 1000, "IpRanges": [["CidrIp": "10.0.0.0/8"], ["CidrIp": "0.0.0.0/0"]]]]]),
        resource("all-traffic", ["GroupId": "sg-3", "IpPermissions": [["IpProtocol": "-1", "IpRanges": [["CidrIp": "0.0.0.0/0"]]]]]),
        resource("https-world", ["GroupId": "sg-4", "IpPermissions": [["IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [["CidrIp": "0.0.0.0/0"]]]]]),
        resource("ssh-internal", ["GroupId": "sg-5", "IpPermissions": [["IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [["CidrIp": "10.1.0.0/16"]], "UserIdGroupPairs": [["GroupId": "sg-5", "UserId": "111111111111"]]]]]),
        resource("v6-ssh", ["GroupId": "sg-6", "IpPermissions": [["IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [["CidrIpv6": "::/0"]]]]]),
    ]

    @Test func portsAndCidrMatchOnOneExpandedPermission() throws {
        let yaml = "  - name: p\n    resource: security-group\n    filters:\n      - type: ingress\n        Ports: [22]\n        Cidr: {value: 0.0.0.0/0}\n"
        // The 0-1000 range includes 22 and lists 0.0.0.0/0; the all-traffic rule has no ports, so
        // (as in Custodian) only its CIDR is judged.
        #expect(try select(yaml, Self.groups) == ["all-traffic", "range-world", "ssh-world"])
    }

    @Test func onlyPortsMatchesPermissionsOpeningOtherPorts() throws {
        let yaml = "  - name: p\n    resource: security-group\n    filters:\n      - type: ingress\n        OnlyPorts: [443]\n        Cidr: {value: 0.0.0.0/0}\n"
        #expect(try select(yaml, Self.groups) == ["all-traffic", "range-world", "ssh-world"])
    }

    @Test func matchOperatorOrAndCidrV6AndSelfReference() throws {
        let either = "  - name: p\n    resource: security-group\n    filters:\n      - type: ingress\n        match-operator: or\n        Cidr: {value: 0.0.0.0/0}\n        CidrV6: {value: '::/0'}\n"
        #expect(try select(either, Self.groups) == ["all-traffic", "https-world", "range-world", "ssh-world", "v6-ssh"])
        let selfRef = "  - name: p\n    resource: security-group\n    filters:\n      - type: ingress\n        SelfReference: true\n"
        #expect(try select(selfRef, Self.groups) == ["ssh-internal"])
        let protocolFilter = "  - name: p\n    resource: security-group\n    filters:\n      - type: ingress\n        IpProtocol: '-1'\n"
        #expect(try select(protocolFilter, Self.groups) == ["all-traffic"])
    }

    @Test func unusedGroupsAreThoseNothingRefersTo() throws {
        let instance = resource("i-1", type: "aws.ec2", ["SecurityGroups": [["GroupId": "sg-1"]]])
        let database = resource("db-1", type: "aws.rds", ["VpcSecurityGroups": [["VpcSecurityGroupId": "sg-2"]]])
        let yaml = "  - name: p\n    resource: security-group\n    filters:\n      - type: unused\n"
        #expect(try select(yaml, Self.groups + [instance, database]) == ["all-traffic", "https-world", "ssh-internal", "v6-ssh"])
    }
}

@Suite struct AccountAndIdentityFilterTests {
    @Test func credentialKeysOnTheRowAndOnEachAccessKey() throws {
        let users = [
            resource("old-key", ["c7n:credential-report": ["password_enabled": false, "access_key_1_active": true, "access_key_1_last_rotated": "2020-01-01T00:00:00+00:00", "access_key_2_active": false, "access_key_2_last_rotated": .null]]),
            resource("new-key", ["c7n:credential-report": ["password_enabled": true, "access_key_1_active": true, "access_key_1_last_rotated": "2099-01-01T00:00:00+00:00"]]),
            resource("no-report", ["UserName": "x"]),
        ]
        let old = "  - name: p\n    resource: iam-user\n    filters:\n      - type: credential\n        key: access_keys.last_rotated\n        value_type: age\n        op: gt\n        value: 90\n"
        #expect(try select(old, users) == ["old-key"])
        let password = "  - name: p\n    resource: iam-user\n    filters:\n      - type: credential\n        key: password_enabled\n        value: true\n"
        #expect(try select(password, users) == ["new-key"])
        let folded = CredentialReportFilter.record(users[0].properties["c7n:credential-report"]!)
        #expect(folded["access_keys"]?.arrayValue?.count == 1, "a never-active, never-rotated key is not listed")
        #expect(folded["access_key_1_active"] == nil)
    }

    @Test func checkCloudTrailLooksAtTheAccountsTrails() throws {
        let inventory = [
            resource("acct-a", type: "aws.account", account: "a", [:]),
            resource("trail-a", type: "aws.cloudtrail", account: "a", ["TrailARN": "t", "IsMultiRegionTrail": true, "LogFileValidationEnabled": false, "Status": ["IsLogging": true]]),
            resource("acct-b", type: "aws.account", account: "b", [:]),
        ]
        let any = "  - name: p\n    resource: account\n    filters:\n      - type: check-cloudtrail\n        multi-region: true\n"
        #expect(try select(any, inventory) == ["acct-b"])
        let digest = "  - name: p\n    resource: account\n    filters:\n      - type: check-cloudtrail\n        multi-region: true\n        file-digest: true\n"
        #expect(try select(digest, inventory) == ["acct-a", "acct-b"])
    }

    @Test func passwordPolicyConfiguredIsFalseWithoutAPolicy() throws {
        let accounts = [resource("none", type: "aws.account", ["c7n:password_policy": .null]), resource("set", type: "aws.account", ["c7n:password_policy": ["MinimumPasswordLength": 8]])]
        let missing = "  - name: p\n    resource: account\n    filters:\n      - type: password-policy\n        key: PasswordPolicyConfigured\n        value: false\n"
        #expect(try select(missing, accounts) == ["none"])
    }
}

@Suite struct MoreFilterTests {
    @Test func metricsAverageOverTheWindowAndMissingValues() throws {
        let now = Date()
        func series(_ uid: String, _ values: [Double]) -> MetricSeries {
            MetricSeries(
                resourceUID: uid, metric: "AWS/EC2:CPUUtilization:Average", periodSeconds: 3_600,
                points: values.enumerated().map { .init(timestamp: now.addingTimeInterval(-Double(values.count - $0.offset) * 3_600), value: $0.element) })
        }
        let instances = [resource("idle", [:]), resource("busy", [:]), resource("silent", [:])]
        let yaml = "  - name: p\n    resource: ec2\n    filters:\n      - type: metrics\n        name: CPUUtilization\n        days: 14\n        value: 5\n        op: lt\n"
        #expect(try select(yaml, instances, now: now, metrics: [series("idle", [1, 2, 9]), series("busy", [50, 40])]) == ["idle"])
        let filled = yaml + "        missing-value: 0\n"
        #expect(try select(filled, instances, now: now, metrics: [series("idle", [1, 2, 9]), series("busy", [50])]) == ["idle", "silent"])
        // Per-day buckets: every bucket must satisfy the condition.
        let daily = yaml + "        period: 3600\n"
        #expect(try select(daily, instances, now: now, metrics: [series("idle", [1, 2, 9])]) == [])
    }

    @Test func markedForOpComparesTheDateWithSkew() throws {
        let now = ISO8601DateFormatter().date(from: "2026-12-01T12:00:00Z")!
        let items = [
            resource("due", ["Tags": [["Key": "maid_status", "Value": "Resource does not meet policy: stop@2026/12/01"]]]),
            resource("later", ["Tags": [["Key": "maid_status", "Value": "Resource does not meet policy: stop@2026/12/03"]]]),
            resource("other-op", ["Tags": [["Key": "maid_status", "Value": "Resource does not meet policy: terminate@2026/11/01"]]]),
        ]
        let yaml = "  - name: p\n    resource: ec2\n    filters:\n      - type: marked-for-op\n        op: stop\n"
        #expect(try select(yaml, items, now: now) == ["due"])
        #expect(try select(yaml + "        skew: 2\n", items, now: now) == ["due", "later"])
        #expect(MarkedForOpFilter.mark(op: "stop", at: now) == "Resource does not meet policy: stop@2026/12/01")
    }

    @Test func valueFromRegexPathAndResourceCount() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-vf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "m4.large\nt2.micro\n".write(to: folder.appendingPathComponent("types.txt"), atomically: true, encoding: .utf8)
        let yaml = """
            policies:
              - name: p
                resource: ec2
                filters:
                  - type: value
                    key: InstanceType
                    op: in
                    value_from: {url: types.txt}
            """
        let policy = try #require(try PolicyLoader.parse(yaml, file: folder.appendingPathComponent("p.yml").path).first)
        #expect(policy.matches(["InstanceType": "m4.large"], now: Date()))
        #expect(!policy.matches(["InstanceType": "m5.large"], now: Date()))

        let regex = "  - name: p\n    resource: ec2\n    filters:\n      - type: value\n        key: ImageName\n        value_regex: '^amzn2-ami-hvm-([0-9.]+)-'\n        value: 2.0.20180810\n"
        #expect(try select(regex, [resource("a", ["ImageName": "amzn2-ami-hvm-2.0.20180810-x86_64-gp2"]), resource("b", ["ImageName": "ubuntu"])]) == ["a"])
        let path = "  - name: p\n    resource: ec2\n    filters:\n      - type: value\n        key: Desired\n        value_path: Actual\n"
        #expect(try select(path, [resource("same", ["Desired": 2, "Actual": 2]), resource("drift", ["Desired": 2, "Actual": 3])]) == ["same"])
        let count = "  - name: p\n    resource: ec2\n    filters:\n      - State.Name: running\n      - type: value\n        value_type: resource_count\n        op: ge\n        value: 2\n"
        let one = [resource("r1", ["State": ["Name": "running"]]), resource("s1", ["State": ["Name": "stopped"]])]
        #expect(try select(count, one) == [])
        #expect(try select(count, one + [resource("r2", ["State": ["Name": "running"]])]) == ["r1", "r2"])
    }

    @Test func loadErrorsNameTheFileLineColumnAndPolicy() {
        func error(_ yaml: String) -> String {
            do {
                _ = try PolicyLoader.parse(yaml, file: "p.yml")
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(error("policies:\n  - name: a\n    resource: ec2\n    filters:\n      - type: nonsense\n").hasPrefix("p.yml:5:15: policy 'a': unknown filter type 'nonsense'"))
        #expect(error("policies:\n  - name: a\n    resource: ec2\n    filters:\n      - type: ingress\n").contains("filter 'ingress' does not apply to aws.ec2"))
        #expect(error("policies:\n  - name: a\n    resource: security-group\n    filters:\n      - type: ingress\n        Portz: [22]\n").hasPrefix("p.yml:6:16: policy 'a': unknown field 'Portz'"))
        #expect(error("policies:\n  - name: a\n    resource: ec2\n    filters:\n      - type: metrics\n        name: CPUUtilization\n        statistics: Maximum\n        value: 1\n").contains("hourly Average"))
        #expect(error("policies:\n  - name: a\n    resource: ec2\n    filters:\n      - type: value\n        key: A\n        value_regex: '('\n        value: x\n").contains("value_regex"))
        #expect(error("policies:\n  - name: a\n    resource: ec2\n    filters:\n      - type: value\n        key: A\n        op: in\n        value_from: {url: 's3://bucket/list.txt'}\n").contains("only local files"))
        #expect(error("policies:\n  - name: a\n    resource: ec2\n    filters:\n      - or:\n        - type: value\n          value_type: resource_count\n          op: gt\n          value: 1\n").contains("top level"))
    }
}

@Suite struct BuiltInPackTests {
    @Test func everyBuiltInCheckHasPassingPolicyTests() throws {
        let packs = try Packs.load()
        let policies = packs.flatMap { $0.checks.map(\.policy) }
        #expect(policies.count >= 60)
        var tests: [PolicyTestCase] = []
        for file in try PolicyTestRunner.builtInTestFiles() { tests += try PolicyTestRunner.load(path: file.path) }
        let untested = Set(policies.map(\.name)).subtracting(tests.map(\.policyName))
        #expect(untested.isEmpty, "checks without a policy test: \(untested.sorted())")
        let failures = PolicyTestRunner.run(tests, policies: policies).filter { !$0.passed }
        #expect(failures.isEmpty, "\(failures.map { "\($0.test.location) \($0.test.policyName): \($0.problem ?? "")" })")
    }

    @Test func aPolicyTestFailsWhenTheExpectationIsWrongOrOneSided() throws {
        let policy = try PolicyLoader.parse("policies:\n  - name: p\n    resource: ebs\n    filters:\n      - Encrypted: false\n", file: "p.yml")
        let bad = resource("bad", type: "aws.ebs", ["Encrypted": false])
        let good = resource("good", type: "aws.ebs", ["Encrypted": true])
        let location = SourceLocation(file: "t.yml", line: 1, column: 1)
        let wrong = PolicyTestCase(policyName: "p", resources: [bad, good], expected: ["good"], location: location)
        let oneSided = PolicyTestCase(policyName: "p", resources: [bad], expected: ["bad"], location: location)
        let right = PolicyTestCase(policyName: "p", resources: [bad, good], expected: ["bad"], location: location)
        let outcomes = PolicyTestRunner.run([wrong, oneSided, right], policies: policy)
        #expect(outcomes.map(\.passed) == [false, false, true])
    }

    @Test func checkIDsAreUniqueAndSeveritiesKnown() throws {
        let checks = try Packs.load().flatMap(\.checks)
        #expect(Set(checks.map(\.id)).count == checks.count)
        #expect(checks.allSatisfy { !$0.title.isEmpty && !$0.remediation.isEmpty && $0.policyHash.count == 64 })
    }

    @Test func frameworksLoadAndReferOnlyToExistingChecks() throws {
        let checks = Set(try Packs.load().flatMap { $0.checks.map(\.id) })
        let frameworks = try Frameworks.load(checks: checks)
        let ids = Set(frameworks.map(\.id))
        #expect(ids.isSuperset(of: ["cis-aws-6.0", "nist-800-53-r5-moderate", "nerc-cip", "iec-62443-3-3", "tw-ics-protection-baseline"]))
        let nerc = try #require(frameworks.first { $0.id == "nerc-cip" })
        for part in ["CIP-004-7 R6 Part 6.1", "CIP-011-3 R1 Part 1.2"] {
            #expect(nerc.requirements.first { $0.id == part }?.mode == .automated)
        }
        let taiwan = try #require(frameworks.first { $0.id == "tw-ics-protection-baseline" })
        #expect(Set(taiwan.requirements.compactMap(\.section)).count == 7)
        #expect(taiwan.requirements.allSatisfy { !$0.levels.isEmpty && Set($0.levels).isSubset(of: ["普", "中", "高"]) && !$0.references.isEmpty && $0.titleZh != nil })
        #expect(taiwan.requirements(at: "普").count < taiwan.requirements(at: "高").count)
        let nist = try #require(frameworks.first { $0.id == "nist-800-53-r5-moderate" })
        #expect(nist.requirements.count == 287)
        let iec = try #require(frameworks.first { $0.id == "iec-62443-3-3" })
        #expect(iec.requirements.count == 52)
        let unused = checks.subtracting(frameworks.flatMap { $0.requirements.flatMap(\.checks) })
        #expect(unused.count < checks.count / 2, "most checks serve some framework requirement")
    }

    @Test func aFrameworkNamingAnUnknownCheckIsRejectedWithItsLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID().uuidString).yml")
        try "framework: {id: x, name: X}\nrequirements:\n  - {id: R1, title: T, mode: automated, checks: [no.such.check]}\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: PolicyError.self) { try Frameworks.load(path: file.path, checks: ["a.b"]) }
        do { _ = try Frameworks.load(path: file.path, checks: ["a.b"]) } catch { #expect("\(error)".contains(":3:") && "\(error)".contains("no.such.check")) }
    }
}

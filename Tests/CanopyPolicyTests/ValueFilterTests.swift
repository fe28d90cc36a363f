import CanopyModel
import Foundation
import CanopyTestSupport
import Testing

@testable import CanopyPolicy

@Suite struct ResourcePathTests {
    static let instance: JSONValue = [
        "State": ["Name": "running"],
        "Tags": [["Key": "Owner", "Value": "ops"], ["Key": "Env", "Value": "prod"]],
        "SecurityGroups": [["GroupId": "sg-1"], ["GroupId": "sg-2"]],
        "IpPermissions": [["IpRanges": [["CidrIp": "0.0.0.0/0"]]], ["IpRanges": [["CidrIp": "10.0.0.0/8"], ["CidrIp": "1.2.3.4/32"]]]],
        "dotted.key": "direct",
    ]

    @Test func dottedPathsTagsIndexesAndProjections() throws {
        #expect(try ResourcePath("State.Name").value(in: Self.instance) == "running")
        #expect(try ResourcePath("tag:Owner").value(in: Self.instance) == "ops")
        #expect(try ResourcePath("tag:Missing").value(in: Self.instance) == nil)
        #expect(try ResourcePath("SecurityGroups[0].GroupId").value(in: Self.instance) == "sg-1")
        #expect(try ResourcePath("SecurityGroups[-1].GroupId").value(in: Self.instance) == "sg-2")
        #expect(try ResourcePath("SecurityGroups[].GroupId").value(in: Self.instance) == ["sg-1", "sg-2"])
        #expect(
            try ResourcePath("IpPermissions[].IpRanges[].CidrIp").value(in: Self.instance)
                == ["0.0.0.0/0", "10.0.0.0/8", "1.2.3.4/32"])
        #expect(try ResourcePath("dotted.key").value(in: Self.instance) == "direct")
        #expect(try ResourcePath("Nope.Deeper").value(in: Self.instance) == nil)
    }

    @Test func unsupportedExpressionsAreRejectedAtLoad() {
        #expect(throws: PolicyError.self) { try ResourcePath("Tags[?Key=='Owner'].Value") }
        #expect(throws: PolicyError.self) { try ResourcePath("length(Tags)") }
        #expect(throws: PolicyError.self) { try ResourcePath("Tags[") }
    }
}

@Suite struct PolicyLoaderTests {
    @Test func loadsCustodianPoliciesWithTheShortFormsAndBooleanTrees() throws {
        let policies = try PolicyLoader.parse(
            """
            policies:
              - name: ec2-untagged-or-open
                resource: ec2
                filters:
                  - "tag:Owner": absent
                  - or:
                      - type: value
                        key: State.Name
                        value: running
                      - not:
                          - key: InstanceType
                            op: glob
                            value: "t3.*"
            """, file: "p.yml")
        let policy = try #require(policies.first)
        #expect(policy.resource == "aws.ec2")
        let now = Date()
        #expect(policy.matches(["State": ["Name": "running"], "InstanceType": "t3.small"], now: now))
        #expect(policy.matches(["State": ["Name": "stopped"], "InstanceType": "m4.large"], now: now))
        #expect(!policy.matches(["State": ["Name": "stopped"], "InstanceType": "t3.small"], now: now))
        #expect(!policy.matches(["State": ["Name": "running"], "Tags": [["Key": "Owner", "Value": "x"]]], now: now))
    }

    @Test func errorsNameFileLineColumnAndPolicy() {
        func error(_ text: String) -> String {
            do {
                _ = try PolicyLoader.parse(text, file: "guardrails.yml")
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(
            error("policies:\n  - name: p1\n    resource: ec2\n    filters:\n      - key: State.Name\n        op: bigger\n        value: 1\n")
                .hasPrefix("guardrails.yml:6:13: policy 'p1': unknown op 'bigger'"))
        #expect(
            error("policies:\n  - name: p2\n    resource: ec2\n    filters:\n      - key: Name\n        op: regex\n        value: '(['\n")
                .hasPrefix("guardrails.yml:7:16: policy 'p2': '([' is not a valid regular expression"))
        #expect(
            error("policies:\n  - name: p3\n    resource: ec2\n    filters:\n      - key: Size\n        value_type: liters\n        value: 1\n")
                .contains("policy 'p3': unknown value_type 'liters'"))
        #expect(error("policies:\n  - name: [oops\n").hasPrefix("guardrails.yml:"))
        #expect(error("policies:\n  - name: p4\n    resource: ec2\n    filters:\n      - type: offhours\n").contains("unknown filter type 'offhours'"))
        #expect(error("policies:\n  - name: dup\n    resource: ec2\n  - name: dup\n    resource: s3\n").contains("used twice"))
    }
}

/// Canopy's value filters against Cloud Custodian's own `ValueFilter`, over a grid of operators,
/// value types, policy values and resource values (Scripts/c7n-value-oracle.py is the oracle).
@Suite(.enabled(if: CustodianOracle.isAvailable, "needs c7n from PyPI (pip install c7n)"))
struct ValueFilterConformanceTests {
    static let resourceValues: [JSONValue?] = [
        nil, .null, 0, 1, 5, 2.5, true, false, "", "abc", "ABC ", "a-b-c", "10.0.0.0/8", "10.1.2.3", "192.168.0.0/16",
        "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "3.10.1", "3.9", [], [1, 2], ["a", "b"], ["a", "z"], ["abc"],
        ["k": 1], [["x": 1]],
    ]
    static let policyValues: [JSONValue] = [
        1, 5, 0, 2.5, true, "abc", "a*", "^a", "A.C", "b", ["a", "b"], [1, 2], ["abc", "xyz"], "absent", "present",
        "empty", "not-null", "10.0.0.0/8", "10.1.2.3", "3.10", 30, "2021-01-01T00:00:00Z",
    ]
    static let operators: [String?] = [
        nil, "eq", "ne", "gt", "ge", "lt", "le", "glob", "regex", "regex-case", "in", "not-in", "contains", "difference",
        "intersect", "mod", "equal", "greater-than", "less-than", "gte", "lte", "ni", "not-equal",
    ]
    static let valueTypes: [String?] = [nil, "integer", "float", "normalize", "size", "unique_size", "swap", "cidr", "cidr_size", "version", "age", "expiration", "date"]

    @Test func matchesCustodianOnEveryCase() async throws {
        var cases: [(filter: [String: JSONValue], resource: JSONValue)] = []
        for valueType in Self.valueTypes {
            for op in Self.operators {
                for policyValue in Self.policyValues {
                    // Regex cases need string patterns; others take every value.
                    if op == "regex" || op == "regex-case", policyValue.stringValue == nil { continue }
                    // Custodian turns a network into the set of all its addresses for these two
                    // (16 million for a /8): meaningless for a policy and minutes per case.
                    if valueType == "cidr", op == "difference" || op == "intersect" { continue }
                    // Python's `str % x` is string formatting, not arithmetic: no policy means it.
                    if op == "mod", policyValue.stringValue == nil, policyValue.doubleValue == nil { continue }
                    if op == "mod", valueType == "swap" { continue }
                    // Not followed, on purpose (see the issue note): LooseVersion's mixing of numbers and
                    // letters, dateutil's free-text dates ("3.9" is March 9th), and CIDR lists.
                    if valueType == "version" { continue }
                    if valueType == "cidr", policyValue.arrayValue != nil { continue }
                    if ["date", "age", "expiration"].contains(valueType), let text = policyValue.stringValue,
                        PyValue.isoDate(text) == nil, text.contains(where: \.isNumber), !text.allSatisfy(\.isNumber)
                    { continue }
                    var filter: [String: JSONValue] = ["key": "Field", "value": policyValue]
                    if let op { filter["op"] = .string(op) }
                    if let valueType { filter["value_type"] = .string(valueType) }
                    for resourceValue in Self.resourceValues {
                        if ["date", "age", "expiration"].contains(valueType), let text = resourceValue?.stringValue,
                            PyValue.isoDate(text) == nil, text.contains(where: \.isNumber), !text.allSatisfy(\.isNumber)
                        { continue }
                        cases.append((filter, resourceValue.map { ["Field": $0] } ?? ["Other": 1]))
                    }
                }
            }
        }
        let expected = try await CustodianOracle.answers(cases.map { ["filter": .object($0.filter), "resource": $0.resource] })
        #expect(expected.count == cases.count)
        let now = Date()
        var mismatches: [String] = []
        var kinds: [String: Int] = [:]
        var compared = 0
        for (index, testCase) in cases.enumerated() {
            guard case .bool(let custodian) = expected[index] else { continue }  // Custodian raised: no verdict
            let filter = testCase.filter
            let canopy = try ValueFilter(
                key: ResourcePath("Field"), op: filter["op"]?.stringValue.flatMap(FilterOperator.init(name:)),
                value: filter["value"], valueType: filter["value_type"]?.stringValue.flatMap(ValueType.init(rawValue:)),
                opSpelling: filter["op"]?.stringValue
            ).matches(testCase.resource, now: now)
            compared += 1
            if canopy != custodian {
                let kind = "\(filter["op"]?.stringValue ?? "-")/\(filter["value_type"]?.stringValue ?? "-")"
                kinds[kind, default: 0] += 1
                if kinds[kind]! > 2 { continue }
                mismatches.append("\(JSONValue.object(filter).canonicalJSON()) on \(testCase.resource.canonicalJSON()): custodian \(custodian), canopy \(canopy)")
            }
        }
        #expect(compared > 50_000)
        #expect(mismatches.isEmpty, "\(kinds.values.reduce(0, +)) of \(compared) differ; by op/value_type: \(kinds.sorted { $0.key < $1.key }); e.g. \(mismatches)")
    }
}

enum CustodianOracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/c7n-value-oracle.py")

    static let isAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import c7n.filters.core"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static func answers(_ cases: [JSONValue]) async throws -> [JSONValue] {
        let result = try await Subprocess.run(["python3", script.path], input: Data(JSONValue.array(cases).canonicalJSON().utf8))
        guard result.status == 0 else { throw CocoaError(.executableLoad) }
        return try JSONValue.parse(result.stdout).arrayValue ?? []
    }

}

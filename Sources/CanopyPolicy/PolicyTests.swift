import CanopyModel
import Foundation
import Yams

/// Policy tests as data: resources in, expected matches out. A file holds
///
/// ```yaml
/// tests:
///   - policy: ec2-volume-unencrypted      # the policy's name
///     resources:
///       - id: vol-1                        # becomes the resource uid
///         type: aws.ebs                    # default: the policy's resource type
///         account: "111111111111"          # default 111111111111
///         region: us-east-1                # default us-east-1
///         tags: {Owner: ops}               # optional; also read from properties.Tags
///         properties: {Encrypted: false}
///       - id: vol-2
///         properties: {Encrypted: true}
///     match: [vol-1]
/// ```
///
/// Every test must show the policy both matching and passing a resource of its type, so that
/// no test can succeed whatever the policy says.
public struct PolicyTestCase: Sendable {
    public var policyName: String
    public var resources: [Resource]
    public var expected: Set<String>
    public var location: SourceLocation
}

public struct PolicyTestOutcome: Sendable {
    public var test: PolicyTestCase
    public var matched: Set<String>
    public var problem: String?
    public var passed: Bool { problem == nil }
}

public enum PolicyTestRunner {
    public static let defaultAccount = "111111111111"

    public static func load(path: String) throws -> [PolicyTestCase] {
        let yaml = try YAMLFile(path: path)
        let root = yaml.root
        func at(_ node: Node?, _ message: String) -> PolicyError { yaml.error(at: node, message) }
        guard let list = root?.mapping?["tests"]?.sequence else { throw at(root, "expected a top-level 'tests:' list") }
        return try list.map { node in
            guard let entry = node.mapping, let policy = entry["policy"]?.string else { throw at(node, "each test needs a 'policy' name") }
            guard let resources = entry["resources"]?.sequence, !resources.isEmpty else { throw at(node, "test of '\(policy)' needs 'resources'") }
            let parsed = try resources.map { item -> Resource in
                guard case .object(let r) = PolicyLoader.json(item), let id = r["id"]?.stringValue else {
                    throw at(item, "each resource needs an 'id'")
                }
                let properties = r["properties"] ?? .object([:])
                var tags = tagDictionary(properties["Tags"] ?? properties["TagList"])
                for (key, value) in r["tags"]?.objectValue ?? [:] { tags[key] = value.stringValue ?? value.canonicalJSON() }
                return Resource(
                    uid: id, account: r["account"]?.stringValue ?? defaultAccount, region: r["region"]?.stringValue ?? "us-east-1",
                    type: r["type"]?.stringValue ?? "", name: id, tags: tags, properties: properties, observedAt: Date())
            }
            let expected = Set((entry["match"]?.sequence ?? []).compactMap(\.string))
            return PolicyTestCase(
                policyName: policy, resources: parsed, expected: expected,
                location: SourceLocation(file: path, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0))
        }
    }

    /// Runs the tests against `policies` (by name). `now` is fixed per run so age checks are reproducible.
    public static func run(_ tests: [PolicyTestCase], policies: [Policy], now: Date = Date()) -> [PolicyTestOutcome] {
        let byName = Dictionary(policies.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return tests.map { test in
            guard let policy = byName[test.policyName] else {
                return PolicyTestOutcome(test: test, matched: [], problem: "no policy named '\(test.policyName)'")
            }
            let resources = test.resources.map { resource -> Resource in
                var typed = resource
                if typed.type.isEmpty { typed.type = policy.resource }
                return typed
            }
            let candidates = resources.filter { $0.type == policy.resource }
            let context = EvaluationContext(now: now, inventory: resources, metrics: metricSeries(in: resources, now: now))
            let matched = Set(policy.select(candidates, in: context).map(\.uid))
            var problem: String?
            if matched != test.expected {
                problem = "expected \(test.expected.sorted()), matched \(matched.sorted())"
            } else if test.expected.isEmpty || test.expected.count == candidates.count {
                problem = "a test must include a resource the policy matches and one it passes"
            }
            return PolicyTestOutcome(test: test, matched: matched, problem: problem)
        }
    }

    /// Test resources may carry `c7n.metrics: {"AWS/EC2:CPUUtilization:Average": [values…]}`:
    /// hourly points ending now.
    static func metricSeries(in resources: [Resource], now: Date) -> [MetricSeries] {
        resources.flatMap { resource -> [MetricSeries] in
            guard case .object(let metrics)? = resource.properties["c7n.metrics"] else { return [] }
            return metrics.map { name, values in
                let numbers = (values.arrayValue ?? []).compactMap(\.doubleValue)
                let points = numbers.enumerated().map { index, value in
                    MetricSeries.Point(timestamp: now.addingTimeInterval(-Double(numbers.count - index) * 3_600), value: value)
                }
                return MetricSeries(resourceUID: resource.uid, metric: name, periodSeconds: 3_600, points: points)
            }
        }
    }

    /// The built-in packs' tests (`Resources/pack-tests`).
    public static func builtInTestFiles() throws -> [URL] {
        try Packs.builtInFiles(folder: "pack-tests")
    }
}

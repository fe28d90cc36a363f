import CanopyModel
import Foundation

/// What one policy matched in an inventory.
public struct PolicyResult: Sendable {
    public var policy: Policy
    public var matched: [Resource]
    /// How many resources of the policy's type were evaluated.
    public var evaluated: Int
    public var startedAt: Date
    public var finishedAt: Date
}

/// Evaluates policies over resources already collected: no cloud call is made, so a policy run
/// over the stored inventory takes as long as the filters do.
public enum PolicyRunner {
    /// Runs the policies over the context's inventory.
    public static func run(_ policies: [Policy], context: EvaluationContext) -> [PolicyResult] {
        let byType = context.byType
        return policies.map { policy in
            let started = Date()
            let candidates = byType[policy.resource] ?? []
            let matched = policy.select(candidates, in: context)
            return PolicyResult(
                policy: policy, matched: matched, evaluated: candidates.count, startedAt: started, finishedAt: Date())
        }
    }

    /// Writes `DIR/<policy>/resources.json` (the matched resources as Custodian writes them: the
    /// describe output) and `metadata.json`, so tooling built around Custodian's output keeps working.
    public static func writeCustodianOutput(_ results: [PolicyResult], to directory: URL) throws {
        for result in results {
            let folder = directory.appendingPathComponent(result.policy.name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let resources = JSONValue.array(result.matched.map(\.properties))
            try Data(resources.canonicalJSON().utf8).write(to: folder.appendingPathComponent("resources.json"))
            let metadata: JSONValue = [
                "policy": [
                    "name": .string(result.policy.name), "resource": .string(result.policy.resource),
                    "description": result.policy.description.map(JSONValue.string) ?? .null,
                ],
                "execution": [
                    "start": .double(result.startedAt.timeIntervalSince1970),
                    "end_time": .double(result.finishedAt.timeIntervalSince1970),
                    "duration": .double(result.finishedAt.timeIntervalSince(result.startedAt)),
                ],
                "metrics": [
                    ["MetricName": "ResourceCount", "Value": .int(Int64(result.matched.count)), "Unit": "Count"],
                    ["MetricName": "ResourcesEvaluated", "Value": .int(Int64(result.evaluated)), "Unit": "Count"],
                ],
                "version": "canopy",
            ]
            try Data(metadata.canonicalJSON().utf8).write(to: folder.appendingPathComponent("metadata.json"))
        }
    }
}

import CanopyModel
import CanopyStore
import Foundation

/// Patch compliance from the store: the hosts a caller may see (`accounts` nil: every site), the
/// baseline in force (Canopy's standard one until one is applied) and the ownership rules in force.
/// The one entry point for the CLI, the API and the console.
public enum PatchReports {
    public static func evaluate(store: any CanopyStore, accounts: [String]?, now: Date) async throws -> PatchCompliance.Report {
        let hosts = try await store.resources(ResourceQuery(types: [onpremHostType], accounts: accounts))
        let version = try await store.patchBaseline()
        return PatchCompliance.evaluate(
            hosts: hosts, baseline: version?.baseline ?? .standard, baselineSHA256: version?.sha256, ownership: try await store.ownership(),
            accounts: try await store.accounts(), now: now)
    }

    /// A baseline as the YAML `canopy patch baseline apply` reads.
    public static func describe(_ baseline: PatchBaseline) -> String {
        var lines = ["rules:"]
        for rule in baseline.rules {
            lines.append("  - environment: \"\(rule.environment)\"")
            lines.append("    classification: \(rule.classification)")
            if !rule.severities.isEmpty { lines.append("    severities: [\(rule.severities.joined(separator: ", "))]") }
            lines.append("    approve_after_days: \(rule.approveAfterDays)")
        }
        return lines.joined(separator: "\n")
    }
}

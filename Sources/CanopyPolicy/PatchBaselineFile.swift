import CanopyModel
import Foundation
import Yams

/// Reads a patch baseline from YAML. Every error names the file, line, column and field.
///
/// ```yaml
/// rules:                              # first match wins, per host `Env` tag
///   - environment: production
///     classification: security       # security | other | any
///     severities: [critical, high]    # optional: vendor ratings the rule covers
///     approve_after_days: 3
///   - environment: "*"
///     classification: any
///     approve_after_days: 14
/// ```
public enum PatchBaselineFile {
    public static func load(path: String) throws -> PatchBaseline {
        try parse(try YAMLFile(path: path))
    }

    public static func parse(_ text: String, file: String) throws -> PatchBaseline {
        try parse(try YAMLFile(text: text, path: file))
    }

    static func parse(_ yaml: YAMLFile) throws -> PatchBaseline {
        guard let root = yaml.root, let mapping = root.mapping else {
            throw yaml.error(at: yaml.root, "a patch baseline must be a mapping with 'rules'")
        }
        try yaml.fields(mapping, allowed: ["rules"], of: "patch baseline")
        var rules: [PatchBaseline.Rule] = []
        for (index, node) in try yaml.list(mapping["rules"], "rules").enumerated() {
            let owner = "rules[\(index)]"
            guard let rule = node.mapping else { throw yaml.error(at: node, "\(owner) must be a mapping") }
            try yaml.fields(rule, allowed: ["environment", "classification", "severities", "approve_after_days"], of: owner)
            let environment = rule["environment"]?.string ?? "*"
            let classification = rule["classification"]?.string ?? "any"
            guard PatchBaseline.classifications.contains(classification) else {
                throw yaml.error(at: rule["classification"], "\(owner).classification: '\(classification)' is not security, other or any")
            }
            guard let daysNode = rule["approve_after_days"] else { throw yaml.error(at: node, "\(owner).approve_after_days is missing") }
            guard let days = daysNode.scalar.flatMap({ Int($0.string) }), (0...365).contains(days) else {
                throw yaml.error(at: daysNode, "\(owner).approve_after_days must be a whole number of days from 0 to 365")
            }
            let severities = try yaml.strings(rule["severities"], "severities", of: owner).map { $0.lowercased() }
            rules.append(.init(environment: environment, classification: classification, severities: severities, approveAfterDays: days))
        }
        let baseline = PatchBaseline(rules: rules)
        if let problem = baseline.problems().first { throw yaml.error(at: root, problem) }
        return baseline
    }
}

import CanopyModel
import Foundation
import Yams

/// Reads cost allocation rules from YAML. Every error names the file, line, column and rule.
///
/// ```yaml
/// tag_aliases:
///   cost-center: [costcenter, cost_centre, cc]
///   app: [application, service-name]
/// business_unit_tags: [cost-center]      # the tag's value is a unit's id or cost centre
/// categories:
///   - name: Environment
///     default: Unknown
///     rules:
///       - value: Production
///         match: {tags: {env: [prod, production]}}
///       - value: Non-production
///         match: {tags: {env: ["*"]}}
/// shared_costs:
///   - name: Enterprise support
///     match: {services: [AWS Support (Enterprise)]}
///     method: proportional                # even | proportional | fixed
///     to: [generation, grid-operations, corporate]
///   - name: Landing zone
///     match: {accounts: ["111111111111"]}
///     method: fixed
///     to: [generation, grid-operations]
///     percentages: {generation: 60, grid-operations: 40}
/// ```
///
/// A match may name `providers`, `accounts`, `services`, `regions`, `charge_categories`,
/// `resource_types` and `tags`; all given must hold.
public enum AllocationFile {
    public static func load(path: String) throws -> AllocationRules {
        try parse(try YAMLFile(path: path))
    }

    public static func parse(_ text: String, file: String) throws -> AllocationRules {
        try parse(try YAMLFile(text: text, path: file))
    }

    static func parse(_ yaml: YAMLFile) throws -> AllocationRules {
        guard let root = yaml.root?.mapping else {
            if yaml.root == nil { return AllocationRules() }
            throw yaml.error(at: yaml.root, "expected a mapping with tag_aliases, business_unit_tags, categories or shared_costs")
        }
        try yaml.fields(root, allowed: ["tag_aliases", "business_unit_tags", "categories", "shared_costs"], of: "allocation rules")
        var rules = AllocationRules()
        if let aliases = root["tag_aliases"] {
            guard let map = aliases.mapping else { throw yaml.error(at: aliases, "'tag_aliases' must map a tag key to its other spellings") }
            for (key, values) in map {
                guard let name = key.string else { throw yaml.error(at: key, "tag_aliases: a tag key must be a string") }
                rules.tagAliases[name] = try yaml.strings(values, name, of: "tag_aliases")
            }
        }
        rules.businessUnitTags = try yaml.strings(root["business_unit_tags"], "business_unit_tags", of: "allocation rules")

        func match(_ node: Node?, of owner: String, required: Node) throws -> CostMatch {
            guard let node else { throw yaml.error(at: required, "\(owner): 'match' is required") }
            guard let map = node.mapping else { throw yaml.error(at: node, "\(owner): 'match' must be a mapping") }
            try yaml.fields(map, allowed: ["providers", "accounts", "services", "regions", "charge_categories", "resource_types", "tags"], of: "\(owner) match")
            return CostMatch(
                providers: try yaml.strings(map["providers"], "providers", of: owner), accounts: try yaml.strings(map["accounts"], "accounts", of: owner),
                services: try yaml.strings(map["services"], "services", of: owner), regions: try yaml.strings(map["regions"], "regions", of: owner),
                chargeCategories: try yaml.strings(map["charge_categories"], "charge_categories", of: owner),
                resourceTypes: try yaml.strings(map["resource_types"], "resource_types", of: owner),
                tags: try yaml.tagValues(map["tags"], "match tags", of: owner))
        }

        var nodes: [String: Node] = [:]
        for node in try yaml.list(root["categories"], "categories") {
            guard let entry = node.mapping else { throw yaml.error(at: node, "each category must be a mapping") }
            let name = try yaml.required(entry, "name", node: node, of: "category")
            let owner = "category '\(name)'"
            try yaml.fields(entry, allowed: ["name", "default", "rules"], of: owner)
            nodes["category '\(name)'"] = node
            var categoryRules: [CostCategory.Rule] = []
            for (index, ruleNode) in try yaml.list(entry["rules"], "rules").enumerated() {
                let ruleOwner = "\(owner) rule \(index + 1)"
                guard let rule = ruleNode.mapping else { throw yaml.error(at: ruleNode, "\(ruleOwner): must be a mapping with value and match") }
                try yaml.fields(rule, allowed: ["value", "match"], of: ruleOwner)
                categoryRules.append(
                    CostCategory.Rule(value: try yaml.required(rule, "value", node: ruleNode, of: ruleOwner), match: try match(rule["match"], of: ruleOwner, required: ruleNode)))
            }
            rules.categories.append(CostCategory(name: name, rules: categoryRules, defaultValue: entry["default"]?.string ?? CostCategory.uncategorised))
        }
        for node in try yaml.list(root["shared_costs"], "shared_costs") {
            guard let entry = node.mapping else { throw yaml.error(at: node, "each shared cost must be a mapping") }
            let name = try yaml.required(entry, "name", node: node, of: "shared cost")
            let owner = "shared cost '\(name)'"
            try yaml.fields(entry, allowed: ["name", "match", "method", "to", "percentages"], of: owner)
            nodes[owner] = node
            let methodText = try yaml.required(entry, "method", node: node, of: owner)
            guard let method = SharedCost.Method(rawValue: methodText) else {
                throw yaml.error(at: entry["method"], "\(owner): method '\(methodText)' is not one of even, proportional, fixed")
            }
            var percentages: [String: Decimal] = [:]
            if let node = entry["percentages"] {
                guard let map = node.mapping else { throw yaml.error(at: node, "\(owner): 'percentages' must map a business unit to its percent") }
                for (key, value) in map {
                    guard let unit = key.string, let text = value.scalar?.string, let percent = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")),
                        text.allSatisfy({ $0.isNumber || $0 == "." })
                    else { throw yaml.error(at: value, "\(owner): each percentage must be a number") }
                    percentages[unit] = percent
                }
            }
            rules.sharedCosts.append(
                SharedCost(
                    name: name, match: try match(entry["match"], of: owner, required: node), method: method, to: try yaml.strings(entry["to"], "to", of: owner),
                    percentages: percentages))
        }
        // The model's own consistency rules, pointed at the rule they concern.
        if let problem = rules.problems(units: nil).first {
            let node = nodes.first { problem.hasPrefix($0.key) }?.value ?? (problem.hasPrefix("tag_aliases") ? root["tag_aliases"] : nil)
            throw yaml.error(at: node ?? yaml.root, problem)
        }
        return rules
    }
}

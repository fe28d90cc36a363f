import Foundation

/// What allocation rules look at in a piece of cost: everything of a ledger row that does not
/// change from one hour of the same resource to the next. Rows alike in all of these are
/// allocated alike, so allocation runs once per distinct set, not once per row.
public struct CostAttributes: Sendable, Hashable, Codable {
    public var provider: String
    public var account: String
    public var service: String
    public var region: String
    public var chargeCategory: String
    public var resourceType: String
    public var tags: [String: String]

    public init(
        provider: String, account: String, service: String, region: String, chargeCategory: String, resourceType: String, tags: [String: String]
    ) {
        self.provider = provider
        self.account = account
        self.service = service
        self.region = region
        self.chargeCategory = chargeCategory
        self.resourceType = resourceType
        self.tags = tags
    }

    /// As a resource, so ownership selectors attribute this cost exactly as they attribute inventory.
    public var asResource: Resource {
        Resource(uid: "", provider: .aws, account: account, region: region, type: resourceType, name: "", tags: tags, properties: .object([:]), observedAt: .distantPast)
    }
}

/// Which cost a rule is about. Every given part must match; a rule with no part matches all cost.
/// Tag keys are compared as `ResourceSelector` compares them (case, `-`, `_` and spaces ignored)
/// after aliases; the value `*` accepts any value of a tag that is present.
public struct CostMatch: Sendable, Codable, Hashable {
    public var providers: [String]
    public var accounts: [String]
    public var services: [String]
    public var regions: [String]
    public var chargeCategories: [String]
    public var resourceTypes: [String]
    public var tags: [String: [String]]

    public init(
        providers: [String] = [], accounts: [String] = [], services: [String] = [], regions: [String] = [], chargeCategories: [String] = [],
        resourceTypes: [String] = [], tags: [String: [String]] = [:]
    ) {
        self.providers = providers
        self.accounts = accounts
        self.services = services
        self.regions = regions
        self.chargeCategories = chargeCategories
        self.resourceTypes = resourceTypes
        self.tags = tags
    }

    /// `canonicalTags`: the cost's tags keyed by canonical names (`AllocationRules.canonicalTags`);
    /// `aliases`: the rules' alias table, so a rule may name a tag by any of its spellings.
    public func matches(_ attributes: CostAttributes, canonicalTags: [String: String], aliases: [String: String] = [:]) -> Bool {
        if !providers.isEmpty, !providers.contains(attributes.provider) { return false }
        if !accounts.isEmpty, !accounts.contains(attributes.account) { return false }
        if !services.isEmpty, !services.contains(attributes.service) { return false }
        if !regions.isEmpty, !regions.contains(attributes.region) { return false }
        if !chargeCategories.isEmpty, !chargeCategories.contains(attributes.chargeCategory) { return false }
        if !resourceTypes.isEmpty, !resourceTypes.contains(attributes.resourceType) { return false }
        for (key, values) in tags {
            guard let value = canonicalTags[AllocationRules.canonicalKey(key, aliases: aliases)], values.contains("*") || values.contains(value) else {
                return false
            }
        }
        return true
    }
}

/// A cost category (AWS Cost Categories, FOCUS `x_` allocation columns): named values given to
/// cost by ordered rules, the first match deciding; what no rule matches gets the default.
public struct CostCategory: Sendable, Codable, Hashable {
    public struct Rule: Sendable, Codable, Hashable {
        public var value: String
        public var match: CostMatch
        public init(value: String, match: CostMatch) {
            self.value = value
            self.match = match
        }
    }

    public var name: String
    public var rules: [Rule]
    public var defaultValue: String

    public static let uncategorised = "(uncategorised)"

    public init(name: String, rules: [Rule], defaultValue: String = CostCategory.uncategorised) {
        self.name = name
        self.rules = rules
        self.defaultValue = defaultValue
    }
}

/// Cost no single unit owns (support plans, shared networking, the security tooling) split among
/// the units that benefit from it.
public struct SharedCost: Sendable, Codable, Hashable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        /// The same share to each unit.
        case even
        /// In proportion to each unit's directly allocated cost of the same month, currency and metric.
        case proportional
        /// Fixed percentages that add up to 100.
        case fixed
    }

    public var name: String
    public var match: CostMatch
    public var method: Method
    /// The units that receive the cost.
    public var to: [String]
    /// For `fixed`: unit → percent.
    public var percentages: [String: Decimal]

    public init(name: String, match: CostMatch, method: Method, to: [String], percentages: [String: Decimal] = [:]) {
        self.name = name
        self.match = match
        self.method = method
        self.to = to
        self.percentages = percentages
    }
}

/// How cost is allocated beyond what ownership (accounts, application selectors) already says:
/// tag spellings that mean one key, tags that name a business unit, cost categories and shared
/// cost splits. Applied rule sets are kept as numbered versions; a preview shows what a new set
/// would change before it applies.
public struct AllocationRules: Sendable, Codable, Hashable {
    /// Canonical key → other spellings of it (`cost-center: [costcenter, cc]`).
    public var tagAliases: [String: [String]]
    /// Tag keys whose value names the business unit (its id or cost centre), tried in order for
    /// cost no application claims, before the account's unit.
    public var businessUnitTags: [String]
    public var categories: [CostCategory]
    /// In priority order: cost goes to the first split that matches it.
    public var sharedCosts: [SharedCost]

    public init(tagAliases: [String: [String]] = [:], businessUnitTags: [String] = [], categories: [CostCategory] = [], sharedCosts: [SharedCost] = []) {
        self.tagAliases = tagAliases
        self.businessUnitTags = businessUnitTags
        self.categories = categories
        self.sharedCosts = sharedCosts
    }

    /// Normalised spelling → normalised canonical key.
    public var aliasTable: [String: String] {
        var table: [String: String] = [:]
        for (canonical, aliases) in tagAliases {
            let target = ResourceSelector.normalised(canonical)
            for alias in aliases { table[ResourceSelector.normalised(alias)] = target }
        }
        return table
    }

    /// A tag key as allocation compares it: normalised, then mapped from an alias to its canonical key.
    public static func canonicalKey(_ key: String, aliases: [String: String]) -> String {
        let normal = ResourceSelector.normalised(key)
        return aliases[normal] ?? normal
    }

    /// Tags keyed by their normalised canonical key. Where two spellings of one key are both
    /// present, the canonical spelling wins, then the first alias in key order, so the result
    /// never depends on dictionary order.
    public static func canonicalTags(_ tags: [String: String], aliases: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        var fromCanonical: Set<String> = []
        for key in tags.keys.sorted() {
            let normal = ResourceSelector.normalised(key)
            let canonical = aliases[normal] ?? normal
            let isCanonicalSpelling = aliases[normal] == nil
            if result[canonical] == nil || (isCanonicalSpelling && !fromCanonical.contains(canonical)) {
                result[canonical] = tags[key]
                if isCanonicalSpelling { fromCanonical.insert(canonical) }
            }
        }
        return result
    }

    /// Problems that make the rules unusable, each naming the rule and field. `units`: the
    /// business units in force (nil: not checked).
    public func problems(units: Set<String>?) -> [String] {
        var problems: [String] = []
        var names: Set<String> = []
        for category in categories {
            if category.name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("categories: a category has no name") }
            if !names.insert(category.name).inserted { problems.append("category '\(category.name)': defined twice") }
            for (index, rule) in category.rules.enumerated() where rule.value.trimmingCharacters(in: .whitespaces).isEmpty {
                problems.append("category '\(category.name)': rule \(index + 1) has no value")
            }
        }
        var splits: Set<String> = []
        for split in sharedCosts {
            if !splits.insert(split.name).inserted { problems.append("shared cost '\(split.name)': defined twice") }
            if split.to.isEmpty { problems.append("shared cost '\(split.name)': to names no business unit") }
            if Set(split.to).count != split.to.count { problems.append("shared cost '\(split.name)': to names a unit twice") }
            if let units {
                for unit in split.to where !units.contains(unit) { problems.append("shared cost '\(split.name)': business unit '\(unit)' is not defined") }
            }
            switch split.method {
            case .fixed:
                let total = split.percentages.values.reduce(Decimal(0), +)
                if total != 100 { problems.append("shared cost '\(split.name)': percentages add up to \(total), not 100") }
                if Set(split.percentages.keys) != Set(split.to) { problems.append("shared cost '\(split.name)': percentages must give one share for each unit in to") }
                if split.percentages.values.contains(where: { $0 < 0 }) { problems.append("shared cost '\(split.name)': a percentage is negative") }
            case .even, .proportional:
                if !split.percentages.isEmpty { problems.append("shared cost '\(split.name)': percentages are only for method fixed") }
            }
        }
        var aliasOwner: [String: String] = [:]
        for (canonical, aliases) in tagAliases.sorted(by: { $0.key < $1.key }) {
            for alias in aliases {
                let normal = ResourceSelector.normalised(alias)
                if let other = aliasOwner[normal], other != canonical {
                    problems.append("tag_aliases: '\(alias)' is an alias of both '\(other)' and '\(canonical)'")
                }
                aliasOwner[normal] = canonical
            }
        }
        return problems
    }
}

/// One applied rule set, as kept: which version, by whom, and the YAML it came from.
public struct AllocationVersion: Sendable, Codable, Hashable {
    public var version: Int
    public var rules: AllocationRules
    public var source: String
    public var sha256: String
    public var appliedAt: Date
    public var actor: String

    public init(version: Int, rules: AllocationRules, source: String, sha256: String, appliedAt: Date, actor: String) {
        self.version = version
        self.rules = rules
        self.source = source
        self.sha256 = sha256
        self.appliedAt = appliedAt
        self.actor = actor
    }
}

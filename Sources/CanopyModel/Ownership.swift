import Foundation

/// A business unit of the utility (Generation, Grid Operations, Corporate…): the accounts it owns,
/// the people answerable for it and the cost centre it is charged to.
public struct BusinessUnit: Sendable, Codable, Hashable, Identifiable {
    /// A short stable name (`generation`): what users, budgets and URLs refer to.
    public var id: String
    public var name: String
    public var nameZh: String?
    public var owners: [String]
    public var costCenter: String?
    /// Accounts this unit owns outright.
    public var accounts: [String]
    /// Organizational units whose accounts this unit owns (an account listed in `accounts`
    /// of another unit wins over its OU).
    public var organizationalUnits: [String]

    public init(
        id: String, name: String, nameZh: String? = nil, owners: [String] = [], costCenter: String? = nil, accounts: [String] = [],
        organizationalUnits: [String] = []
    ) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
        self.owners = owners
        self.costCenter = costCenter
        self.accounts = accounts
        self.organizationalUnits = organizationalUnits
    }

    public func displayName(zh: Bool) -> String { zh ? (nameZh ?? name) : name }
}

/// Which resources make up an application. Every given part must match; an empty selector
/// matches nothing (an application is never "everything" by accident).
public struct ResourceSelector: Sendable, Codable, Hashable {
    /// Tag key → accepted values. The key is compared without regard to case, `-` or `_`
    /// (`App`, `app`, `APP`); several keys must all match.
    public var tags: [String: [String]]
    public var accounts: [String]
    public var types: [String]
    public var regions: [String]

    public init(tags: [String: [String]] = [:], accounts: [String] = [], types: [String] = [], regions: [String] = []) {
        self.tags = tags
        self.accounts = accounts
        self.types = types
        self.regions = regions
    }

    public var isEmpty: Bool { tags.isEmpty && accounts.isEmpty && types.isEmpty && regions.isEmpty }

    public func matches(_ resource: Resource) -> Bool {
        guard !isEmpty else { return false }
        if !accounts.isEmpty, !accounts.contains(resource.account) { return false }
        if !types.isEmpty, !types.contains(resource.type) { return false }
        if !regions.isEmpty, !regions.contains(resource.region) { return false }
        for (key, values) in tags {
            let wanted = Self.normalised(key)
            guard let value = resource.tags.first(where: { Self.normalised($0.key) == wanted })?.value, values.contains(value) else {
                return false
            }
        }
        return true
    }

    /// `CostCenter`, `cost-center` and `cost_center` are one key.
    public static func normalised(_ key: String) -> String {
        String(key.lowercased().unicodeScalars.filter { $0 != "-" && $0 != "_" && $0 != " " })
    }
}

/// An application: what a business unit runs, how critical it is and which resources it is made of.
public struct Application: Sendable, Codable, Hashable, Identifiable {
    public var id: String
    public var name: String
    public var nameZh: String?
    public var businessUnit: String
    /// `tier-1` (critical) … `tier-3`: drives resilience targets and the weight of findings.
    public var tier: String?
    /// Recovery objectives in minutes.
    public var rtoMinutes: Int?
    public var rpoMinutes: Int?
    public var owners: [String]
    public var selector: ResourceSelector

    public init(
        id: String, name: String, nameZh: String? = nil, businessUnit: String, tier: String? = nil, rtoMinutes: Int? = nil,
        rpoMinutes: Int? = nil, owners: [String] = [], selector: ResourceSelector
    ) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
        self.businessUnit = businessUnit
        self.tier = tier
        self.rtoMinutes = rtoMinutes
        self.rpoMinutes = rpoMinutes
        self.owners = owners
        self.selector = selector
    }

    public func displayName(zh: Bool) -> String { zh ? (nameZh ?? name) : name }
}

/// Who owns what: the business units and applications in force, and the rules that put each
/// account and resource under them. Until any unit is defined, each organizational unit is one
/// (named after it); until any application is defined, each `App` tag value is one. So a new
/// installation already cuts by the estate's own structure, and a definition replaces the guess.
public struct Ownership: Sendable, Codable, Hashable {
    public var businessUnits: [BusinessUnit]
    /// In priority order: a resource belongs to the first application whose selector matches.
    public var applications: [Application]

    public init(businessUnits: [BusinessUnit] = [], applications: [Application] = []) {
        self.businessUnits = businessUnits
        self.applications = applications
    }

    public static let implicitApplicationTag = "App"

    /// The unit that owns an account: listed by account first, then by organizational unit.
    public func businessUnitID(of account: Account?) -> String? {
        guard let account else { return nil }
        if businessUnits.isEmpty { return account.organizationalUnit }
        if let unit = businessUnits.first(where: { $0.accounts.contains(account.id) }) { return unit.id }
        guard let ou = account.organizationalUnit else { return nil }
        return businessUnits.first { $0.organizationalUnits.contains(ou) }?.id
    }

    /// The application a resource belongs to, if any.
    public func applicationID(of resource: Resource) -> String? {
        if applications.isEmpty { return resource.tags[Self.implicitApplicationTag] }
        return applications.first { $0.selector.matches(resource) }?.id
    }

    /// The unit a resource belongs to: its application's, else its account's.
    public func businessUnitID(of resource: Resource, account: Account?) -> String? {
        businessUnitID(application: applicationID(of: resource), account: account)
    }

    /// The unit of something already attributed to an application (a finding, a check result).
    public func businessUnitID(application: String?, account: Account?) -> String? {
        if let application, let unit = self.application(application)?.businessUnit { return unit }
        return businessUnitID(of: account)
    }

    public func businessUnit(_ id: String) -> BusinessUnit? { businessUnits.first { $0.id == id } }
    public func application(_ id: String) -> Application? { applications.first { $0.id == id } }

    /// The units to show: the defined ones, or one per organizational unit of `accounts`.
    public func effectiveBusinessUnits(accounts: [Account]) -> [BusinessUnit] {
        guard businessUnits.isEmpty else { return businessUnits }
        let ous = Set(accounts.compactMap(\.organizationalUnit)).sorted()
        return ous.map { ou in BusinessUnit(id: ou, name: ou, accounts: accounts.filter { $0.organizationalUnit == ou }.map(\.id), organizationalUnits: [ou]) }
    }

    /// The account ids a unit owns, as `businessUnitID(of:)` decides.
    public func accounts(ofBusinessUnit id: String, among accounts: [Account]) -> [String] {
        accounts.filter { businessUnitID(of: $0) == id }.map(\.id)
    }

    /// Problems that would make the definitions ambiguous, each naming the object and field.
    public func problems() -> [String] {
        var problems: [String] = []
        var seen: Set<String> = []
        for unit in businessUnits {
            if !Self.isValidID(unit.id) { problems.append("business unit '\(unit.id)': id must be 1-64 letters, digits, '-' or '_'") }
            if !seen.insert(unit.id).inserted { problems.append("business unit '\(unit.id)': defined twice") }
            if unit.name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("business unit '\(unit.id)': name is empty") }
        }
        var claimed: [String: String] = [:]
        for unit in businessUnits {
            for account in unit.accounts {
                if let other = claimed[account], other != unit.id {
                    problems.append("business unit '\(unit.id)': account \(account) is already owned by '\(other)'")
                }
                claimed[account] = unit.id
            }
        }
        var apps: Set<String> = []
        for app in applications {
            if !Self.isValidID(app.id) { problems.append("application '\(app.id)': id must be 1-64 letters, digits, '-' or '_'") }
            if !apps.insert(app.id).inserted { problems.append("application '\(app.id)': defined twice") }
            if app.name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("application '\(app.id)': name is empty") }
            if !businessUnits.isEmpty, !seen.contains(app.businessUnit) {
                problems.append("application '\(app.id)': business_unit '\(app.businessUnit)' is not defined")
            }
            if app.selector.isEmpty { problems.append("application '\(app.id)': selector is empty, so it would own nothing") }
            if let rto = app.rtoMinutes, rto < 0 { problems.append("application '\(app.id)': rto_minutes is negative") }
            if let rpo = app.rpoMinutes, rpo < 0 { problems.append("application '\(app.id)': rpo_minutes is negative") }
        }
        return problems
    }

    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && id.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || $0 == "-" || $0 == "_" }
    }
}

import CanopyModel
import Foundation

/// Custodian's `ingress` / `egress`: a group matches when one of its permissions, expanded to one
/// address range or group pair each (as the console shows them), satisfies every criterion given
/// (any with `match-operator: or`). `Ports` matches a permission whose port range includes one of
/// the ports; `OnlyPorts` one that opens a port outside the list; `Cidr`/`CidrV6` are value
/// filters over each range; the other permission members are value filters on the permission.
/// A permission without `FromPort`/`ToPort` (all traffic) is not judged on ports, as in Custodian.
struct SecurityGroupPermissionFilter: ResourceFilter {
    static let permissionAttributes: [String] = ["FromPort", "IpProtocol", "IpRanges", "PrefixListIds", "ToPort", "UserIdGroupPairs"]
    static let rangeKinds = ["IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"]

    let key: String
    let attributeFilters: [ValueFilter]
    let ports: [Int]
    let onlyPorts: [Int]
    let cidr: ValueFilter?
    let cidrV6: ValueFilter?
    let description: ValueFilter?
    let selfReference: Bool?
    let groupReferences: ValueFilter?
    let matchAll: Bool

    init(_ data: FilterData, key: String) throws {
        try data.rejectUnknown(Set(Self.permissionAttributes + ["Cidr", "CidrV6", "Ports", "OnlyPorts", "SelfReference", "Description", "SGReferences", "match-operator"]))
        self.key = key
        attributeFilters = try Self.permissionAttributes.compactMap { try data.valueFilter($0, key: $0) }
        ports = try data.ints("Ports") ?? []
        onlyPorts = try data.ints("OnlyPorts") ?? []
        cidr = try data.valueFilter("Cidr", key: "CidrIp")
        cidrV6 = try data.valueFilter("CidrV6", key: "CidrIpv6")
        description = try data.valueFilter("Description", key: "Description")
        selfReference = try data.bool("SelfReference")
        groupReferences = try data["SGReferences"].map { spec in
            guard case .object(let members) = spec else { throw PolicyError.field("SGReferences", "SGReferences must be a value filter") }
            return try ValueFilter(data: members, directory: data.directory)
        }
        let op = try data.string("match-operator") ?? "and"
        guard op == "and" || op == "or" else { throw PolicyError.field("match-operator", "match-operator is 'and' or 'or'") }
        matchAll = op == "and"
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        !matchingPermissions(resource, in: context, firstOnly: true).isEmpty
    }

    /// The expanded permissions (one range or group pair each) that satisfy the filter — what
    /// Custodian annotates as `MatchedIpPermissions` and `remove-permissions: matched` revokes.
    func matchingPermissions(_ resource: Resource, in context: EvaluationContext, firstOnly: Bool = false) -> [JSONValue] {
        let groupID = resource.properties["GroupId"]?.stringValue
        let owner = resource.properties["OwnerId"]?.stringValue
        var matched: [JSONValue] = []
        for permission in resource.properties[key]?.arrayValue ?? [] {
            guard case .object(let base) = permission else { continue }
            for kind in Self.rangeKinds {
                for entry in base[kind]?.arrayValue ?? [] {
                    // The expanded permission is only built when a filter must see all of it.
                    let single = Single(base: base, kind: kind, entry: entry)
                    var verdicts: [Bool] = []
                    if !attributeFilters.isEmpty {
                        let whole = single.materialized
                        verdicts = attributeFilters.map { $0.matches(whole, now: context.now) }
                    }
                    for verdict in [
                        describes(single, context), portsMatch(base), cidrsMatch(single, context),
                        selfReferenced(single, groupID), referencesMatch(single, owner: owner, resource, context),
                    ] {
                        if let verdict { verdicts.append(verdict) }
                    }
                    if matchAll, verdicts.isEmpty { continue }
                    if matchAll ? verdicts.allSatisfy({ $0 }) : verdicts.contains(true) {
                        matched.append(single.materialized)
                        if firstOnly { return matched }
                    }
                }
            }
        }
        return matched
    }

    /// One permission narrowed to one entry of one of its lists (Custodian's `expand_permissions`).
    struct Single {
        var base: [String: JSONValue]
        var kind: String
        var entry: JSONValue

        func entries(_ list: String) -> [JSONValue] { list == kind ? [entry] : [] }

        var materialized: JSONValue {
            var copy = base
            for list in SecurityGroupPermissionFilter.rangeKinds { copy[list] = .array(entries(list)) }
            return .object(copy)
        }
    }

    /// Every permission expanded, one range or group pair each.
    static func expand(_ permissions: [JSONValue]) -> [JSONValue] {
        permissions.flatMap { permission -> [JSONValue] in
            guard case .object(let base) = permission else { return [] }
            return rangeKinds.flatMap { kind in (base[kind]?.arrayValue ?? []).map { Single(base: base, kind: kind, entry: $0).materialized } }
        }
    }

    func portsMatch(_ permission: [String: JSONValue]) -> Bool? {
        guard let from = permission["FromPort"]?.intValue, let to = permission["ToPort"]?.intValue else { return nil }
        var found: Bool?
        for port in ports {
            if Int64(port) >= from, Int64(port) <= to {
                found = true
                break
            }
            found = false
        }
        if !onlyPorts.isEmpty {
            let exactlyListed = onlyPorts.contains { Int64($0) == from && Int64($0) == to }
            found = exactlyListed ? false : (found ?? true)
        }
        return found
    }

    func cidrsMatch(_ single: Single, _ context: EvaluationContext) -> Bool? {
        func check(_ filter: ValueFilter?, _ ranges: String) -> Bool? {
            guard let filter else { return nil }
            return single.entries(ranges).contains { filter.matches($0, now: context.now) }
        }
        let verdicts = [check(cidrV6, "Ipv6Ranges"), check(cidr, "IpRanges")].compactMap { $0 }
        guard !verdicts.isEmpty else { return nil }
        return matchAll ? verdicts.allSatisfy { $0 } : verdicts.contains(true)
    }

    func describes(_ single: Single, _ context: EvaluationContext) -> Bool? {
        guard let description else { return nil }
        // Custodian judges the first entry of the first non-empty list: the expanded one.
        return description.matches(single.entry, now: context.now)
    }

    func selfReferenced(_ single: Single, _ groupID: String?) -> Bool? {
        guard let selfReference else { return nil }
        let isSelf = single.entries("UserIdGroupPairs").contains { $0["GroupId"]?.stringValue == groupID }
        return isSelf == selfReference
    }

    func referencesMatch(_ single: Single, owner: String?, _ resource: Resource, _ context: EvaluationContext) -> Bool? {
        guard let groupReferences else { return nil }
        let pairs = single.entries("UserIdGroupPairs")
        guard !pairs.isEmpty else { return false }
        let referenced = Set(pairs.filter { $0["UserId"]?.stringValue == owner }.compactMap { $0["GroupId"]?.stringValue })
        return context.related("aws.security-group", account: resource.account).contains {
            referenced.contains($0.properties["GroupId"]?.stringValue ?? "") && groupReferences.matches($0.properties, now: context.now)
        }
    }
}

/// `unused` / `used` security groups: referred to by no (some) instance, network interface,
/// database, load balancer or function in the inventory.
struct SecurityGroupUsageFilter: ResourceFilter {
    let used: Bool

    init(_ data: FilterData, used: Bool) throws {
        try data.rejectUnknown([])
        self.used = used
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let id = resource.properties["GroupId"]?.stringValue ?? ""
        return context.securityGroupsInUse.contains(id) == used
    }
}

/// `default-vpc`: the resource lives in its region's default VPC.
struct DefaultVPCFilter: ResourceFilter {
    init(_ data: FilterData) throws { try data.rejectUnknown([]) }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let p = resource.properties
        let vpc = p["VpcId"]?.stringValue ?? p["DBSubnetGroup"]?["VpcId"]?.stringValue ?? p["VpcConfig"]?["VpcId"]?.stringValue
        return vpc.map(context.defaultVPCs.contains) ?? false
    }
}

/// `cross-account` on snapshots and images: shared with everyone (`Group: all`, restore `all`)
/// or with an account outside `whitelist`. `everyone_only: true` looks only at public sharing.
struct CrossAccountFilter: ResourceFilter {
    let allowed: Set<String>
    let everyoneOnly: Bool

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["whitelist", "whitelist_from", "everyone_only"])
        var allowed = Set((data["whitelist"]?.arrayValue ?? []).compactMap(\.stringValue))
        if let source = data["whitelist_from"] {
            do {
                allowed.formUnion((try ValuesFrom.load(source, directory: data.directory).arrayValue ?? []).compactMap(\.stringValue))
            } catch let error as PolicyError {
                throw PolicyError.field("whitelist_from", "\(error)")
            }
        }
        self.allowed = allowed
        everyoneOnly = try data.bool("everyone_only") ?? false
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let p = resource.properties
        var grantees: [String] = []
        for permission in (p["CreateVolumePermissions"] ?? p["LaunchPermissions"])?.arrayValue ?? [] {
            if permission["Group"]?.stringValue == "all" { grantees.append("all") }
            if let user = permission["UserId"]?.stringValue { grantees.append(user) }
        }
        for attribute in p["DBSnapshotAttributes"]?.arrayValue ?? [] where attribute["AttributeName"]?.stringValue == "restore" {
            grantees += (attribute["AttributeValues"]?.arrayValue ?? []).compactMap(\.stringValue)
        }
        if everyoneOnly { return grantees.contains("all") }
        return grantees.contains { $0 == "all" || ($0 != resource.account && !allowed.contains($0)) }
    }
}

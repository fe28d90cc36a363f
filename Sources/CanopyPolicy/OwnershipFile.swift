import CanopyModel
import Foundation
import Yams

/// Reads and writes the ownership file: business units and applications as YAML, so a CCoE can
/// keep them in git beside its policies. Every error names the file, line, column and field.
///
/// ```yaml
/// business_units:
///   - id: generation
///     name: Generation
///     name_zh: 發電事業部
///     owners: [ot-platform@gridco.example]
///     cost_center: CC-1100
///     accounts: ["599006413549"]
///     organizational_units: [Generation]
/// applications:
///   - id: scada-historian
///     name: SCADA Historian
///     business_unit: generation
///     tier: tier-1
///     rto_minutes: 60
///     rpo_minutes: 15
///     selector:
///       tags: {App: [scada-historian, scada-historian-dr]}
/// ```
public enum OwnershipFile {
    public static func load(path: String) throws -> Ownership {
        let yaml = try YAMLFile(path: path)
        return try parse(yaml)
    }

    public static func parse(_ text: String, file: String) throws -> Ownership {
        try parse(try YAMLFile(text: text, path: file))
    }

    static func parse(_ yaml: YAMLFile) throws -> Ownership {
        guard let root = yaml.root?.mapping else { throw yaml.error(at: yaml.root, "expected a mapping with 'business_units:' and 'applications:'") }
        for key in root.keys.compactMap(\.string) where !["business_units", "applications"].contains(key) {
            throw yaml.error(at: root[key], "unknown top-level field '\(key)' (expected business_units or applications)")
        }
        func minutes(_ node: Node?, _ field: String, of owner: String) throws -> Int? {
            guard let node else { return nil }
            guard let value = node.int, value >= 0 else { throw yaml.error(at: node, "\(owner): '\(field)' must be a whole number of minutes") }
            return value
        }
        var units: [BusinessUnit] = []
        var unitNodes: [String: Node] = [:]
        for node in try yaml.list(root["business_units"], "business_units") {
            guard let entry = node.mapping else { throw yaml.error(at: node, "each business unit must be a mapping") }
            let id = try yaml.required(entry, "id", node: node, of: "business unit")
            let owner = "business unit '\(id)'"
            try yaml.fields(entry, allowed: ["id", "name", "name_zh", "owners", "cost_center", "accounts", "organizational_units"], of: owner)
            guard unitNodes[id] == nil else { throw yaml.error(at: node, "\(owner): defined twice") }
            unitNodes[id] = node
            units.append(
                BusinessUnit(
                    id: id, name: try yaml.required(entry, "name", node: node, of: owner), nameZh: entry["name_zh"]?.string,
                    owners: try yaml.strings(entry["owners"], "owners", of: owner), costCenter: entry["cost_center"]?.string,
                    accounts: try yaml.strings(entry["accounts"], "accounts", of: owner),
                    organizationalUnits: try yaml.strings(entry["organizational_units"], "organizational_units", of: owner)))
        }
        var applications: [Application] = []
        var appNodes: [String: Node] = [:]
        for node in try yaml.list(root["applications"], "applications") {
            guard let entry = node.mapping else { throw yaml.error(at: node, "each application must be a mapping") }
            let id = try yaml.required(entry, "id", node: node, of: "application")
            let owner = "application '\(id)'"
            try yaml.fields(
                entry, allowed: ["id", "name", "name_zh", "business_unit", "tier", "rto_minutes", "rpo_minutes", "owners", "selector"], of: owner)
            guard appNodes[id] == nil else { throw yaml.error(at: node, "\(owner): defined twice") }
            appNodes[id] = node
            guard let selectorNode = entry["selector"], let selectorMap = selectorNode.mapping else {
                throw yaml.error(at: entry["selector"] ?? node, "\(owner): 'selector' is required (tags, accounts, types or regions)")
            }
            try yaml.fields(selectorMap, allowed: ["tags", "accounts", "types", "regions"], of: "\(owner) selector")
            let tags = try yaml.tagValues(selectorMap["tags"], "selector tags", of: owner)
            let types = try yaml.strings(selectorMap["types"], "types", of: owner).map { $0.contains(".") ? $0 : "aws.\($0)" }
            let selector = ResourceSelector(
                tags: tags, accounts: try yaml.strings(selectorMap["accounts"], "accounts", of: owner), types: types,
                regions: try yaml.strings(selectorMap["regions"], "regions", of: owner))
            applications.append(
                Application(
                    id: id, name: try yaml.required(entry, "name", node: node, of: owner), nameZh: entry["name_zh"]?.string,
                    businessUnit: try yaml.required(entry, "business_unit", node: node, of: owner), tier: entry["tier"]?.string,
                    rtoMinutes: try minutes(entry["rto_minutes"], "rto_minutes", of: owner),
                    rpoMinutes: try minutes(entry["rpo_minutes"], "rpo_minutes", of: owner),
                    owners: try yaml.strings(entry["owners"], "owners", of: owner), selector: selector))
        }
        let ownership = Ownership(businessUnits: units, applications: applications)
        // The model's own consistency rules, pointed at the object they concern.
        if let problem = ownership.problems().first {
            let node = units.first { problem.hasPrefix("business unit '\($0.id)'") }.flatMap { unitNodes[$0.id] }
                ?? applications.first { problem.hasPrefix("application '\($0.id)'") }.flatMap { appNodes[$0.id] }
            throw yaml.error(at: node ?? yaml.root, problem)
        }
        return ownership
    }

    /// The ownership as the same YAML, for export and round trips.
    public static func render(_ ownership: Ownership) throws -> String {
        func optional(_ value: String?) -> Node? { value.map { Node($0) } }
        func list(_ values: [String]) -> Node { Node(values.map { Node($0, Tag(.str), .doubleQuoted) }, Tag(.seq), .flow) }
        var units: [Node] = []
        for unit in ownership.businessUnits {
            var pairs: [(Node, Node)] = [(Node("id"), Node(unit.id)), (Node("name"), Node(unit.name))]
            if let zh = unit.nameZh { pairs.append((Node("name_zh"), Node(zh))) }
            if !unit.owners.isEmpty { pairs.append((Node("owners"), list(unit.owners))) }
            if let cc = unit.costCenter { pairs.append((Node("cost_center"), Node(cc))) }
            if !unit.accounts.isEmpty { pairs.append((Node("accounts"), list(unit.accounts))) }
            if !unit.organizationalUnits.isEmpty { pairs.append((Node("organizational_units"), list(unit.organizationalUnits))) }
            units.append(Node(pairs))
        }
        var apps: [Node] = []
        for app in ownership.applications {
            var pairs: [(Node, Node)] = [
                (Node("id"), Node(app.id)), (Node("name"), Node(app.name)),
            ]
            if let zh = app.nameZh { pairs.append((Node("name_zh"), Node(zh))) }
            pairs.append((Node("business_unit"), Node(app.businessUnit)))
            if let tier = app.tier { pairs.append((Node("tier"), Node(tier))) }
            if let rto = app.rtoMinutes { pairs.append((Node("rto_minutes"), Node(String(rto), Tag(.int)))) }
            if let rpo = app.rpoMinutes { pairs.append((Node("rpo_minutes"), Node(String(rpo), Tag(.int)))) }
            if !app.owners.isEmpty { pairs.append((Node("owners"), list(app.owners))) }
            var selector: [(Node, Node)] = []
            if !app.selector.tags.isEmpty {
                selector.append((Node("tags"), Node(app.selector.tags.sorted { $0.key < $1.key }.map { (Node($0.key), list($0.value)) })))
            }
            if !app.selector.accounts.isEmpty { selector.append((Node("accounts"), list(app.selector.accounts))) }
            if !app.selector.types.isEmpty { selector.append((Node("types"), list(app.selector.types))) }
            if !app.selector.regions.isEmpty { selector.append((Node("regions"), list(app.selector.regions))) }
            pairs.append((Node("selector"), Node(selector)))
            apps.append(Node(pairs))
        }
        let root = Node([(Node("business_units"), Node(units)), (Node("applications"), Node(apps))])
        return try Yams.serialize(node: root, allowUnicode: true)
    }
}

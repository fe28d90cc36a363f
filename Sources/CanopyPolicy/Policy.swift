import CanopyModel
import Foundation
import Yams

/// Where something stands in a policy file, for errors a user can act on.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public var description: String { "\(file):\(line):\(column)" }
}

/// A filter tree: Custodian's `and`/`or`/`not` over value filters and resource-specific filters.
public indirect enum FilterNode: Sendable {
    case all([FilterNode])
    case any([FilterNode])
    /// Custodian's `not` negates the conjunction of its children.
    case none([FilterNode])
    case value(ValueFilter)
    case resource(any ResourceFilter)

    public func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        switch self {
        case .all(let children): children.allSatisfy { $0.matches(resource, in: context) }
        case .any(let children): children.contains { $0.matches(resource, in: context) }
        case .none(let children): !children.allSatisfy { $0.matches(resource, in: context) }
        case .value(let filter): filter.matches(resource, now: context.now)
        case .resource(let filter): filter.matches(resource, in: context)
        }
    }
}

/// One Custodian policy: a resource type and the filters its resources must match.
public struct Policy: Sendable {
    public var name: String
    /// Normalised to Canopy's type names (`ec2` → `aws.ec2`).
    public var resource: String
    public var description: String?
    /// The top-level filters, applied in order (a `resource_count` filter sees what the ones
    /// before it left).
    public var filters: [FilterNode]
    /// Actions as written; `PolicyActions` executes them.
    public var actions: [JSONValue]
    public var metadata: JSONValue?
    public var location: SourceLocation
    /// The policy's own YAML text, hashed into audit evidence.
    public var source: String = ""

    /// Whether one resource passes every per-resource filter (`resource_count` filters excluded).
    public func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        filters.allSatisfy { node in
            if case .value(let filter) = node, filter.valueType == .resourceCount { return true }
            return node.matches(resource, in: context)
        }
    }

    /// The security-group permissions (`IpPermissions` or `IpPermissionsEgress`) that the policy's
    /// ingress/egress filters matched on `resource`, expanded one range each.
    public func matchedPermissions(_ resource: Resource, key: String, in context: EvaluationContext) -> [JSONValue] {
        func collect(_ node: FilterNode) -> [JSONValue] {
            switch node {
            case .all(let children), .any(let children): children.flatMap(collect)
            case .none, .value: []
            case .resource(let filter):
                (filter as? SecurityGroupPermissionFilter).map { $0.key == key ? $0.matchingPermissions(resource, in: context) : [] } ?? []
            }
        }
        var seen: Set<String> = []
        return filters.flatMap(collect).filter { seen.insert($0.canonicalJSON()).inserted }
    }

    /// Convenience for a bare properties document (tests, one-off checks).
    public func matches(_ properties: JSONValue, now: Date) -> Bool {
        let resource = Resource(
            uid: "", provider: .aws, account: "", region: "", type: self.resource, name: "", tags: tagDictionary(properties["Tags"]),
            properties: properties, observedAt: now)
        return matches(resource, in: EvaluationContext(now: now))
    }

    /// The resources the policy selects from `candidates` (of its type), applying the filters in
    /// order as Custodian does.
    public func select(_ candidates: [Resource], in context: EvaluationContext) -> [Resource] {
        guard filters.contains(where: { if case .value(let f) = $0 { f.valueType == .resourceCount } else { false } }) else {
            // Indices first: only the resources that match are copied out.
            var matched: [Int] = []
            for index in candidates.indices where matches(candidates[index], in: context) { matched.append(index) }
            return matched.map { candidates[$0] }
        }
        var remaining = candidates
        for node in filters {
            if case .value(let filter) = node, filter.valueType == .resourceCount, let op = filter.op {
                let keep = PyValue.apply(op, .int(Int64(remaining.count)), PyValue(filter.value), pattern: nil) ?? false
                remaining = keep ? remaining : []
            } else {
                remaining = remaining.filter { node.matches($0, in: context) }
            }
        }
        return remaining
    }
}

public enum PolicyError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidKey(String, reason: String)
    case invalidValue(String)
    /// A problem with one field of a filter (the loader turns it into a file position).
    case field(String, String)
    /// A problem at a place in a file, inside a named policy.
    case at(SourceLocation, policy: String?, message: String)

    public var description: String {
        switch self {
        case .invalidKey(let key, let reason): "key '\(key)': \(reason)"
        case .invalidValue(let message): message
        case .field(_, let message): message
        case .at(let location, let policy, let message):
            "\(location): " + (policy.map { "policy '\($0)': " } ?? "") + message
        }
    }
}

/// A YAML file read for one of Canopy's data formats: its root node and a way to point at any
/// node by file, line and column.
struct YAMLFile {
    let path: String
    let root: Node?

    init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PolicyError.at(SourceLocation(file: path, line: 0, column: 0), policy: nil, message: "cannot read the file")
        }
        try self.init(text: text, path: path)
    }

    init(text: String, path: String) throws {
        self.path = path
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw PolicyError.at(PolicyLoader.location(of: error, file: path), policy: nil, message: "not valid YAML: \(PolicyLoader.problem(of: error))")
        }
    }

    func error(at node: Node?, policy: String? = nil, _ message: String) -> PolicyError {
        .at(SourceLocation(file: path, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0), policy: policy, message: message)
    }

    // Field readers shared by the definition files (ownership, allocation): each error points at
    // the node and names the object it belongs to.

    /// A list field; absent, empty or null reads as no items.
    func list(_ node: Node?, _ field: String) throws -> [Node] {
        guard let node else { return [] }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~" { return [] }
        guard let sequence = node.sequence else { throw error(at: node, "'\(field)' must be a list") }
        return Array(sequence)
    }

    /// A list of strings; a single string reads as a list of one.
    func strings(_ node: Node?, _ field: String, of owner: String) throws -> [String] {
        guard let node else { return [] }
        if let single = node.scalar { return [single.string] }
        guard let sequence = node.sequence else { throw error(at: node, "\(owner): '\(field)' must be a list of strings") }
        return try sequence.map { item in
            guard let scalar = item.scalar else { throw error(at: item, "\(owner): '\(field)' must be a list of strings") }
            return scalar.string
        }
    }

    /// Tag key → accepted values.
    func tagValues(_ node: Node?, _ field: String, of owner: String) throws -> [String: [String]] {
        guard let node else { return [:] }
        guard let map = node.mapping else { throw error(at: node, "\(owner): '\(field)' must map a tag key to its values") }
        var tags: [String: [String]] = [:]
        for (key, values) in map {
            guard let name = key.string else { throw error(at: key, "\(owner): a tag key must be a string") }
            tags[name] = try strings(values, "\(field).\(name)", of: owner)
        }
        return tags
    }

    func fields(_ mapping: Node.Mapping, allowed: Set<String>, of owner: String) throws {
        for key in mapping.keys.compactMap(\.string) where !allowed.contains(key) {
            throw error(at: mapping[key], "\(owner): unknown field '\(key)'")
        }
    }

    func required(_ mapping: Node.Mapping, _ field: String, node: Node, of owner: String) throws -> String {
        guard let value = mapping[field]?.string, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw error(at: mapping[field] ?? node, "\(owner): '\(field)' is required")
        }
        return value
    }
}

/// Reads Custodian policy files. Every error names the file, line, column and policy before
/// anything runs.
public enum PolicyLoader {
    public static func load(path: String) throws -> [Policy] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PolicyError.at(SourceLocation(file: path, line: 0, column: 0), policy: nil, message: "cannot read the file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> [Policy] {
        let yaml = try YAMLFile(text: text, path: file)
        let root = yaml.root
        func at(_ node: Node?, _ policy: String?, _ message: String) -> PolicyError { yaml.error(at: node, policy: policy, message) }
        guard let list = root?.mapping?["policies"]?.sequence else {
            throw at(root, nil, "expected a top-level 'policies:' list")
        }
        var names: Set<String> = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let directory = file.isEmpty ? nil : URL(fileURLWithPath: file).deletingLastPathComponent()
        return try list.enumerated().map { index, node in
            guard let entry = node.mapping else { throw at(node, nil, "each policy must be a mapping") }
            guard let name = entry["name"]?.string, !name.isEmpty else { throw at(node, nil, "a policy needs a 'name'") }
            guard names.insert(name).inserted else { throw at(entry["name"], name, "the name is used twice") }
            guard let resource = entry["resource"]?.string else { throw at(node, name, "'resource' is missing") }
            let known: Set<String> = ["name", "resource", "description", "filters", "actions", "mode", "metadata", "comment", "comments", "tags", "conditions", "query", "source", "max-resources", "max-resources-percent"]
            for key in entry.keys.compactMap(\.string) where !known.contains(key) {
                throw at(entry[key], name, "unknown policy field '\(key)'")
            }
            let type = resource.contains(".") ? resource : "aws.\(resource)"
            let filters = try (entry["filters"]?.sequence ?? []).map {
                try filter($0, policy: name, resource: type, directory: directory, at: at)
            }
            return Policy(
                name: name, resource: type, description: entry["description"]?.string, filters: filters,
                actions: (entry["actions"]?.sequence ?? []).map(json), metadata: entry["metadata"].map(json),
                location: SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0),
                source: sourceText(of: index, in: list, lines: lines))
        }
    }

    static func filter(
        _ node: Node, policy: String, resource: String, directory: URL?, nested: Bool = false,
        at: (Node?, String?, String) -> PolicyError
    ) throws -> FilterNode {
        guard let mapping = node.mapping else { throw at(node, policy, "a filter must be a mapping") }
        let keys = mapping.keys.compactMap(\.string)
        if keys.count == 1, let operand = ["and", "or", "not"].first(where: { $0 == keys[0] }) {
            guard let children = mapping[operand]?.sequence else {
                throw at(mapping[operand], policy, "'\(operand)' takes a list of filters")
            }
            let parsed = try children.map {
                try filter($0, policy: policy, resource: resource, directory: directory, nested: true, at: at)
            }
            return operand == "and" ? .all(parsed) : operand == "or" ? .any(parsed) : .none(parsed)
        }
        guard case .object(let members) = json(node) else { throw at(node, policy, "a filter must be a mapping") }
        let type = members["type"]?.stringValue ?? "value"
        do {
            if type == "value" {
                let filter = try ValueFilter(data: members, directory: directory)
                if filter.valueType == .resourceCount, nested {
                    throw PolicyError.field("value_type", "value_type resource_count counts the whole set: use it at the top level of 'filters'")
                }
                return .value(filter)
            }
            guard let entry = FilterRegistry.entries[type] else {
                throw PolicyError.field("type", "unknown filter type '\(type)'; known: and, not, or, value, \(FilterRegistry.entries.keys.sorted().joined(separator: ", "))")
            }
            if let resources = entry.resources, !resources.contains(resource) {
                throw PolicyError.field("type", "filter '\(type)' does not apply to \(resource) (it applies to \(resources.sorted().joined(separator: ", ")))")
            }
            return .resource(try entry.build(FilterData(type: type, resource: resource, members: members, directory: directory)))
        } catch PolicyError.field(let key, let message) {
            throw at(mapping[key] ?? node, policy, message)
        } catch let error as PolicyError {
            throw at(node, policy, "\(error)")
        }
    }

    /// A YAML node as JSON, with scalars typed by YAML's core schema (so `80` is an integer and
    /// `"80"` a string, as Custodian sees them).
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(sequence.map(json))
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping { members[key.string ?? "\(key)"] = json(value) }
            return .object(members)
        case .alias:
            return .null
        }
    }

    /// The lines of one entry of the `policies:` list: from its first line to the next entry's.
    static func sourceText(of index: Int, in list: Node.Sequence, lines: [Substring]) -> String {
        let first = max((list[index].mark?.line ?? 1) - 1, 0)
        let next = index + 1 < list.count ? (list[index + 1].mark?.line ?? lines.count + 1) - 1 : lines.count
        guard first < next, next <= lines.count else { return "" }
        return lines[first..<next].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func location(of error: YamlError, file: String) -> SourceLocation {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _):
            return SourceLocation(file: file, line: mark.line, column: mark.column)
        default:
            return SourceLocation(file: file, line: 0, column: 0)
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}

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

/// A filter tree: Custodian's `and`/`or`/`not` over value filters.
public indirect enum FilterNode: Sendable {
    case all([FilterNode])
    case any([FilterNode])
    /// Custodian's `not` negates the conjunction of its children.
    case none([FilterNode])
    case value(ValueFilter)

    public func matches(_ resource: JSONValue, now: Date) -> Bool {
        switch self {
        case .all(let children): children.allSatisfy { $0.matches(resource, now: now) }
        case .any(let children): children.contains { $0.matches(resource, now: now) }
        case .none(let children): !children.allSatisfy { $0.matches(resource, now: now) }
        case .value(let filter): filter.matches(resource, now: now)
        }
    }
}

/// One Custodian policy: a resource type and the filters its resources must match.
public struct Policy: Sendable {
    public var name: String
    /// Normalised to Canopy's type names (`ec2` → `aws.ec2`).
    public var resource: String
    public var description: String?
    public var filters: FilterNode
    /// Actions as written; executing them is not part of the filter engine.
    public var actions: [JSONValue]
    public var metadata: JSONValue?
    public var location: SourceLocation

    public func matches(_ resource: JSONValue, now: Date) -> Bool {
        filters.matches(resource, now: now)
    }
}

public enum PolicyError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidKey(String, reason: String)
    case invalidValue(String)
    /// A problem at a place in a file, inside a named policy.
    case at(SourceLocation, policy: String?, message: String)

    public var description: String {
        switch self {
        case .invalidKey(let key, let reason): "key '\(key)': \(reason)"
        case .invalidValue(let message): message
        case .at(let location, let policy, let message):
            "\(location): " + (policy.map { "policy '\($0)': " } ?? "") + message
        }
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
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyError.at(location(of: error, file: file), policy: nil, message: "not valid YAML: \(problem(of: error))")
        }
        func at(_ node: Node?, _ policy: String?, _ message: String) -> PolicyError {
            .at(SourceLocation(file: file, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0), policy: policy, message: message)
        }
        guard let list = root?.mapping?["policies"]?.sequence else {
            throw at(root, nil, "expected a top-level 'policies:' list")
        }
        var names: Set<String> = []
        return try list.map { node in
            guard let entry = node.mapping else { throw at(node, nil, "each policy must be a mapping") }
            guard let name = entry["name"]?.string, !name.isEmpty else { throw at(node, nil, "a policy needs a 'name'") }
            guard names.insert(name).inserted else { throw at(entry["name"], name, "the name is used twice") }
            guard let resource = entry["resource"]?.string else { throw at(node, name, "'resource' is missing") }
            let known: Set<String> = ["name", "resource", "description", "filters", "actions", "mode", "metadata", "comment", "comments", "tags", "conditions", "query", "source", "max-resources", "max-resources-percent"]
            for key in entry.keys.compactMap(\.string) where !known.contains(key) {
                throw at(entry[key], name, "unknown policy field '\(key)'")
            }
            let filters = try (entry["filters"]?.sequence ?? []).map { try filter($0, policy: name, at: at) }
            return Policy(
                name: name, resource: resource.contains(".") ? resource : "aws.\(resource)",
                description: entry["description"]?.string, filters: .all(filters),
                actions: (entry["actions"]?.sequence ?? []).map(json), metadata: entry["metadata"].map(json),
                location: SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0))
        }
    }

    static func filter(_ node: Node, policy: String, at: (Node?, String?, String) -> PolicyError) throws -> FilterNode {
        guard let mapping = node.mapping else { throw at(node, policy, "a filter must be a mapping") }
        let keys = mapping.keys.compactMap(\.string)
        if keys.count == 1, let operand = ["and", "or", "not"].first(where: { $0 == keys[0] }) {
            guard let children = mapping[operand]?.sequence else {
                throw at(mapping[operand], policy, "'\(operand)' takes a list of filters")
            }
            let parsed = try children.map { try filter($0, policy: policy, at: at) }
            return operand == "and" ? .all(parsed) : operand == "or" ? .any(parsed) : .none(parsed)
        }
        // The short form `- "tag:Owner": absent` is a value filter on that key.
        if keys.count == 1, !["type", "key"].contains(keys[0]) {
            do {
                return .value(try ValueFilter(key: ResourcePath(keys[0]), op: nil, value: json(mapping[keys[0]]!), valueType: nil))
            } catch let error as PolicyError {
                throw at(node, policy, "\(error)")
            }
        }
        let type = mapping["type"]?.string ?? "value"
        guard type == "value" else {
            throw at(mapping["type"], policy, "filter type '\(type)' is not supported yet (supported: value, and, or, not)")
        }
        guard let key = mapping["key"]?.string else { throw at(node, policy, "a value filter needs a 'key'") }
        var op: FilterOperator?
        if let name = mapping["op"]?.string {
            guard let known = FilterOperator(name: name) else {
                throw at(mapping["op"], policy, "unknown op '\(name)'; known: \(FilterOperator.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            op = known
        }
        var valueType: ValueType?
        if let name = mapping["value_type"]?.string {
            guard let known = ValueType(rawValue: name) else {
                throw at(mapping["value_type"], policy, "unknown value_type '\(name)'; known: \(ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            valueType = known
        }
        do {
            return .value(
                try ValueFilter(
                    key: ResourcePath(key), op: op, value: mapping["value"].map(json), valueType: valueType,
                    opSpelling: mapping["op"]?.string))
        } catch let error as PolicyError {
            throw at(mapping["value"] ?? mapping["key"], policy, "\(error)")
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

import CanopyModel
import Foundation

/// A filter's mapping as the policy wrote it, with typed accessors whose errors name the field,
/// so the loader can point at the exact line and column.
struct FilterData {
    let type: String
    /// The policy's resource type (`aws.ec2`).
    let resource: String
    let members: [String: JSONValue]
    /// Where relative `value_from` paths are read from: the policy file's folder.
    let directory: URL?

    subscript(key: String) -> JSONValue? { members[key] }

    func rejectUnknown(_ allowed: Set<String>) throws {
        for key in members.keys.sorted() where key != "type" && !allowed.contains(key) {
            throw PolicyError.field(key, "unknown field '\(key)' for filter '\(type)'; known: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = members[key] else { return nil }
        guard case .bool(let flag) = value else { throw PolicyError.field(key, "'\(key)' must be true or false") }
        return flag
    }

    func int(_ key: String) throws -> Int? {
        guard let value = members[key] else { return nil }
        guard case .int(let number) = value else { throw PolicyError.field(key, "'\(key)' must be a whole number") }
        return Int(number)
    }

    func number(_ key: String) throws -> Double? {
        guard let value = members[key] else { return nil }
        guard let number = value.doubleValue else { throw PolicyError.field(key, "'\(key)' must be a number") }
        return number
    }

    func string(_ key: String) throws -> String? {
        guard let value = members[key] else { return nil }
        guard let text = value.stringValue else { throw PolicyError.field(key, "'\(key)' must be a string") }
        return text
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let value = members[key] else { return nil }
        guard let items = value.arrayValue else { throw PolicyError.field(key, "'\(key)' must be a list of numbers") }
        return try items.map {
            guard case .int(let number) = $0 else { throw PolicyError.field(key, "'\(key)' must be a list of whole numbers") }
            return Int(number)
        }
    }

    /// A member that is itself a value filter on a fixed key (`Cidr: "0.0.0.0/0"` or
    /// `Cidr: {value: …, op: …}`), as Custodian's security-group and multi-attribute filters take them.
    func valueFilter(_ member: String, key: String) throws -> ValueFilter? {
        guard let value = members[member] else { return nil }
        do {
            if case .object(var spec) = value {
                spec["key"] = .string(key)
                return try ValueFilter(data: spec, directory: directory)
            }
            return try ValueFilter(data: [key: value], directory: directory)
        } catch let error as PolicyError {
            throw PolicyError.field(member, "\(error)")
        }
    }

    /// The whole mapping as a value filter (for filters that are value filters over another document).
    func asValueFilter(ignoring: Set<String> = [], key: String? = nil) throws -> ValueFilter {
        var spec = members
        spec["type"] = nil
        for key in ignoring { spec[key] = nil }
        if let key { spec["key"] = .string(key) }
        return try ValueFilter(data: spec, directory: directory)
    }
}

extension ValueFilter {
    static let fields: Set<String> = ["key", "value", "op", "value_type", "value_from", "value_regex", "value_path", "default"]

    /// A value filter from its mapping: `{key, value, op, value_type, value_from, value_regex,
    /// value_path}` or the short form `{"tag:Owner": absent}`.
    convenience init(data: [String: JSONValue], directory: URL?) throws {
        var spec = data
        spec["type"] = nil
        if spec.count == 1, let (key, value) = spec.first, !Self.fields.contains(key) {
            do {
                try self.init(key: ResourcePath(key), op: nil, value: value, valueType: nil, opSpelling: nil, valueRegex: nil, valuePath: nil)
            } catch let error as PolicyError {
                throw PolicyError.field(key, "\(error)")
            }
            return
        }
        for key in spec.keys.sorted() where !Self.fields.contains(key) {
            throw PolicyError.field(key, "unknown field '\(key)' in a value filter; known: type, \(Self.fields.sorted().joined(separator: ", "))")
        }
        // A resource_count filter counts resources; it reads no key.
        let counts = spec["value_type"]?.stringValue == ValueType.resourceCount.rawValue
        guard let keyText = spec["key"]?.stringValue ?? (counts ? "c7n:resource-count" : nil) else {
            throw PolicyError.field("key", "a value filter needs a 'key'")
        }
        let key: ResourcePath
        do { key = try ResourcePath(keyText) } catch let error as PolicyError { throw PolicyError.field("key", "\(error)") }
        var op: FilterOperator?
        if let name = spec["op"]?.stringValue {
            guard let known = FilterOperator(name: name) else {
                throw PolicyError.field("op", "unknown op '\(name)'; known: \(FilterOperator.allCases.map(\.rawValue).joined(separator: ", ")) and the aliases \(FilterOperator.aliases.keys.sorted().joined(separator: ", "))")
            }
            op = known
        }
        var valueType: ValueType?
        if let name = spec["value_type"]?.stringValue {
            guard let known = ValueType(rawValue: name) else {
                throw PolicyError.field("value_type", "unknown value_type '\(name)'; known: \(ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            valueType = known
        }
        var value = spec["value"]
        if let source = spec["value_from"] {
            do { value = try ValuesFrom.load(source, directory: directory) } catch let error as PolicyError {
                throw PolicyError.field("value_from", "\(error)")
            }
        }
        if valueType == .resourceCount {
            guard op != nil, op != .regex, op != .regexCase else {
                throw PolicyError.field("op", "value_type resource_count needs a comparison op")
            }
        }
        var valueRegex: NSRegularExpressionBox?
        if let regex = spec["value_regex"] {
            guard let text = regex.stringValue else { throw PolicyError.field("value_regex", "value_regex must be a string") }
            let compiled: NSRegularExpressionBox
            do { compiled = try NSRegularExpressionBox(text, caseInsensitive: false) } catch let error as PolicyError {
                throw PolicyError.field("value_regex", "value_regex: \(error)")
            }
            guard compiled.captureGroups == 1 else {
                throw PolicyError.field("value_regex", "value_regex must have a single capturing group")
            }
            valueRegex = compiled
        }
        var valuePath: ResourcePath?
        if let path = spec["value_path"] {
            guard let text = path.stringValue else { throw PolicyError.field("value_path", "value_path must be a string") }
            do { valuePath = try ResourcePath(text) } catch let error as PolicyError { throw PolicyError.field("value_path", "\(error)") }
        }
        do {
            try self.init(
                key: key, op: op, value: value, valueType: valueType, opSpelling: spec["op"]?.stringValue, valueRegex: valueRegex,
                valuePath: valuePath)
        } catch let error as PolicyError {
            throw PolicyError.field(spec.keys.contains("value") ? "value" : "key", "\(error)")
        }
    }
}

/// Custodian's `value_from`: a list of values read from a file when the policy loads (`url` a
/// local path or `file://` URL, `format` json, csv, csv2dict or txt, optional `expr` to pick a
/// part of the document). Remote sources (s3://, https://) are refused: a policy run reads no
/// network it was not asked to.
enum ValuesFrom {
    static func load(_ source: JSONValue, directory: URL?) throws -> JSONValue {
        guard let url = source["url"]?.stringValue else { throw PolicyError.invalidValue("value_from needs a 'url'") }
        var path = url
        if path.hasPrefix("file://") { path = String(path.dropFirst("file://".count)) }
        if path.contains("://") {
            throw PolicyError.invalidValue("value_from '\(url)': only local files are read (copy the list beside the policy)")
        }
        let file = path.hasPrefix("/") ? URL(fileURLWithPath: path) : (directory ?? URL(fileURLWithPath: ".")).appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw PolicyError.invalidValue("value_from: cannot read \(file.path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let format = source["format"]?.stringValue ?? file.pathExtension
        let expr = source["expr"]
        switch format {
        case "json":
            let document: JSONValue
            do { document = try JSONValue.parse(data) } catch { throw PolicyError.invalidValue("value_from: \(file.path) is not valid JSON") }
            guard let expr else { return document }
            guard let key = expr.stringValue else { throw PolicyError.invalidValue("value_from: 'expr' must be a key") }
            return try ResourcePath(key).value(in: document) ?? .array([])
        case "txt":
            return .array(text.split(whereSeparator: \.isNewline).map { .string($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 != "" })
        case "csv", "csv2dict":
            let rows = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
            if format == "csv2dict" {
                guard let header = rows.first else { return .array([]) }
                let column = expr?.stringValue ?? header.first ?? ""
                guard let index = header.firstIndex(of: column) else {
                    throw PolicyError.invalidValue("value_from: \(file.path) has no column '\(column)'")
                }
                return .array(rows.dropFirst().compactMap { index < $0.count ? .string($0[index]) : nil })
            }
            if let column = expr?.intValue {
                return .array(rows.compactMap { Int(column) < $0.count ? .string($0[Int(column)]) : nil })
            }
            return .array(rows.flatMap { $0.map(JSONValue.string) })
        default:
            throw PolicyError.invalidValue("value_from: unknown format '\(format)' (json, csv, csv2dict, txt)")
        }
    }
}

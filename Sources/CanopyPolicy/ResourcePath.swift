import CanopyModel
import Foundation

/// The subset of JMESPath that Custodian policies use as `key`: dotted field names, `[N]`
/// indexes, and `[]`/`[*]` projections (`IpPermissions[].IpRanges[].CidrIp`), plus Custodian's
/// `tag:Name` shorthand for the value of a tag.
public struct ResourcePath: Sendable, Hashable, CustomStringConvertible {
    enum Step: Sendable, Hashable {
        case field(String)
        case index(Int)
        /// `[]` flattens one level of nesting; `[*]` projects without flattening.
        case flatten
        case wildcard
    }

    let steps: [Step]
    let tagKey: String?
    public let description: String

    public init(_ text: String) throws {
        description = text
        if text.hasPrefix("tag:") {
            tagKey = String(text.dropFirst(4))
            steps = []
            return
        }
        tagKey = nil
        var steps: [Step] = []
        var name = ""
        var index = text.startIndex
        func flushName() {
            if !name.isEmpty { steps.append(.field(name)) }
            name = ""
        }
        while index < text.endIndex {
            let character = text[index]
            switch character {
            case ".":
                flushName()
            case "[":
                flushName()
                guard let close = text[index...].firstIndex(of: "]") else {
                    throw PolicyError.invalidKey(text, reason: "unclosed '['")
                }
                let inside = text[text.index(after: index)..<close].trimmingCharacters(in: .whitespaces)
                if inside.isEmpty {
                    steps.append(.flatten)
                } else if inside == "*" {
                    steps.append(.wildcard)
                } else if let number = Int(inside) {
                    steps.append(.index(number))
                } else {
                    throw PolicyError.invalidKey(text, reason: "'[\(inside)]' is not supported (use [], [*] or [N])")
                }
                index = close
            case "\"":
                guard let close = text[text.index(after: index)...].firstIndex(of: "\"") else {
                    throw PolicyError.invalidKey(text, reason: "unclosed quote")
                }
                name += text[text.index(after: index)..<close]
                index = close
            default:
                if "|&(){}?!=<>`@,".contains(character) {
                    throw PolicyError.invalidKey(text, reason: "JMESPath '\(character)' expressions are not supported")
                }
                name.append(character)
            }
            index = text.index(after: index)
        }
        flushName()
        guard !steps.isEmpty else { throw PolicyError.invalidKey(text, reason: "empty key") }
        self.steps = steps
    }

    /// The value at this path, `nil` when absent (JMESPath's null).
    public func value(in resource: JSONValue) -> JSONValue? {
        if let tagKey {
            // RDS keeps its tags in `TagList`; Lambda and GuardDuty as a `{key: value}` mapping.
            let tags = resource["Tags"] ?? resource["TagList"]
            if case .object(let mapping)? = tags { return mapping[tagKey]?.nilIfNull }
            for tag in tags?.arrayValue ?? [] where tag["Key"]?.stringValue == tagKey {
                return tag["Value"] ?? .null
            }
            return nil
        }
        if steps.count == 1, case .field(let name) = steps[0] { return resource[name]?.nilIfNull }
        // Custodian tries the whole key as one member name first (keys may contain dots).
        if case .object(let members) = resource, let direct = members[description] { return direct.nilIfNull }
        return Self.evaluate(steps[...], on: resource)?.nilIfNull
    }

    private static func evaluate(_ steps: ArraySlice<Step>, on value: JSONValue?) -> JSONValue? {
        guard let step = steps.first else { return value }
        let rest = steps.dropFirst()
        switch step {
        case .field(let name):
            return evaluate(rest, on: value?[name])
        case .index(let position):
            guard let items = value?.arrayValue else { return nil }
            let resolved = position < 0 ? items.count + position : position
            return items.indices.contains(resolved) ? evaluate(rest, on: items[resolved]) : nil
        case .flatten, .wildcard:
            guard let items = value?.arrayValue else { return nil }
            let source = step == .flatten ? items.flatMap { $0.arrayValue ?? [$0] } : items
            // A projection applies the path up to the next `[]` to each element, keeping the non-null
            // results; that next `[]` then flattens the collected list (JMESPath's semantics).
            let end = rest.firstIndex(of: .flatten) ?? rest.endIndex
            let projected = source.compactMap { evaluate(rest[..<end], on: $0)?.nilIfNull }
            return end == rest.endIndex ? .array(projected) : evaluate(rest[end...], on: .array(projected))
        }
    }
}

extension JSONValue {
    var nilIfNull: JSONValue? { self == .null ? nil : self }
}

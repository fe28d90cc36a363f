import CanopyModel
import Foundation

/// Custodian's comparison operators, with their aliases.
public enum FilterOperator: String, Sendable, CaseIterable {
    case eq, ne, gt, ge, lt, le, glob, regex, regexCase = "regex-case", `in`, ni, contains, difference, intersect, mod

    static let aliases: [String: FilterOperator] = [
        "equal": .eq, "not-equal": .ne, "greater-than": .gt, "gte": .ge, "less-than": .lt, "lte": .le, "not-in": .ni,
    ]

    public init?(name: String) {
        if let known = FilterOperator(rawValue: name) ?? Self.aliases[name] { self = known } else { return nil }
    }
}

/// Custodian's `value_type` conversions. `expr` reads the policy value as a path into the resource;
/// `resource_count` compares the number of resources left by the filters before it.
public enum ValueType: String, Sendable, CaseIterable {
    case age, expiration, integer, float, normalize, size, uniqueSize = "unique_size", cidr, cidrSize = "cidr_size"
    case swap, date, version, expr, resourceCount = "resource_count"
}

/// A Custodian value filter: `key`, `op`, `value`, `value_type`, and the special values `absent`,
/// `present`, `not-null` and `empty`, with Custodian's (Python's) comparison semantics.
///
/// A class, immutable once built: filters are shared by every evaluation, and a struct of this
/// size would be copied (and its references retained) each time a filter tree is walked.
public final class ValueFilter: Sendable {
    public let key: ResourcePath
    public let op: FilterOperator?
    public let value: JSONValue?
    public let valueType: ValueType?
    /// Custodian treats an absent value as an empty tuple for `in` and `not-in`, but not for the
    /// `ni` spelling of the latter; the spelling is kept to follow it exactly.
    let emptyWhenAbsent: Bool
    /// Compiled once for `regex`/`regex-case`; a bad pattern is a load error, not a runtime one.
    let pattern: NSRegularExpressionBox?
    /// `value_regex`: the resource's value is replaced by the pattern's one capture group.
    let valueRegex: NSRegularExpressionBox?
    /// `value_path`: the policy value is read from the resource itself.
    let valuePath: ResourcePath?
    /// `expr`: the policy value names a path into the resource.
    let exprPath: ResourcePath?
    /// The policy value as Python sees it, converted once.
    let policyValue: PyValue
    /// `absent`, `present`, `not-null` or `empty`, recognised once.
    let special: Special?

    enum Special { case absent, present, notNull, empty }

    public convenience init(
        key: ResourcePath, op: FilterOperator?, value: JSONValue?, valueType: ValueType?, opSpelling: String? = nil
    ) throws {
        try self.init(key: key, op: op, value: value, valueType: valueType, opSpelling: opSpelling, valueRegex: nil, valuePath: nil)
    }

    init(
        key: ResourcePath, op: FilterOperator?, value: JSONValue?, valueType: ValueType?, opSpelling: String?,
        valueRegex: NSRegularExpressionBox?, valuePath: ResourcePath?
    ) throws {
        self.key = key
        self.valueRegex = valueRegex
        self.valuePath = valuePath
        self.op = op
        self.value = value
        self.valueType = valueType
        emptyWhenAbsent = ["in", "not-in"].contains(opSpelling ?? op?.rawValue ?? "")
        // With `swap` the pattern is the resource's value, known only when matching.
        if let op, op == .regex || op == .regexCase, valueType != .swap {
            guard let text = value?.stringValue else { throw PolicyError.invalidValue("regex needs a string value") }
            pattern = try NSRegularExpressionBox(text, caseInsensitive: op == .regex)
        } else {
            pattern = nil
        }
        if valueType == .expr {
            guard let text = value?.stringValue else { throw PolicyError.invalidValue("value_type expr needs a key as its value") }
            exprPath = try ResourcePath(text)
        } else {
            exprPath = nil
        }
        policyValue = PyValue(value)
        special = switch value?.stringValue {
        case "absent": .absent
        case "present": .present
        case "not-null": .notNull
        case "empty": .empty
        default: nil
        }
    }

    /// Whether `resource` (its properties, in boto3's shape) matches, at time `now`.
    public func matches(_ resource: JSONValue, now: Date) -> Bool {
        matches(raw: key.value(in: resource), document: resource, now: now)
    }

    /// A whole resource: `tag:` keys read the tags Canopy already indexed instead of scanning
    /// the `Tags` list.
    public func matches(_ resource: Resource, now: Date) -> Bool {
        if let tag = key.tagKey {
            return matches(raw: resource.tags[tag].map(JSONValue.string), document: resource.properties, now: now)
        }
        return matches(raw: key.value(in: resource.properties), document: resource.properties, now: now)
    }

    func matches(raw: JSONValue?, document resource: JSONValue, now: Date) -> Bool {
        // The common case — plain equality or a special value, no conversion — decided on the JSON
        // itself, without building Python-like values.
        if op == nil, valueType == nil, valueRegex == nil, valuePath == nil {
            if let special {
                // Paths never yield JSON null (it reads as absent, as in JMESPath).
                let isAbsent = raw == nil
                switch special {
                case .absent where isAbsent: return true
                case .present where !isAbsent: return true
                case .notNull where Self.truthy(raw): return true
                case .empty where !Self.truthy(raw): return true
                default: break
                }
            }
            if let verdict = Self.scalarEquals(raw, policyValue) { return verdict }
        }
        var r = PyValue(raw)
        var v = valuePath.map { PyValue($0.value(in: resource)) } ?? policyValue
        if let valueRegex, case .string(let text) = r {
            r = valueRegex.firstGroup(in: text).map(PyValue.string) ?? .none
        }
        if emptyWhenAbsent, r == .none { r = .list([]) }
        if let exprPath {
            v = PyValue(exprPath.value(in: resource))
        } else if let valueType {
            (v, r) = Self.convert(valueType, policy: v, resource: r, now: now)
        }

        if case .string(let special) = v {
            switch special {
            case "absent" where r == .none: return true
            case "present" where r != .none: return true
            case "not-null" where r.truthy: return true
            case "empty" where !r.truthy: return true
            default: break
            }
        }
        guard let op else { return r == v }
        var pattern = pattern
        if pattern == nil, op == .regex || op == .regexCase, case .string(let text) = v {
            pattern = try? NSRegularExpressionBox(text, caseInsensitive: op == .regex)
        }
        return PyValue.apply(op, r, v, pattern: pattern) ?? false
    }

    /// Python truthiness of a JSON value (absent is falsy).
    static func truthy(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: false
        case .bool(let b)?: b
        case .int(let i)?: i != 0
        case .double(let d)?: d != 0
        case .string(let s)?: !s.isEmpty
        case .array(let a)?: !a.isEmpty
        case .object(let o)?: !o.isEmpty
        }
    }

    /// Python `==` between a JSON value and a scalar policy value (`True == 1 == 1.0`); nil when
    /// the policy value is not a scalar and the general path must decide.
    static func scalarEquals(_ raw: JSONValue?, _ v: PyValue) -> Bool? {
        func number(_ json: JSONValue?) -> Double? {
            switch json {
            case .bool(let b)?: b ? 1 : 0
            case .int(let i)?: Double(i)
            case .double(let d)?: d
            default: nil
            }
        }
        switch v {
        case .none: return raw == nil || raw == .null
        case .string(let text):
            if case .string(let other)? = raw { return other == text }
            return false
        case .bool, .int, .float:
            guard let left = number(raw) else { return false }
            // Exact for integers: compare them as integers.
            if case .int(let i) = v, case .int(let j)? = raw { return i == j }
            return left == v.number
        default:
            return nil
        }
    }

    /// Custodian's `process_value_type`: returns (policy side, resource side), possibly swapped.
    static func convert(_ type: ValueType, policy v: PyValue, resource r: PyValue, now: Date) -> (PyValue, PyValue) {
        switch type {
        case .normalize:
            if case .string(let s) = r { return (v, .string(s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased())) }
            return (v, r)
        case .integer:
            return (v, .int(Int64(r.text.trimmingCharacters(in: .whitespaces)) ?? 0))
        case .float:
            return (v, .float(Double(r.text.trimmingCharacters(in: .whitespaces)) ?? 0))
        case .size:
            return (v, .int(Int64(r.length ?? 0)))
        case .uniqueSize:
            return (v, .int(Int64(r.uniqueLength ?? 0)))
        case .swap:
            return (r, v)
        case .date:
            return (PyValue.date(parsing: v), PyValue.date(parsing: r))
        case .age, .expiration:
            // The policy value is a number of days before (age) or after (expiration) now.
            let days = v.number ?? 0
            let threshold = PyValue.datetime(now.addingTimeInterval((type == .age ? -1 : 1) * days * 86_400))
            let date = PyValue.date(parsing: r)
            let resourceSide = date == .none ? PyValue.int(0) : date
            // Custodian compares the threshold with the resource's date for `age` (so "gt 90" reads
            // "older than 90 days") and the resource's date with the threshold for `expiration`.
            return type == .age ? (resourceSide, threshold) : (threshold, resourceSide)
        case .cidr:
            let policy = PyValue.cidr(parsing: v)
            let resource = PyValue.cidr(parsing: r)
            if case .address = policy, case .network = resource { return (resource, policy) }
            return (policy, resource)
        case .cidrSize:
            if case .network(_, let prefix, _) = PyValue.cidr(parsing: r) { return (v, .int(Int64(prefix))) }
            return (v, .int(0))
        case .version:
            return (.version(PyValue.versionComponents(v.text)), .version(PyValue.versionComponents(r.text)))
        case .expr, .resourceCount:
            // Handled by the caller: `expr` before conversion, `resource_count` over the whole set.
            return (v, r)
        }
    }
}

/// A dictionary behind a lock, for memoising pure functions across threads.
final class LockedCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Bool] = [:]

    func withLock<T>(_ body: (inout [String: Bool]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&values)
    }
}

/// A compiled regular expression that is safe to share (patterns are immutable once built).
final class NSRegularExpressionBox: @unchecked Sendable {
    let expression: NSRegularExpression

    init(_ pattern: String, caseInsensitive: Bool) throws {
        do {
            // ICU rejects an empty pattern; Python's matches everything, so `(?:)` stands in.
            expression = try NSRegularExpression(
                pattern: pattern.isEmpty ? "(?:)" : pattern, options: caseInsensitive ? [.caseInsensitive] : [])
        } catch {
            throw PolicyError.invalidValue("'\(pattern)' is not a valid regular expression")
        }
    }

    /// Python's `re.match(...).group(1)`, as `value_regex` uses it.
    func firstGroup(in text: String) -> String? {
        let range = NSRange(text.startIndex..., in: text)
        guard let match = expression.firstMatch(in: text, options: [.anchored], range: range), match.numberOfRanges > 1,
            let group = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[group])
    }

    var captureGroups: Int { expression.numberOfCaptureGroups }

    /// Python's `re.match`: anchored at the start of the string, not at its end.
    func matchesAtStart(_ text: String) -> Bool {
        // Resource values repeat (instance types, tag values), and a regex costs a microsecond
        // where a lookup costs nanoseconds: remember recent verdicts, within a bound.
        if let known = memo.withLock({ $0[text] }) { return known }
        let range = NSRange(text.startIndex..., in: text)
        let verdict = expression.firstMatch(in: text, options: [.anchored], range: range) != nil
        memo.withLock { cache in
            if cache.count >= 4_096 { cache.removeAll(keepingCapacity: true) }
            cache[text] = verdict
        }
        return verdict
    }

    private let memo = LockedCache()
}

import CanopyModel
import Foundation

/// A JSON value seen with Python's semantics, because Custodian's filters are Python `operator`
/// calls: `True == 1`, `None < 1` is a TypeError (so the filter does not match), `"a" in "cat"`
/// is a substring test, and `set("abc")` is a set of characters.
enum PyValue: Hashable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case list([PyValue])
    case dict([String: PyValue])
    case datetime(Date)
    case address(UInt32, isV6: Bool)
    case network(UInt32, prefix: Int, isV6: Bool)
    case version([Int])
    /// Custodian's IPv4List: a parsed list of CIDRs, which contains what any of its networks contains.
    case cidrList([PyValue])

    init(_ json: JSONValue?) {
        switch json {
        case nil, .null?: self = .none
        case .bool(let b)?: self = .bool(b)
        case .int(let i)?: self = .int(i)
        case .double(let d)?: self = .float(d)
        case .string(let s)?: self = .string(s)
        case .array(let a)?: self = .list(a.map { PyValue($0) })
        case .object(let o)?: self = .dict(o.mapValues { PyValue($0) })
        }
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .float(let f): f != 0
        case .string(let s): !s.isEmpty
        case .list(let l): !l.isEmpty
        case .dict(let d): !d.isEmpty
        default: true
        }
    }

    /// `bool` is an `int` in Python; both compare numerically with `float`.
    var number: Double? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): Double(i)
        case .float(let f): f
        default: nil
        }
    }

    /// `str(value)` for the integer/float conversions.
    var text: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .float(let f): String(f)
        case .string(let s): s
        default: ""
        }
    }

    var length: Int? {
        switch self {
        case .string(let s): s.count
        case .list(let l): l.count
        case .dict(let d): d.count
        default: nil
        }
    }

    var uniqueLength: Int? { members.map { Set($0).count } }

    /// The elements `set(x)` would iterate: characters of a string, items of a list, keys of a dict.
    /// `nil` when Python would raise (unhashable items, or not iterable).
    var members: [PyValue]? {
        switch self {
        case .string(let s): return s.map { .string(String($0)) }
        case .list(let l): return l.contains(where: \.isUnhashable) ? nil : l
        case .dict(let d): return d.keys.map { .string($0) }
        default: return nil
        }
    }

    var isUnhashable: Bool {
        switch self {
        case .list, .dict: true
        default: false
        }
    }

    static func == (a: PyValue, b: PyValue) -> Bool { equal(a, b) }

    func hash(into hasher: inout Hasher) {
        if let number { hasher.combine(number) } else { hasher.combine(text) }
    }

    static func equal(_ a: PyValue, _ b: PyValue) -> Bool {
        if let x = a.number, let y = b.number { return x == y }
        switch (a, b) {
        case (.none, .none): return true
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        case (.datetime(let x), .datetime(let y)): return x == y
        case (.address(let x, let v6x), .address(let y, let v6y)): return x == y && v6x == v6y
        case (.network(let x, let p, let v6x), .network(let y, let q, let v6y)): return x == y && p == q && v6x == v6y
        case (.version(let x), .version(let y)): return compareVersions(x, y) == 0
        default: return false
        }
    }

    /// Python ordering; `nil` where Python raises TypeError.
    static func compare(_ a: PyValue, _ b: PyValue) -> Int? {
        if let x = a.number, let y = b.number { return x < y ? -1 : x > y ? 1 : 0 }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            // Python compares code points, not locale-aware collation.
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : x == y ? 0 : 1
        case (.list(let x), .list(let y)):
            for (left, right) in zip(x, y) where !equal(left, right) { return compare(left, right) }
            return x.count < y.count ? -1 : x.count > y.count ? 1 : 0
        case (.datetime(let x), .datetime(let y)): return x < y ? -1 : x > y ? 1 : 0
        case (.version(let x), .version(let y)): return compareVersions(x, y)
        case (.address(let x, false), .address(let y, false)): return x < y ? -1 : x > y ? 1 : 0
        case (.network(let x, let p, false), .network(let y, let q, false)):
            return x != y ? (x < y ? -1 : 1) : p < q ? -1 : p > q ? 1 : 0
        default: return nil
        }
    }

    static func compareVersions(_ a: [Int], _ b: [Int]) -> Int {
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    /// `x in y`; `nil` where Python raises.
    static func contained(_ x: PyValue, in y: PyValue) -> Bool? {
        switch y {
        case .list(let items): return items.contains { equal(x, $0) }
        case .string(let text):
            guard case .string(let part) = x else { return nil }
            return part.isEmpty || text.contains(part)
        case .dict(let members):
            guard case .string(let key) = x else { return x.isUnhashable ? nil : false }
            return members[key] != nil
        case .cidrList(let items):
            if x == .none { return false }
            return items.contains { item in
                switch item {
                case .network: return contained(x, in: item) == true
                case .address: return equal(x, item)
                default: return false
                }
            }
        case .network(let base, let prefix, let v6):
            // Custodian's IPv4Network also contains the networks it is a supernet of.
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
            switch x {
            case .address(let address, let isV6): return !isV6 && !v6 && address & mask == base & mask
            case .network(let other, let otherPrefix, let isV6):
                return !isV6 && !v6 && otherPrefix >= prefix && other & mask == base & mask
            default: return false
            }
        default: return nil
        }
    }

    /// Applies a Custodian operator as `op(resource, policy)`; `nil` stands for Python's TypeError.
    static func apply(_ op: FilterOperator, _ r: PyValue, _ v: PyValue, pattern: NSRegularExpressionBox?) -> Bool? {
        switch op {
        case .eq: return equal(r, v)
        case .ne: return !equal(r, v)
        case .gt: return compare(r, v).map { $0 > 0 }
        case .ge: return compare(r, v).map { $0 >= 0 }
        case .lt: return compare(r, v).map { $0 < 0 }
        case .le: return compare(r, v).map { $0 <= 0 }
        case .in: return contained(r, in: v)
        case .ni: return contained(r, in: v).map { !$0 }
        case .contains: return contained(v, in: r)
        case .glob:
            guard case .string(let text) = r, case .string(let glob) = v else { return false }
            return Glob.matches(text, glob)
        case .regex, .regexCase:
            guard case .string(let text) = r, let pattern else { return false }
            return pattern.matchesAtStart(text)
        case .difference, .intersect:
            guard let left = r.members, let right = v.members else { return nil }
            let rightSet = Set(right)
            return op == .difference ? left.contains { !rightSet.contains($0) } : left.contains { rightSet.contains($0) }
        case .mod:
            guard let x = r.number, let y = v.number, y != 0 else { return nil }
            return x.truncatingRemainder(dividingBy: y) != 0
        }
    }

    /// `dateutil`-style parsing of what policies and resources hold: ISO 8601 text or epoch seconds.
    static func date(parsing value: PyValue) -> PyValue {
        switch value {
        case .datetime: return value
        case .string(let text) where !text.isEmpty && text.allSatisfy(\.isASCIIDigit):
            return epoch(Double(text) ?? 0)
        case .string(let text): return isoDate(text).map(PyValue.datetime) ?? .none
        case .int, .float, .bool: return epoch(value.number ?? 0)
        default: return .none
        }
    }

    /// ISO 8601 text only (Custodian's dateutil also reads free text such as "3.9" as March 9th).
    static func isoDate(_ text: String) -> Date? {
        guard text.contains("-"), Double(text) == nil else { return nil }
        return Timestamps.parse(text)
    }

    /// Custodian's parse_date for numbers: seconds since the epoch, or milliseconds when seconds
    /// would be out of range; anything before 2006-03-19 (its DATE_FLOOR) is not a date.
    static func epoch(_ number: Double) -> PyValue {
        let floor = 1_142_726_400.0
        guard number > floor else { return .none }
        let seconds = number < 253_402_300_800 ? number : number / 1000
        return seconds < 253_402_300_800 ? .datetime(Date(timeIntervalSince1970: seconds)) : .none
    }

    /// An IPv4 address or network (`10.0.0.0/8`); IPv6 is recognised but only compared for equality.
    static func cidr(parsing value: PyValue) -> PyValue {
        if case .list(let items) = value { return .cidrList(items.map(cidr(parsing:))) }
        guard case .string(let text) = value else { return .none }
        let parts = text.split(separator: "/", maxSplits: 1)
        guard !parts.isEmpty else { return .none }
        if text.contains(":") {
            // IPv6 is only recognised, not computed on; anything else with a colon is not an address.
            guard text.allSatisfy({ $0.isHexDigit || ":./".contains($0) }) else { return .none }
            return parts.count == 2 ? .network(UInt32(truncatingIfNeeded: text.hashValue), prefix: Int(parts[1]) ?? 128, isV6: true)
                : .address(UInt32(truncatingIfNeeded: text.hashValue), isV6: true)
        }
        let octets = parts[0].split(separator: ".").compactMap { UInt32($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { return .none }
        let address = octets.reduce(0) { $0 << 8 | $1 }
        guard parts.count == 2 else { return .address(address, isV6: false) }
        guard let prefix = Int(parts[1]), (0...32).contains(prefix) else { return .none }
        return .network(address, prefix: prefix, isV6: false)
    }
}

/// `fnmatch.fnmatch` on POSIX: `*`, `?`, `[seq]`, `[!seq]`, case-sensitive, whole string.
enum Glob {
    static func matches(_ text: String, _ pattern: String) -> Bool {
        var regex = "^"
        var index = pattern.startIndex
        while index < pattern.endIndex {
            let character = pattern[index]
            switch character {
            case "*": regex += ".*"
            case "?": regex += "."
            case "[":
                if let close = pattern[pattern.index(after: index)...].firstIndex(of: "]") {
                    var inside = String(pattern[pattern.index(after: index)..<close])
                    if inside.hasPrefix("!") { inside = "^" + inside.dropFirst() }
                    regex += "[" + inside.replacingOccurrences(of: "\\", with: "\\\\") + "]"
                    index = close
                } else {
                    regex += "\\["
                }
            default: regex += NSRegularExpression.escapedPattern(for: String(character))
            }
            index = pattern.index(after: index)
        }
        regex += "$"
        guard let expression = try? NSRegularExpression(pattern: regex, options: [.dotMatchesLineSeparators]) else { return false }
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension PyValue {
    /// A version string compared component by component (`3.10` after `3.9`), as Custodian's
    /// `ComparableVersion` does for the common dotted-number case.
    static func versionComponents(_ text: String) -> [Int] {
        text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }
}

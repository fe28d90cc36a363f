import CanopyLake
import CanopyModel
import Foundation
import Yams

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One search identifier of a rule's `detection`: a map of field conditions (all must hold), a
/// list of such maps (any may hold), or a list of keywords (found in any value of the event).
struct SigmaSearch: Sendable {
    enum Kind: Sendable {
        case all([SigmaFieldMatch])
        case any([[SigmaFieldMatch]])
        case keywords([SigmaStringPattern])
    }

    struct Problem: Error {
        var message: String
        var node: Node?
    }

    let kind: Kind

    init(_ node: Node) throws {
        if let mapping = node.mapping {
            kind = .all(try Self.fields(mapping))
        } else if let list = node.sequence, !list.isEmpty {
            if list.allSatisfy({ $0.mapping != nil }) {
                kind = .any(try list.map { try Self.fields($0.mapping!) })
            } else if list.allSatisfy({ $0.scalar != nil }) {
                // A keyword is full-text search over the log line: found anywhere in any value.
                kind = .keywords(list.map { SigmaStringPattern(sigma: SigmaStringMode.contains.wrap($0.scalar!.string), cased: false) })
            } else {
                throw Problem(message: "a list must hold either only field maps or only keywords", node: node)
            }
        } else {
            throw Problem(message: "must be a map of fields, a list of maps or a list of keywords", node: node)
        }
    }

    static func fields(_ mapping: Node.Mapping) throws -> [SigmaFieldMatch] {
        try mapping.map { key, value in
            guard let name = key.string else { throw Problem(message: "a field name must be text", node: key) }
            do { return try SigmaFieldMatch(key: name, value: value) } catch let problem as Problem {
                throw Problem(message: "\(name): \(problem.message)", node: problem.node ?? value)
            }
        }
    }

    func matches(_ event: CloudTrailEvent) -> Bool {
        switch kind {
        case .all(let fields): return fields.allSatisfy { $0.matches(event) }
        case .any(let maps): return maps.contains { $0.allSatisfy { $0.matches(event) } }
        case .keywords(let patterns):
            var found = false
            SigmaEventPath.eachString(event.json) { text in
                if !found, patterns.contains(where: { $0.matches(text) }) { found = true }
            }
            return found
        }
    }
}

/// `field|modifier|…: value or list`: the values are alternatives, or all required with `|all`.
struct SigmaFieldMatch: Sendable {
    let path: SigmaEventPath
    let requireAll: Bool
    let tests: [SigmaValueTest]

    static let supportedModifiers: Set<String> = [
        "contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cidr", "exists", "fieldref", "cased", "lt", "lte", "gt", "gte",
        "base64", "base64offset", "windash",
    ]

    init(key: String, value: Node) throws {
        let parts = key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        path = SigmaEventPath(parts[0])
        let modifiers = Array(parts.dropFirst())
        for modifier in modifiers where !Self.supportedModifiers.contains(modifier) {
            throw SigmaSearch.Problem(message: "the modifier '\(modifier)' is not supported (Canopy has \(Self.supportedModifiers.sorted().joined(separator: ", ")))")
        }
        requireAll = modifiers.contains("all")
        let scalars: [Node]
        if let list = value.sequence {
            guard !list.isEmpty else { throw SigmaSearch.Problem(message: "an empty list matches nothing; remove it or give values") }
            scalars = Array(list)
        } else {
            scalars = [value]
        }
        tests = try scalars.flatMap { node -> [SigmaValueTest] in
            guard let scalar = node.scalar else { throw SigmaSearch.Problem(message: "values must be scalars", node: node) }
            return try SigmaValueTest.make(scalar, node: node, modifiers: modifiers)
        }
    }

    func matches(_ event: CloudTrailEvent) -> Bool {
        let values = path.values(in: event)
        if requireAll { return tests.allSatisfy { $0.matches(values, event: event) } }
        return tests.contains { $0.matches(values, event: event) }
    }
}

/// A field name resolved against a CloudTrail record: dots walk into objects (and across arrays);
/// a key that itself contains the dots is tried first.
struct SigmaEventPath: Sendable {
    let name: String
    let steps: [String]

    init(_ name: String) {
        self.name = name
        steps = name.split(separator: ".").map(String.init)
    }

    func values(in event: CloudTrailEvent) -> [JSONValue] {
        if steps.count > 1, let literal = event.value(name) { return Self.flatten(literal) }
        guard !steps.isEmpty else { return [event.json] }
        return event.values(along: steps).flatMap(Self.flatten)
    }

    /// An array field matches when any element does.
    static func flatten(_ value: JSONValue) -> [JSONValue] {
        if case .array(let items) = value { return items }
        return [value]
    }

    static func eachString(_ value: JSONValue, _ body: (String) -> Void) {
        switch value {
        case .string(let text): body(text)
        case .array(let items): for item in items { eachString(item, body) }
        case .object(let members): for member in members.values { eachString(member, body) }
        case .int, .double, .bool: body(SigmaValueTest.text(value))
        case .null: break
        }
    }
}

/// A Sigma string with `*` (any run) and `?` (one character) wildcards, `\` escaping them;
/// compared case-insensitively unless `cased`.
struct SigmaStringPattern: Sendable {
    enum Piece: Sendable, Equatable {
        case literal(String)
        case anyRun
        case anyOne
    }

    enum Shape: Sendable {
        case exact(String)
        case prefix(String)
        case suffix(String)
        case contains(String)
        case glob([Piece])
    }

    let shape: Shape
    let cased: Bool

    init(sigma text: String, cased: Bool) {
        self.cased = cased
        var pieces: [Piece] = []
        var literal = ""
        var escaped = false
        for character in text {
            if escaped {
                literal.append(character)
                escaped = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "*", "?":
                if !literal.isEmpty { pieces.append(.literal(cased ? literal : literal.lowercased())) }
                literal = ""
                pieces.append(character == "*" ? .anyRun : .anyOne)
            default: literal.append(character)
            }
        }
        if escaped { literal.append("\\") }
        if !literal.isEmpty { pieces.append(.literal(cased ? literal : literal.lowercased())) }
        // Runs of `*` are one `*`.
        pieces = pieces.enumerated().filter { index, piece in !(piece == .anyRun && index > 0 && pieces[index - 1] == .anyRun) }.map(\.element)
        switch pieces.count {
        case 0: shape = .exact("")
        case 1:
            if case .literal(let text) = pieces[0] { shape = .exact(text) } else { shape = .glob(pieces) }
        case 2:
            if case .literal(let text) = pieces[0], pieces[1] == .anyRun {
                shape = .prefix(text)
            } else if case .literal(let text) = pieces[1], pieces[0] == .anyRun {
                shape = .suffix(text)
            } else {
                shape = .glob(pieces)
            }
        case 3:
            if pieces[0] == .anyRun, pieces[2] == .anyRun, case .literal(let text) = pieces[1] { shape = .contains(text) } else { shape = .glob(pieces) }
        default: shape = .glob(pieces)
        }
    }

    func matches(_ value: String) -> Bool {
        let text = cased ? value : value.lowercased()
        switch shape {
        case .exact(let literal): return text == literal
        case .prefix(let literal): return text.hasPrefix(literal)
        case .suffix(let literal): return text.hasSuffix(literal)
        case .contains(let literal): return Self.contains(text, literal)
        case .glob(let pieces): return Self.glob(pieces[...], Array(text)[...])
        }
    }

    /// Whether `text` holds `literal`, byte for byte (Foundation's `contains` goes through
    /// NSString and cost more than the rest of a rule).
    static func contains(_ text: String, _ literal: String) -> Bool {
        if literal.isEmpty { return true }
        var text = text
        var literal = literal
        return text.withUTF8 { haystack in
            literal.withUTF8 { needle in
                guard haystack.count >= needle.count else { return false }
                // memchr to each place the first byte occurs, then compare the rest there.
                let base = haystack.baseAddress!
                let last = haystack.count - needle.count
                var from = 0
                while from <= last, let found = memchr(base + from, Int32(needle[0]), last - from + 1) {
                    let at = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + at, needle.baseAddress!, needle.count) == 0 { return true }
                    from = at + 1
                }
                return false
            }
        }
    }

    static func glob(_ pieces: ArraySlice<Piece>, _ text: ArraySlice<Character>) -> Bool {
        guard let first = pieces.first else { return text.isEmpty }
        switch first {
        case .literal(let literal):
            let characters = Array(literal)
            guard text.starts(with: characters) else { return false }
            return glob(pieces.dropFirst(), text.dropFirst(characters.count))
        case .anyOne:
            return !text.isEmpty && glob(pieces.dropFirst(), text.dropFirst())
        case .anyRun:
            let rest = pieces.dropFirst()
            if rest.isEmpty { return true }
            var candidate = text
            while true {
                if glob(rest, candidate) { return true }
                if candidate.isEmpty { return false }
                candidate = candidate.dropFirst()
            }
        }
    }
}

/// One value of a field condition, compiled with its modifiers.
enum SigmaValueTest: Sendable {
    /// `field: null`: absent or null.
    case null
    case exists(Bool)
    case string(SigmaStringPattern)
    case number(Double, text: String)
    case bool(Bool)
    case regex(SigmaRegex)
    case cidr(SigmaNetwork)
    case fieldref(SigmaEventPath, SigmaStringMode)
    case compare(String, Double)

    static func make(_ scalar: Node.Scalar, node: Node, modifiers: [String]) throws -> [SigmaValueTest] {
        let text = scalar.string
        let plain = scalar.style == .plain
        let has = Set(modifiers)
        func problem(_ message: String) -> SigmaSearch.Problem { SigmaSearch.Problem(message: message, node: node) }
        if has.contains("exists") {
            guard let flag = Bool(text.lowercased()) else { throw problem("'exists' takes true or false") }
            return [.exists(flag)]
        }
        if has.contains("re") {
            var options: NSRegularExpression.Options = []
            if has.contains("i") { options.insert(.caseInsensitive) }
            if has.contains("m") { options.insert(.anchorsMatchLines) }
            if has.contains("s") { options.insert(.dotMatchesLineSeparators) }
            do { return [.regex(SigmaRegex(try NSRegularExpression(pattern: text, options: options)))] } catch {
                throw problem("'\(text)' is not a valid regular expression")
            }
        }
        if has.contains("cidr") {
            guard let network = SigmaNetwork(text) else { throw problem("'\(text)' is not a CIDR network (e.g. 10.0.0.0/8)") }
            return [.cidr(network)]
        }
        if has.contains("fieldref") { return [.fieldref(SigmaEventPath(text), SigmaStringMode(has))] }
        for op in ["lt", "lte", "gt", "gte"] where has.contains(op) {
            guard let number = Double(text) else { throw problem("'\(op)' needs a number, not '\(text)'") }
            return [.compare(op, number)]
        }
        if plain {
            if ["null", "~", ""].contains(text), modifiers.isEmpty { return [.null] }
            if ["true", "false"].contains(text.lowercased()), modifiers.isEmpty { return [.bool(text.lowercased() == "true")] }
            if let number = Double(text), modifiers.isEmpty, text.first?.isNumber == true || text.first == "-" { return [.number(number, text: text)] }
        }
        // Text: transformations first (each may make several variants), then the position.
        var variants = [text]
        if has.contains("windash") {
            variants = variants.flatMap { value in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"].map { value.replacingOccurrences(of: "-", with: $0) } }
        }
        if has.contains("base64offset") {
            variants = variants.flatMap(Self.base64Offsets)
        } else if has.contains("base64") {
            variants = variants.map { Data($0.utf8).base64EncodedString() }
        }
        let mode = SigmaStringMode(has)
        let cased = has.contains("cased")
        // Base64 text has no wildcard characters, so the variants read as Sigma strings as they are.
        return variants.map { .string(SigmaStringPattern(sigma: mode.wrap($0), cased: cased)) }
    }

    /// The three base64 encodings of a value at each offset in a longer string, trimmed of the
    /// characters that depend on its neighbours (Sigma's `base64offset`).
    static func base64Offsets(_ value: String) -> [String] {
        let bytes = Data(value.utf8)
        let starts = [0, 2, 3]
        let ends = [0, 3, 2]
        return (0..<3).map { offset in
            let encoded = Array((Data(repeating: 0x20, count: offset) + bytes).base64EncodedString())
            let end = ends[(bytes.count + offset) % 3]
            return String(encoded[starts[offset]..<max(starts[offset], encoded.count - end)])
        }
    }

    /// A scalar as text for string comparison; objects and arrays as canonical JSON.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .double(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return ""
        case .array, .object: return value.canonicalJSON()
        }
    }

    func matches(_ values: [JSONValue], event: CloudTrailEvent) -> Bool {
        switch self {
        case .null: return values.allSatisfy { $0 == .null }
        case .exists(let wanted): return values.contains { $0 != .null } == wanted
        case .string(let pattern): return values.contains { $0 != .null && pattern.matches(Self.text($0)) }
        case .number(let number, let text):
            return values.contains { value in value.doubleValue == number || value.stringValue == text }
        case .bool(let flag): return values.contains { $0.boolValue == flag || $0.stringValue?.lowercased() == (flag ? "true" : "false") }
        case .regex(let regex): return values.contains { $0 != .null && regex.matches(Self.text($0)) }
        case .cidr(let network): return values.contains { $0.stringValue.map(network.contains) ?? false }
        case .fieldref(let other, let mode):
            let references = other.values(in: event).filter { $0 != .null }.map(Self.text)
            return values.contains { value in
                guard value != .null else { return false }
                let text = Self.text(value)
                return references.contains { mode.test(text, against: $0) }
            }
        case .compare(let op, let bound):
            return values.contains { value in
                guard let number = value.doubleValue ?? value.stringValue.flatMap(Double.init) else { return false }
                switch op {
                case "lt": return number < bound
                case "lte": return number <= bound
                case "gt": return number > bound
                default: return number >= bound
                }
            }
        }
    }
}

/// Where a value must sit in the field's text: the whole of it, its start, its end or anywhere.
enum SigmaStringMode: Sendable {
    case equals, startsWith, endsWith, contains

    init(_ modifiers: Set<String>) {
        if modifiers.contains("contains") {
            self = .contains
        } else if modifiers.contains("startswith") {
            self = .startsWith
        } else if modifiers.contains("endswith") {
            self = .endsWith
        } else {
            self = .equals
        }
    }

    func wrap(_ value: String) -> String {
        switch self {
        case .equals: value
        case .startsWith: value + "*"
        case .endsWith: "*" + value
        case .contains: "*" + value + "*"
        }
    }

    /// A field reference compares the two fields' values as they are (case-sensitive).
    func test(_ text: String, against other: String) -> Bool {
        switch self {
        case .equals: text == other
        case .startsWith: text.hasPrefix(other)
        case .endsWith: text.hasSuffix(other)
        case .contains: SigmaStringPattern.contains(text, other)
        }
    }
}

/// `NSRegularExpression` is immutable once made and safe to share; Foundation does not say so.
struct SigmaRegex: @unchecked Sendable {
    let expression: NSRegularExpression
    /// Text any match must contain (lower-cased when the pattern ignores case): checked first,
    /// since ICU's matcher costs far more than a substring search and most values fail both.
    let required: String?
    let caseInsensitive: Bool

    init(_ expression: NSRegularExpression) {
        self.expression = expression
        let insensitive = expression.options.contains(.caseInsensitive)
        caseInsensitive = insensitive
        required = Self.requiredLiteral(expression.pattern).map { insensitive ? $0.lowercased() : $0 }
    }

    /// Sigma's `re` searches: the pattern may match anywhere in the value.
    func matches(_ text: String) -> Bool {
        if let required, !SigmaStringPattern.contains(caseInsensitive ? text.lowercased() : text, required) { return false }
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// The longest run of plain characters outside any group, class or alternation that the
    /// pattern requires, or nil when it cannot say (alternation anywhere, or no such run).
    static func requiredLiteral(_ pattern: String) -> String? {
        guard !pattern.contains("|") else { return nil }
        var runs: [String] = []
        var current = ""
        var depth = 0
        var inClass = false
        var characters = Array(pattern)[...]
        func close() {
            if !current.isEmpty { runs.append(current) }
            current = ""
        }
        while let c = characters.popFirst() {
            if inClass {
                if c == "\\" { _ = characters.popFirst() } else if c == "]" { inClass = false }
                continue
            }
            switch c {
            case "\\":
                // An escaped punctuation character is itself; \d, \w, \s… are classes.
                guard let next = characters.popFirst() else { return nil }
                if depth == 0, next.isPunctuation || next.isSymbol { current.append(next) } else { close() }
            case "(":
                close()
                depth += 1
            case ")":
                depth -= 1
                close()
            case "[":
                close()
                inClass = true
            case "*", "?", "{":
                // The character before is optional (or repeated from zero): drop it from the run.
                if !current.isEmpty { current.removeLast() }
                close()
            case "+", ".", "^", "$":
                close()
            default:
                if depth == 0 { current.append(c) } else { close() }
            }
        }
        close()
        return runs.max { $0.count < $1.count }.flatMap { $0.count >= 3 ? $0 : nil }
    }
}

/// An IPv4 or IPv6 network for the `cidr` modifier.
struct SigmaNetwork: Sendable {
    let address: [UInt8]
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        let width = address.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : width
        guard let prefix, (0...width).contains(prefix) else { return nil }
        self.address = address
        self.prefix = prefix
    }

    func contains(_ text: String) -> Bool {
        guard let candidate = Self.parse(text), candidate.count == address.count else { return false }
        var remaining = prefix
        for index in 0..<address.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if candidate[index] & mask != address[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}

import CanopyModel
import Foundation

/// One CloudTrail record as the lake keeps it: its text as received, minus whitespace outside
/// strings, and its top-level members indexed by where they sit in that text. A member becomes a
/// `JSONValue` only when something asks for it (the lifted columns, a detection rule's field),
/// and once: an import reads a million records and most rules look at two or three fields of each,
/// so building every record's whole tree, and writing it out again, was most of an import's work.
///
/// Not `Sendable`: it fills its cache as it is read, inside the one task that reads it.
public final class CloudTrailEvent {
    struct Member {
        /// The key's bytes between its quotes, and the value's bytes, in `body`.
        let key: Range<Int>
        let value: Range<Int>
        /// The key has escapes, so its bytes are not its text.
        let escapedKey: Bool
        var parsed: JSONValue?
    }

    /// The record's text: the lake's body, which its hash chain covers.
    public let body: String
    /// Nil when the record is not a JSON object.
    var members: [Member]?
    private var whole: JSONValue?

    init(body: String, members: [Member]?) {
        self.body = body
        self.members = members
    }

    /// A record from its text (a stored body, or a record written by hand): checked, minified and
    /// indexed as an import does it.
    public convenience init(text: String) throws {
        let (body, members) = try Self.index(Array(text.utf8))
        self.init(body: body, members: members)
    }

    /// A record already parsed (tests, rules run over values): indexed over its canonical text.
    /// A value with no JSON text (a non-finite number) becomes a record with no fields.
    public convenience init(json: JSONValue) {
        let indexed = try? Self.index(Array(LakeJSON.canonical(json).utf8))
        self.init(body: indexed?.0 ?? "null", members: indexed?.1 ?? nil)
    }

    public var isObject: Bool { members != nil }

    /// A top-level member's value (the last, when a key repeats, as a parser keeps it).
    public func value(_ key: String) -> JSONValue? {
        guard let position = position(of: key) else { return nil }
        if let parsed = members![position].parsed { return parsed }
        let range = members![position].value
        var text = body
        // The text was checked when the record was indexed.
        guard let parsed = text.withUTF8({ bytes in
            var parser = LakeJSON.Parser(bytes: bytes, index: range.lowerBound)
            return try? parser.value(depth: 1)
        }) else { return nil }
        members![position].parsed = parsed
        return parsed
    }

    /// Where a key's member is: compared as bytes, unless the key was written with escapes.
    private func position(of key: String) -> Int? {
        guard let members, !members.isEmpty else { return nil }
        var text = body
        var wanted = key
        return text.withUTF8 { bytes in
            wanted.withUTF8 { wanted in
                members.indices.last { Self.key(members[$0].key, escaped: members[$0].escapedKey, in: bytes, is: key, wanted) }
            }
        }
    }

    /// A value by dotted path through objects (`userIdentity.arn`), as `JSONValue.value(atPath:)`
    /// reads it.
    public func value(atPath path: String) -> JSONValue? {
        values(along: path.split(separator: ".").map(String.init), acrossArrays: false).first
    }

    public func string(_ key: String) -> String? { value(key)?.stringValue }

    /// The values at a path of keys: into objects and, with `acrossArrays`, into each object of
    /// an array on the way (as Sigma reads `requestParameters.ipPermissions.items.ipRanges`).
    /// Only the values at the end are parsed; the way there is read from the text.
    public func values(along steps: [String], acrossArrays: Bool = true) -> [JSONValue] {
        guard let head = steps.first, let position = position(of: head) else { return [] }
        guard steps.count > 1 else { return value(head).map { [$0] } ?? [] }
        let start = members![position].value.lowerBound
        var text = body
        return text.withUTF8 { bytes in
            var starts = [start]
            for step in steps.dropFirst() {
                var wanted = step
                starts = wanted.withUTF8 { wanted in
                    var next: [Int] = []
                    for at in starts {
                        if bytes[at] == UInt8(ascii: "{") {
                            if let found = Self.member(wanted, named: step, inObjectAt: at, bytes) { next.append(found) }
                        } else if acrossArrays, bytes[at] == UInt8(ascii: "[") {
                            Self.eachElement(ofArrayAt: at, bytes) { element in
                                if bytes[element] == UInt8(ascii: "{"), let found = Self.member(wanted, named: step, inObjectAt: element, bytes) { next.append(found) }
                            }
                        }
                    }
                    return next
                }
                if starts.isEmpty { return [] }
            }
            return starts.compactMap { at in
                var parser = LakeJSON.Parser(bytes: bytes, index: at)
                return try? parser.value(depth: 1)
            }
        }
    }

    // Walking checked text: the record was validated when it was indexed, so these only find
    // their way and never fail.

    /// Whether the key written at `range` (between its quotes) is `key`: compared as bytes
    /// (`wanted` is `key`'s UTF-8), or as text when it was written with escapes.
    static func key(_ range: Range<Int>, escaped: Bool, in bytes: UnsafeBufferPointer<UInt8>, is key: String, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        if escaped {
            var parser = LakeJSON.Parser(bytes: bytes, index: range.lowerBound - 1)
            return (try? parser.string()) == key
        }
        return range.count == wanted.count && (wanted.isEmpty || memcmp(bytes.baseAddress! + range.lowerBound, wanted.baseAddress!, wanted.count) == 0)
    }

    /// Where the value of the last member named `key` starts in the object at `at`.
    static func member(_ wanted: UnsafeBufferPointer<UInt8>, named key: String, inObjectAt at: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var found: Int?
        eachEntry(ofContainerAt: at, bytes) { i in
            let keyRange = i + 1..<stringEnd(i, bytes) - 1
            let escaped = bytes[keyRange].contains(UInt8(ascii: "\\"))
            let matches = Self.key(keyRange, escaped: escaped, in: bytes, is: key, wanted)
            let keyEnd = keyRange.upperBound
            let value = skipSpace(skipSpace(keyEnd + 1, bytes) + 1, bytes)  // past ':'
            if matches { found = value }
            return valueEnd(value, bytes)
        }
        return found
    }

    static func eachElement(ofArrayAt at: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Void) {
        eachEntry(ofContainerAt: at, bytes) { i in
            body(i)
            return valueEnd(i, bytes)
        }
    }

    /// Each member (at its key) or element of the object or array at `at`; `body` says where
    /// the entry ends.
    static func eachEntry(ofContainerAt at: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Int) {
        var i = skipSpace(at + 1, bytes)
        guard bytes[i] != UInt8(ascii: "}"), bytes[i] != UInt8(ascii: "]") else { return }
        while true {
            i = skipSpace(body(skipSpace(i, bytes)), bytes)
            guard bytes[i] == UInt8(ascii: ",") else { return }
            i += 1
        }
    }

    static func skipSpace(_ at: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var i = at
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        return i
    }

    /// Just past the string whose opening quote is at `at`.
    static func stringEnd(_ at: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let base = bytes.baseAddress!
        var i = at + 1
        while true {
            // memchr finds the next quote many bytes at a time; it closes the string unless an
            // odd run of backslashes escapes it.
            let quote = base.distance(to: memchr(base + i, Int32(UInt8(ascii: "\"")), bytes.count - i)!.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while quote - backslashes - 1 > at, bytes[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 { return quote + 1 }
            i = quote + 1
        }
    }

    /// Just past the value that starts at `at`.
    static func valueEnd(_ at: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        switch bytes[at] {
        case UInt8(ascii: "\""): return stringEnd(at, bytes)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = at
            repeat {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i = stringEnd(i, bytes)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                i += 1
            } while depth > 0
            return i
        default:
            var i = at
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { break }
                i += 1
            }
            return i
        }
    }

    /// The whole record parsed (full-text searches need every value).
    public var json: JSONValue {
        if let whole { return whole }
        let parsed = (try? LakeJSON.parse(Data(body.utf8))) ?? .null
        whole = parsed
        return parsed
    }

    /// Checks one record's text, minifies it when it has whitespace outside strings, and indexes
    /// its top-level members.
    static func index(_ bytes: [UInt8]) throws -> (String, [Member]?) {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = LakeJSON.Parser(bytes: buffer)
            parser.skipSpace()
            let scanned = try parser.scanRecord(depth: 0)
            parser.skipSpace()
            guard parser.index == buffer.count else { throw parser.fail("unexpected data after the JSON value") }
            guard let record = try record(scanned, in: buffer) else { throw parser.fail("is not valid UTF-8") }
            return record
        }
    }

    /// The body and members of a record `scanRecord` found, minified first when it has to be;
    /// nil when its text is not UTF-8.
    static func record(_ scanned: LakeJSON.Parser.Scanned, in bytes: UnsafeBufferPointer<UInt8>) throws -> (String, [Member]?)? {
        let slice = UnsafeBufferPointer(rebasing: bytes[scanned.start..<scanned.end])
        guard scanned.spaced else {
            guard let body = String(validating: slice, as: UTF8.self) else { return nil }
            return (body, scanned.members)
        }
        let compact = LakeJSON.minify(slice)
        return try compact.withUnsafeBufferPointer { buffer in
            var parser = LakeJSON.Parser(bytes: buffer)
            let again = try parser.scanRecord(depth: 0)
            guard let body = String(validating: buffer, as: UTF8.self) else { return nil }
            return (body, again.members)
        }
    }
}

extension LakeJSON {
    /// JSON text without whitespace outside its strings.
    static func minify(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                out.append(byte)
            } else if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                continue
            } else {
                if byte == UInt8(ascii: "\"") { inString = true }
                out.append(byte)
            }
        }
        return out
    }
}

extension LakeJSON.Parser {
    /// Where one element of a record list sits, whether it has whitespace outside its strings,
    /// and, when it is an object, its top-level members (offsets from `start`).
    struct Scanned {
        var start: Int
        var end: Int
        var spaced: Bool
        var members: [CloudTrailEvent.Member]?
    }

    /// Checks one element of a record list as `value(depth:)` would, without building it.
    mutating func scanRecord(depth: Int) throws -> Scanned {
        let start = index
        spaced = false
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            try skipValue(depth: depth)
            return Scanned(start: start, end: index, spaced: spaced, members: nil)
        }
        var members: [CloudTrailEvent.Member] = []
        members.reserveCapacity(24)
        try object(readKey: { parser -> (Range<Int>, Bool) in
            let keyStart = parser.index + 1
            let escaped = try parser.skipString()
            return (keyStart - start..<parser.index - 1 - start, escaped)
        }) { parser, key in
            let valueStart = parser.index
            try parser.skipValue(depth: depth + 1)
            members.append(CloudTrailEvent.Member(key: key.0, value: valueStart - start..<parser.index - start, escapedKey: key.1, parsed: nil))
        }
        return Scanned(start: start, end: index, spaced: spaced, members: members)
    }

    /// Checks one value as `value(depth:)` reads it, building nothing.
    mutating func skipValue(depth: Int) throws {
        guard depth < 512 else { throw fail("nested too deeply") }
        guard index < bytes.count else { throw fail("unexpected end of data") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object(readKey: { try $0.skipString() }) { parser, _ in try parser.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try array { try $0.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): _ = try literal("true", .bool(true))
        case UInt8(ascii: "f"): _ = try literal("false", .bool(false))
        case UInt8(ascii: "n"): _ = try literal("null", .null)
        default: _ = try number()
        }
    }

    /// Checks a string's escapes and characters as `string()` does, building nothing; true when
    /// it has escapes.
    @discardableResult
    mutating func skipString() throws -> Bool {
        index += 1  // the opening quote
        var escaped = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return escaped
            }
            guard byte >= 0x20 else { throw fail("a control character inside a string") }
            guard byte == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            escaped = true
            index += 1
            guard index < bytes.count else { throw fail("unexpected end of data in an escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"),
                UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                _ = try unicodeEscape()
            default:
                throw fail("an invalid escape")
            }
        }
        throw fail("unexpected end of data in a string")
    }
}

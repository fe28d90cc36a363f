import CanopyModel
import Foundation

/// JSON for the lake's hot path. CloudTrail arrives by the million, and `JSONDecoder` into
/// `JSONValue` costs more than everything else an import does, so the lake parses bytes itself
/// (RFC 8259: objects, arrays, strings with every escape and surrogate pairs, numbers as Int64
/// when their value is an integer, else Double). Records are kept as received (`CloudTrailEvent`);
/// `canonical` writes a value with keys sorted by their UTF-8 bytes, no insignificant whitespace
/// and strings escaped minimally, for text Canopy makes itself (a finding's raw record).
public enum LakeJSON {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var offset: Int
        public var message: String
        public var description: String { "\(message) at byte \(offset)" }
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.index == parser.bytes.count else { throw Problem(offset: parser.index, message: "unexpected data after the JSON value") }
            return value
        }
    }

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        /// Whether whitespace was skipped since this was last cleared: a record that has none
        /// outside its strings is its own minified text.
        var spaced = false

        mutating func skipSpace() {
            let start = index
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
            if index != start { spaced = true }
        }

        func fail(_ message: String) -> Problem { Problem(offset: index, message: message) }

        /// Walks the object whose `{` is at `index`, checking its punctuation: for each member,
        /// `readKey` reads the key (the parser at its opening quote), then `member` reads the value
        /// (the parser at its first byte). Every reader of objects here (parsing, checking,
        /// indexing a record) goes through this one walk.
        mutating func object<Key>(readKey: (inout Self) throws -> Key, member: (inout Self, Key) throws -> Void) throws {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try readKey(&self)
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                try member(&self, key)
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end of data in an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                index += 1
                return
            }
        }

        /// Walks the array whose `[` is at `index`: `element` reads each element.
        mutating func array(_ element: (inout Self) throws -> Void) throws {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipSpace()
                try element(&self)
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end of data in an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                index += 1
                return
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < 512 else { throw fail("nested too deeply") }
            guard index < bytes.count else { throw fail("unexpected end of data") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                var members: [String: JSONValue] = [:]
                try object(readKey: { try $0.string() }) { parser, key in members[key] = try parser.value(depth: depth + 1) }
                return .object(members)
            case UInt8(ascii: "["):
                var items: [JSONValue] = []
                try array { items.append(try $0.value(depth: depth + 1)) }
                return .array(items)
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            default:
                return try number()
            }
        }

        mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail("unexpected end of data") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw fail("invalid literal") }
            index += count
            return value
        }

        mutating func number() throws -> JSONValue {
            let start = index
            var integral = true
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw fail("invalid value") }
            while index < bytes.count {
                let byte = bytes[index]
                if (0x30...0x39).contains(byte) {
                    index += 1
                } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                    integral = false
                    index += 1
                } else {
                    break
                }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if integral, let value = Int64(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else { throw Problem(offset: start, message: "invalid number '\(text)'") }
            // An integral value written with a fraction or exponent (`1.0`, `-3.5e2`) is an
            // integer, as Foundation's decoder reads it into `JSONValue`.
            if value == value.rounded(), let exact = Int64(exactly: value) { return .int(exact) }
            return .double(value)
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("unexpected end of data in \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw fail("invalid \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        /// The character of a `\\uXXXX` escape (the parser just past the `u`), a surrogate pair
        /// read whole; lone or mismatched surrogates are errors.
        mutating func unicodeEscape() throws -> Unicode.Scalar {
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("a lone high surrogate")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("a high surrogate without its low half") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw fail("a lone low surrogate")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw fail("an invalid code point") }
            return unicode
        }

        mutating func string() throws -> String {
            index += 1  // the opening quote
            let start = index
            // The common case: no escapes, copied in one piece.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                guard bytes[index] >= 0x20 else { throw fail("a control character inside a string") }
                index += 1
            }
            guard index < bytes.count else { throw fail("unexpected end of data in a string") }
            if bytes[index] == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                }
                guard byte >= 0x20 else { throw fail("a control character inside a string") }
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { throw fail("unexpected end of data in an escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    out.append(contentsOf: Array(String(Character(try unicodeEscape())).utf8))
                default:
                    throw fail("an invalid escape")
                }
            }
            throw fail("unexpected end of data in a string")
        }
    }

    /// The lake's canonical text of a value.
    public static func canonical(_ value: JSONValue) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    static func write(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += "\(d)"
        case .string(let s): CanopyJSON.appendString(s, to: &out)
        case .array(let items):
            out += "["
            for (position, item) in items.enumerated() {
                if position > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // Byte order, so the text is the same whatever the platform's string collation.
            for (position, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if position > 0 { out += "," }
                CanopyJSON.appendString(key, to: &out)
                out += ":"
                write(members[key]!, to: &out)
            }
            out += "}"
        }
    }
}

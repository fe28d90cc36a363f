import Foundation

/// Errors that name the file, the line and the column, and say what to fix.
public enum IngestError: Error, CustomStringConvertible, Sendable, Equatable {
    case file(String, String)
    case at(file: String, line: Int, column: String?, String)

    public var description: String {
        switch self {
        case .file(let file, let message): "\(file): \(message)"
        case .at(let file, let line, let column, let message): "\(file):\(line)\(column.map { ": column \($0)" } ?? ""): \(message)"
        }
    }
}

/// One CSV record's fields as UTF-8 bytes (already checked), in place: a field becomes a string
/// only when its text is asked for, and a number or a date is read from its bytes.
public struct CSVFields {
    fileprivate let bytes: [UInt8]
    fileprivate let ends: [Int]

    public var count: Int { ends.count }

    public func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = index == 0 ? 0 : ends[index - 1]
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<ends[index]])) }
    }

    public func text(_ index: Int) -> String { withField(index) { String(decoding: $0, as: UTF8.self) } }

    /// Every field as text.
    public var texts: [String] { (0..<count).map(text) }
}

/// RFC 4180 CSV read as a stream: quoted fields with doubled quotes and line breaks inside,
/// CRLF or LF, a UTF-8 byte-order mark at the start. Every field must be UTF-8. Memory stays
/// constant whatever the file's size.
public struct CSVReader {
    private var source: any ByteSource
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var count = 0
    private var offset = 0
    private var atEnd = false
    private var started = false
    let path: String
    /// The line the last record returned started on (the header is line 1).
    private(set) var recordLine = 0
    private var line = 1
    public internal(set) var header: [String] = []

    public init(path: String) throws {
        self.path = path
        source = isGzip(path) ? try GzipByteSource(path: path) : try FileByteSource(path: path)
    }

    /// A whole small file as records keyed by the header's names (reference tables; an import
    /// streams instead).
    public static func records(path: String) throws -> [[String: String]] {
        var reader = try CSVReader(path: path)
        try reader.readHeader()
        var records: [[String: String]] = []
        while let fields = try reader.next() {
            records.append(Dictionary(zip(reader.header, fields).map { ($0, $1) }, uniquingKeysWith: { first, _ in first }))
        }
        return records
    }

    private mutating func fill() throws -> Bool {
        guard !atEnd else { return false }
        count = try source.read(into: &buffer)
        offset = 0
        if count == 0 { atEnd = true }
        if !started, count > 0 {
            started = true
            if count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { offset = 3 }
        }
        return count > offset
    }

    /// The next byte, or nil at the end of the input.
    private mutating func nextByte() throws -> UInt8? {
        if offset >= count, try !fill() { return nil }
        let byte = buffer[offset]
        offset += 1
        return byte
    }

    private mutating func peekByte() throws -> UInt8? {
        if offset >= count, try !fill() { return nil }
        return buffer[offset]
    }

    /// The last record read: its fields' bytes one after another, and where each field ends.
    /// Both are reused from record to record, so reading allocates nothing but the strings.
    private var record: [UInt8] = []
    private var ends: [Int] = []

    /// Reads the header; a header without commas but with `;` or tabs is a wrong-delimiter error.
    public mutating func readHeader() throws {
        guard try readRawRecord() else { throw IngestError.file(path, "is empty: expected a header line") }
        try checkUTF8 { index in "#\(index + 1)" }
        header = CSVFields(bytes: record, ends: ends).texts
        if header.count == 1, let only = header.first, only.contains(";") || only.contains("\t") {
            throw IngestError.at(
                file: path, line: 1, column: nil, "the header is separated by \(only.contains(";") ? "';'" : "tabs"), not commas: export as comma-separated CSV")
        }
    }

    /// The next record's fields as text, or nil at the end. A record with another number of fields
    /// than the header is an error (a broken quote or a stray delimiter).
    public mutating func next() throws -> [String]? {
        guard let fields = try nextFields() else { return nil }
        return fields.texts
    }

    /// The next record's fields as bytes, read in place (`next()` without a string a field), or
    /// nil at the end. Let go of them before reading the next record: kept, they cost a copy.
    public mutating func nextFields() throws -> CSVFields? {
        guard try readRawRecord() else { return nil }
        if ends.count == 1, ends[0] == 0 { return try nextFields() }  // a blank line
        guard ends.count == header.count else {
            throw IngestError.at(
                file: path, line: recordLine, column: nil,
                "\(ends.count) fields where the header has \(header.count) (an unclosed quote or a stray delimiter?)")
        }
        let header = header
        try checkUTF8 { header[$0] }
        return CSVFields(bytes: record, ends: ends)
    }

    /// Every field of the last record is UTF-8; `column` names the first that is not, for the error.
    private func checkUTF8(column: (Int) -> String) throws {
        try record.withUnsafeBufferPointer { bytes in
            // Nearly every export is ASCII: then one pass over the record shows every field is UTF-8.
            guard !Self.isASCII(UnsafeRawBufferPointer(bytes)) else { return }
            var start = 0
            for (index, end) in ends.enumerated() {
                guard String(validating: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) != nil else {
                    throw IngestError.at(file: path, line: recordLine, column: column(index), "is not UTF-8 text: re-export the file as UTF-8")
                }
                start = end
            }
        }
    }

    /// True when no byte has its high bit set, eight bytes at a time.
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var bits: UInt64 = 0
        while index + 8 <= bytes.count {
            bits |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            bits |= UInt64(bytes[index])
            index += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    /// Reads the next record into `record` and `ends`; false at the end of the input.
    private mutating func readRawRecord() throws -> Bool {
        guard try peekByte() != nil else { return false }
        recordLine = line
        record.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        var fieldStart = 0
        var quoted = false
        var fieldStarted = false
        while true {
            if offset >= count, try !fill() { break }
            // A run of ordinary bytes (up to the next quote, delimiter or line break) is copied
            // at once; only the byte that ends it is looked at on its own.
            let runEnd = Self.ordinaryRun(buffer, from: offset, to: count, quoted: quoted)
            if runEnd > offset {
                buffer.withUnsafeBufferPointer { record.append(contentsOf: UnsafeBufferPointer(rebasing: $0[offset..<runEnd])) }
                if !quoted { fieldStarted = true }
                offset = runEnd
                continue
            }
            let byte = buffer[offset]
            offset += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if try peekByte() == UInt8(ascii: "\"") {
                        _ = try nextByte()
                        record.append(byte)
                    } else {
                        quoted = false
                    }
                } else {
                    // A line break inside quotes: part of the field.
                    line += 1
                    record.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if !fieldStarted && record.count == fieldStart {
                    quoted = true
                    fieldStarted = true
                } else {
                    record.append(byte)
                }
            case UInt8(ascii: ","):
                ends.append(record.count)
                fieldStart = record.count
                fieldStarted = false
            case UInt8(ascii: "\r"):
                if try peekByte() == UInt8(ascii: "\n") { continue }
                record.append(byte)
            default:  // "\n"
                line += 1
                ends.append(record.count)
                return true
            }
        }
        if quoted { throw IngestError.at(file: path, line: recordLine, column: nil, "a quoted field is never closed") }
        ends.append(record.count)
        return true
    }

    /// Where the run of ordinary bytes from `start` ends: at a quote or a line feed inside quotes;
    /// at a quote, comma, carriage return or line feed outside them. Eight bytes are looked at at
    /// once (`matches`), the rest one by one.
    private static func ordinaryRun(_ buffer: [UInt8], from start: Int, to end: Int, quoted: Bool) -> Int {
        buffer.withUnsafeBytes { b in
            var index = start
            while index + 8 <= end {
                let word = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                var found = matches(word, UInt8(ascii: "\"")) | matches(word, UInt8(ascii: "\n"))
                if !quoted { found |= matches(word, UInt8(ascii: ",")) | matches(word, UInt8(ascii: "\r")) }
                if found != 0 { return index + found.trailingZeroBitCount / 8 }
                index += 8
            }
            if quoted {
                while index < end, b[index] != UInt8(ascii: "\""), b[index] != UInt8(ascii: "\n") { index += 1 }
            } else {
                while index < end {
                    let byte = b[index]
                    if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\"") { break }
                    index += 1
                }
            }
            return index
        }
    }

    /// The bytes of a little-endian word equal to `target`: the high bit of each such byte set.
    /// A byte above a match can be set wrongly (a borrow), never one below it: the lowest set
    /// bit is always the first match.
    @inline(__always)
    static func matches(_ word: UInt64, _ target: UInt8) -> UInt64 {
        let v = word ^ (0x0101_0101_0101_0101 &* UInt64(target))
        return (v &- 0x0101_0101_0101_0101) & ~v & 0x8080_8080_8080_8080
    }
}

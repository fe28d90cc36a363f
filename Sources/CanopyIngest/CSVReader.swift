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

    /// Reads the header; a header without commas but with `;` or tabs is a wrong-delimiter error.
    public mutating func readHeader() throws {
        guard let fields = try readRawRecord() else { throw IngestError.file(path, "is empty: expected a header line") }
        header = try fields.enumerated().map { index, bytes in try decode(bytes, column: "#\(index + 1)") }
        if header.count == 1, let only = header.first, only.contains(";") || only.contains("\t") {
            throw IngestError.at(
                file: path, line: 1, column: nil, "the header is separated by \(only.contains(";") ? "';'" : "tabs"), not commas: export as comma-separated CSV")
        }
    }

    /// The next record's fields as text, or nil at the end. A record with another number of fields
    /// than the header is an error (a broken quote or a stray delimiter).
    public mutating func next() throws -> [String]? {
        guard let fields = try readRawRecord() else { return nil }
        if fields.count == 1, fields[0].isEmpty { return try next() }  // a blank line
        guard fields.count == header.count else {
            throw IngestError.at(
                file: path, line: recordLine, column: nil,
                "\(fields.count) fields where the header has \(header.count) (an unclosed quote or a stray delimiter?)")
        }
        var values: [String] = []
        values.reserveCapacity(fields.count)
        for (index, bytes) in fields.enumerated() { values.append(try decode(bytes, column: header[index])) }
        return values
    }

    private func decode(_ bytes: [UInt8], column: String) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw IngestError.at(file: path, line: recordLine, column: column, "is not UTF-8 text: re-export the file as UTF-8")
        }
        return text
    }

    private mutating func readRawRecord() throws -> [[UInt8]]? {
        guard try peekByte() != nil else { return nil }
        recordLine = line
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var quoted = false
        var fieldStarted = false
        while let byte = try nextByte() {
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if try peekByte() == UInt8(ascii: "\"") {
                        _ = try nextByte()
                        field.append(byte)
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if !fieldStarted && field.isEmpty {
                    quoted = true
                    fieldStarted = true
                } else {
                    field.append(byte)
                }
            case UInt8(ascii: ","):
                fields.append(field)
                field = []
                fieldStarted = false
            case UInt8(ascii: "\r"):
                if try peekByte() == UInt8(ascii: "\n") { continue }
                field.append(byte)
            case UInt8(ascii: "\n"):
                line += 1
                fields.append(field)
                return fields
            default:
                field.append(byte)
                fieldStarted = true
            }
        }
        if quoted { throw IngestError.at(file: path, line: recordLine, column: nil, "a quoted field is never closed") }
        fields.append(field)
        return fields
    }
}

import CanopyIngest
import CanopyModel
import CanopyStore
import Foundation

/// A CloudTrail file Canopy cannot take, naming the file, the record and the field.
public enum LakeInputError: Error, CustomStringConvertible, Sendable, Equatable {
    case file(String, String)
    case record(file: String, index: Int, field: String, String)

    public var description: String {
        switch self {
        case .file(let file, let message): "\(file): \(message)"
        case .record(let file, let index, let field, let message): "\(file): record \(index): \(field): \(message)"
        }
    }
}

/// Reads CloudTrail log files as S3 delivers them (`{"Records": […]}`, gzip or not) and plain
/// JSON arrays of records. Each record keeps its text as received, minus whitespace outside
/// strings, as the body the lake's chain covers; the common fields are lifted out for queries.
public enum CloudTrailReader {
    public struct Result {
        public var events: [LakeRecord]
        /// Each event's record, in the same order (what detection rules read).
        public var records: [CloudTrailEvent]
        /// Records left out with `skipBad`, each with why.
        public var skipped: [LakeInputError]
    }

    public static func read(path: String, name: String? = nil, skipBad: Bool = false) throws -> Result {
        let shown = name ?? path
        let data: Data
        do { data = try FileBytes.read(path) } catch let error as IngestError { throw LakeInputError.file(shown, "\(error)".replacingOccurrences(of: "\(path): ", with: "")) }
        return try parse(data, file: shown, skipBad: skipBad)
    }

    public static func parse(_ data: Data, file: String, skipBad: Bool = false) throws -> Result {
        // The whole file is checked before any record is looked at: malformed JSON anywhere
        // rejects the file, whatever `skipBad` says.
        let found: [CloudTrailEvent?]
        do { found = try records(data, file: file) } catch let problem as LakeJSON.Problem {
            throw LakeInputError.file(file, "is not valid JSON (\(problem))")
        }
        var events: [LakeRecord] = []
        var kept: [CloudTrailEvent] = []
        var skipped: [LakeInputError] = []
        events.reserveCapacity(found.count)
        kept.reserveCapacity(found.count)
        for (index, entry) in found.enumerated() {
            do {
                guard let record = entry else { throw LakeInputError.record(file: file, index: index, field: "record", "is not UTF-8 text") }
                events.append(try event(record, file: file, index: index))
                kept.append(record)
            } catch let error as LakeInputError where skipBad {
                skipped.append(error)
            }
        }
        return Result(events: events, records: kept, skipped: skipped)
    }

    /// The records of a file: `{"Records": [...]}` or a JSON array, each checked, minified and
    /// indexed (nil: not UTF-8).
    static func records(_ data: Data, file: String) throws -> [CloudTrailEvent?] {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var parser = LakeJSON.Parser(bytes: bytes)
            var found: [CloudTrailEvent?] = []
            var listed = false
            var digest = false
            /// The elements of the array at the parser, each a record.
            func list(_ parser: inout LakeJSON.Parser) throws {
                listed = true
                try parser.array { parser in
                    found.append(try CloudTrailEvent.record(try parser.scanRecord(depth: 1), in: bytes).map { CloudTrailEvent(body: $0.0, members: $0.1) })
                }
            }
            parser.skipSpace()
            guard parser.index < bytes.count else { throw parser.fail("unexpected end of data") }
            switch bytes[parser.index] {
            case UInt8(ascii: "["): try list(&parser)
            case UInt8(ascii: "{"):
                try parser.object(readKey: { try $0.string() }) { parser, key in
                    if key == "Records", !listed, parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "[") {
                        try list(&parser)
                    } else {
                        if key == "digestStartTime" { digest = true }
                        try parser.skipValue(depth: 1)
                    }
                }
            default: try parser.skipValue(depth: 0)
            }
            parser.skipSpace()
            guard parser.index == bytes.count else { throw parser.fail("unexpected data after the JSON value") }
            guard listed else {
                if digest { throw LakeInputError.file(file, "is a CloudTrail digest file, not a log file") }
                throw LakeInputError.file(file, "holds neither {\"Records\": [...]} nor a JSON array of records")
            }
            return found
        }
    }

    /// The lake's columns of a record, or why it cannot be taken.
    static func event(_ record: CloudTrailEvent, file: String, index: Int) throws -> LakeRecord {
        func required(_ field: String) throws -> String {
            guard let value = record.string(field), !value.isEmpty else {
                throw LakeInputError.record(file: file, index: index, field: field, "is missing")
            }
            return value
        }
        guard record.isObject else { throw LakeInputError.record(file: file, index: index, field: "record", "is not a JSON object") }
        let id = try required("eventID")
        let timeText = try required("eventTime")
        guard let time = Timestamps.parse(timeText) else {
            throw LakeInputError.record(file: file, index: index, field: "eventTime", "'\(timeText)' is not an ISO 8601 time")
        }
        return LakeRecord(
            eventID: id, eventTime: time, account: record.string("recipientAccountId") ?? record.value(atPath: "userIdentity.accountId")?.stringValue ?? "",
            region: record.string("awsRegion") ?? "", eventSource: try required("eventSource"), eventName: try required("eventName"),
            userARN: record.value(atPath: "userIdentity.arn")?.stringValue, userType: record.value(atPath: "userIdentity.type")?.stringValue, sourceIP: record.string("sourceIPAddress"),
            errorCode: record.string("errorCode"), readOnly: record.value("readOnly")?.boolValue, body: record.body)
    }
}

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
/// JSON arrays of records. Each record keeps its whole JSON (canonical, keys sorted) as the body
/// the lake's chain covers; the common fields are lifted out for queries.
public enum CloudTrailReader {
    public struct Result: Sendable {
        public var events: [LakeRecord]
        /// Each event's record as parsed, in the same order (what detection rules read).
        public var records: [JSONValue]
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
        let root: JSONValue
        do { root = try LakeJSON.parse(data) } catch { throw LakeInputError.file(file, "is not valid JSON (\(error))") }
        let records: [JSONValue]
        if let list = root["Records"]?.arrayValue {
            records = list
        } else if let list = root.arrayValue {
            records = list
        } else if root["digestStartTime"] != nil {
            throw LakeInputError.file(file, "is a CloudTrail digest file, not a log file")
        } else {
            throw LakeInputError.file(file, "holds neither {\"Records\": [...]} nor a JSON array of records")
        }
        var events: [LakeRecord] = []
        var kept: [JSONValue] = []
        var skipped: [LakeInputError] = []
        events.reserveCapacity(records.count)
        kept.reserveCapacity(records.count)
        for (index, record) in records.enumerated() {
            do {
                events.append(try event(record, file: file, index: index))
                kept.append(record)
            } catch let error as LakeInputError where skipBad {
                skipped.append(error)
            }
        }
        return Result(events: events, records: kept, skipped: skipped)
    }

    static func event(_ record: JSONValue, file: String, index: Int) throws -> LakeRecord {
        func required(_ field: String) throws -> String {
            guard let value = record[field]?.stringValue, !value.isEmpty else {
                throw LakeInputError.record(file: file, index: index, field: field, "is missing")
            }
            return value
        }
        guard record.objectValue != nil else { throw LakeInputError.record(file: file, index: index, field: "record", "is not a JSON object") }
        let id = try required("eventID")
        let timeText = try required("eventTime")
        guard let time = Timestamps.parse(timeText) else {
            throw LakeInputError.record(file: file, index: index, field: "eventTime", "'\(timeText)' is not an ISO 8601 time")
        }
        let identity = record["userIdentity"]
        return LakeRecord(
            eventID: id, eventTime: time, account: record["recipientAccountId"]?.stringValue ?? identity?["accountId"]?.stringValue ?? "",
            region: record["awsRegion"]?.stringValue ?? "", eventSource: try required("eventSource"), eventName: try required("eventName"),
            userARN: identity?["arn"]?.stringValue, userType: identity?["type"]?.stringValue, sourceIP: record["sourceIPAddress"]?.stringValue,
            errorCode: record["errorCode"]?.stringValue, readOnly: record["readOnly"]?.boolValue, body: LakeJSON.canonical(record))
    }
}

import CanopyLake
import CanopyModel
@testable import CanopyStore
import CanopyTestSupport
import Foundation
import GRDB
import Testing

/// The lake reads each record lazily from its text: whatever it lifts, and whatever a rule asks
/// for, must be what a full parse of the same record says.
@Suite struct CloudTrailEventTests {
    /// Every path through every corpus record, read from the text, equals the walk over the
    /// fully parsed record (objects, and across arrays, as Sigma reads them).
    @Test func pathsReadFromTheTextAgreeWithTheParsedRecord() throws {
        func paths(_ value: JSONValue, _ prefix: [String], into all: inout Set<[String]>) {
            switch value {
            case .object(let members):
                for (key, member) in members {
                    all.insert(prefix + [key])
                    paths(member, prefix + [key], into: &all)
                }
            case .array(let items): for item in items { paths(item, prefix, into: &all) }
            default: break
            }
        }
        func walk(_ record: JSONValue, _ steps: [String]) -> [JSONValue] {
            var current = [record]
            for step in steps {
                var next: [JSONValue] = []
                for value in current {
                    switch value {
                    case .object(let members): if let member = members[step] { next.append(member) }
                    case .array(let items): for item in items { if let member = item[step] { next.append(member) } }
                    default: break
                    }
                }
                current = next
            }
            return current
        }
        var checked = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: LakeTests.corpus.path) where name.hasSuffix(".json") {
            let data = try Data(contentsOf: LakeTests.corpus.appendingPathComponent(name))
            let read = try CloudTrailReader.parse(data, file: name)
            let parsed = try LakeJSON.parse(data).arrayValue ?? []
            #expect(read.records.count == parsed.count)
            // The bodies are the file as received, byte for byte, less the whitespace between tokens.
            #expect("[" + read.records.map(\.body).joined(separator: ",") + "]" == Self.withoutSpacing(data), "\(name)")
            for (event, record) in zip(read.records, parsed) {
                #expect(try LakeJSON.parse(Data(event.body.utf8)) == record)
                var all: Set<[String]> = []
                paths(record, [], into: &all)
                all.insert(["userIdentity", "no-such-key"])
                all.insert(["no-such-key"])
                for steps in all {
                    #expect(event.values(along: steps) == walk(record, steps), "\(name): \(steps.joined(separator: "."))")
                    checked += 1
                }
                for key in record.objectValue?.keys.sorted() ?? [] { #expect(event.value(key) == record[key]) }
                #expect(event.json == record)
            }
        }
        #expect(checked > 10_000)
    }

    /// JSON text without the whitespace outside its strings (a reference written apart from the lake's).
    static func withoutSpacing(_ data: Data) -> String {
        var out: [UInt8] = []
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if [0x20, 0x0A, 0x0D, 0x09].contains(byte) {
                continue
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func spacingEscapesAndRepeatedKeysReadAsAParserReadsThem() throws {
        let spaced = "{\"Records\": [ {\"eventID\" : \"a\",\n \"eventTime\":\"2024-07-31T13:06:24Z\", \"eventSource\":\"s3.amazonaws.com\","
            + " \"eventName\":\"Get\", \"requestParameters\": {\"bucketName\": \"b c\", \"items\": [ {\"k\": 1}, {\"k\": 2} ], \"na\\u006de\": \"n\"},"
            + " \"event\\u004eote\": \"escaped key\", \"dup\": 1, \"dup\": 2, \"userIdentity\": {\"arn\": \"x\", \"arn\": \"y\"}} ]}"
        let read = try CloudTrailReader.parse(Data(spaced.utf8), file: "spaced.json")
        let event = try #require(read.records.first)
        #expect(event.body.hasPrefix(#"{"eventID":"a","eventTime":"2024-07-31T13:06:24Z","#))
        #expect(event.body.contains(#""bucketName":"b c","items":[{"k":1},{"k":2}]"#))
        #expect(event.value("eventNote") == .string("escaped key"))
        #expect(event.values(along: ["requestParameters", "items", "k"]) == [.int(1), .int(2)])
        #expect(event.values(along: ["requestParameters", "name"]) == [.string("n")])
        #expect(event.values(along: ["requestParameters", "items", "k"], acrossArrays: false) == [])
        // A repeated key is its last value, as JSONValue keeps it.
        #expect(event.value("dup") == .int(2))
        #expect(read.events.first?.userARN == "y")
        // The same record written compactly has the same body, so the same chain link.
        let compact = try CloudTrailEvent(text: String(spaced.dropFirst(13).dropLast(3)))
        #expect(compact.body == event.body)
    }

    @Test func aRecordThatIsNotUTF8IsNamedAndCanBeSkipped() throws {
        let good = Data(#"{"eventID":"a","eventTime":"2024-07-31T13:06:24Z","eventSource":"s","eventName":"n"}"#.utf8)
        let bad = Data(#"{"eventID":"b","eventTime":"2024-07-31T13:06:24Z","eventSource":"s","eventName":""#.utf8) + Data([0xFF, 0xFE]) + Data(#""}"#.utf8)
        let file = Data("[".utf8) + good + Data(",".utf8) + bad + Data("]".utf8)
        #expect(throws: LakeInputError.record(file: "f.json", index: 1, field: "record", "is not UTF-8 text")) { try CloudTrailReader.parse(file, file: "f.json") }
        let skipped = try CloudTrailReader.parse(file, file: "f.json", skipBad: true)
        #expect(skipped.events.map(\.eventID) == ["a"] && skipped.skipped.count == 1)
    }

    /// CloudTrail's time form is read without Foundation; the answer must be Foundation's, and
    /// anything the fast path does not take must still be read as before.
    @Test func wholeSecondTimesAgreeWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        let calendarBound = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: TimeInterval(Int.random(in: -2_208_988_800..<Int(calendarBound.timeIntervalSince1970), using: &generator)))
            let text = date.formatted(.iso8601)
            #expect(Timestamps.parse(text) == date, "\(text)")
            #expect(SQLiteStore.storedDate(date) == String.fromDatabaseValue(date.databaseValue), "\(text)")
        }
        for text in ["2024-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z"] {
            #expect(Timestamps.parse(text) == (try Date(text, strategy: .iso8601)), "\(text)")
        }
        for impossible in ["2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z"] {
            #expect(Timestamps.parse(impossible) == (try? Date(impossible, strategy: .iso8601)), "\(impossible)")
        }
        // Other forms still go to Foundation's parsers.
        #expect(Timestamps.parse("2024-07-31T13:06:24.250Z") == Date(timeIntervalSince1970: 1_722_431_184.25))
        #expect(Timestamps.parse(" 2024-07-31T13:06:24Z") == Date(timeIntervalSince1970: 1_722_431_184))
        let fractional = Date(timeIntervalSince1970: 1_722_431_184.5)
        #expect(SQLiteStore.storedDate(fractional) == String.fromDatabaseValue(fractional.databaseValue))
    }
}

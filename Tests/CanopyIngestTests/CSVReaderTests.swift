import CanopyIngest
import CanopyTestSupport
import Foundation
import Testing

/// The CSV reader against records written by an RFC 4180 writer of this test's own: quotes,
/// doubled quotes, commas and line breaks (LF and CRLF) inside fields, a lone carriage return,
/// non-ASCII text, empty fields, CRLF between records, and a file of several megabytes, so runs of
/// bytes and quoted fields cross the reader's 1 MiB buffer.
@Suite struct CSVReaderTests {
    static func field(_ random: inout SeededRandom) -> String {
        let pieces = ["plain", "", "a,b", "say \"hi\"", "two\nlines", "crlf\r\nbreak", "lone\rcr", "用量 ünï", "\"", ",", " spaced ", "x"]
        return (0..<Int(random.next() % 3)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
    }

    static func quoted(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    @Test func recordsReadBackAsWritten() throws {
        var random = SeededRandom(seed: 42)
        let header = (0..<9).map { "c\($0)" }
        var records: [[String]] = []
        var text = header.joined(separator: ",") + "\r\n"
        while text.utf8.count < 3 << 20 {
            let record = header.map { _ in Self.field(&random) }
            records.append(record)
            text += record.map(Self.quoted).joined(separator: ",") + (random.next() % 2 == 0 ? "\n" : "\r\n")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(text.utf8).write(to: url)

        var reader = try CSVReader(path: url.path)
        try reader.readHeader()
        #expect(reader.header == header)
        var index = 0
        while let fields = try reader.next() {
            guard index < records.count else {
                Issue.record("more records than were written")
                break
            }
            if fields != records[index] {
                Issue.record("record \(index): wrote \(records[index]), read \(fields)")
                break
            }
            index += 1
        }
        #expect(index == records.count)
    }
}

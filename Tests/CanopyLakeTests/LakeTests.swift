import CanopyLake
import CanopyModel
import CanopyStore
import CanopyTestSupport
import Crypto
import Foundation
import GRDB
import Testing

/// The activity lake: CloudTrail in, idempotent by eventID, and any tampering with the database
/// file found and named.
@Suite struct LakeTests {
    static let corpus = Moto.sharedDirectory.appendingPathComponent("corpus/cloudtrail/stratus-red-team")

    /// A lake in a file, holding `files` corpus files, one import (and digest) each.
    static func lake(files: Int = 35) async throws -> (path: String, store: SQLiteStore, signer: LakeSigner) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-lake-\(UUID().uuidString).db").path
        let store = try SQLiteStore(path: path)
        let signer = try await LakeSigner.load(store: store, box: .ephemeral())
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".json") }.sorted().prefix(files)
        for name in names {
            let read = try CloudTrailReader.read(path: corpus.appendingPathComponent(name).path)
            _ = try await store.appendLakeEvents(read.events, source: name, actor: "test") { try signer.sign($0) }
        }
        return (path, store, signer)
    }

    @Test func theCorpusImportsOnceVerifiesAndAnswersQueries() async throws {
        let (_, store, signer) = try await Self.lake()
        var verified = try await LakeVerifier.verify(store: store, publicKey: signer.publicKey)
        #expect(verified.intact && verified.events == 310 && verified.digests == 35)
        // The same files again add nothing and seal nothing.
        let again = try CloudTrailReader.read(path: Self.corpus.appendingPathComponent("aws.defense-evasion.cloudtrail-stop.json").path)
        let appended = try await store.appendLakeEvents(again.events, source: "again", actor: "test") { try signer.sign($0) }
        #expect(appended.added == 0 && appended.duplicates == again.events.count && appended.digest == nil)
        verified = try await LakeVerifier.verify(store: store, publicKey: signer.publicKey)
        #expect(verified.intact && verified.digests == 35)
        #expect(try await store.auditLog(limit: 100).filter { $0.action == "lake.import" }.count == 35)
        // Queries over the common fields.
        let stop = try await store.lakeEvents(try LakeQuery.parse("eventName=StopLogging"), limit: nil)
        #expect(stop.count == 1 && stop[0].eventSource == "cloudtrail.amazonaws.com")
        #expect(try await store.countLakeEvents(try LakeQuery.parse("errorCode=*")) == 52)
        #expect(try await store.countLakeEvents(try LakeQuery.parse("errorCode=* and readOnly=false")) <= 52)
        let window = try await store.countLakeEvents(try LakeQuery.parse("eventTime>=2024-07-31 and eventTime<2024-08-01"))
        #expect(window > 0 && window < 310)
        #expect(try await store.countLakeEvents(try LakeQuery.parse(#"userIdentity.arn~"user/christophe""#)) > 0)
        #expect(throws: LakeQuery.Problem.self) { try LakeQuery.parse("colour=blue") }
        #expect(try LakeQuery.parse("eventTime>=2024-07-01").clauses.first?.op == .atLeast)
        #expect(try LakeQuery.parse("userIdentity.type>=").clauses.first.map { ($0.op, $0.value) } ?? (.equal, "") == (.greater, "="), "`>` with the value `=`")
        #expect(throws: LakeQuery.Problem.self) { try LakeQuery.parse("eventTime>=yesterday") }
        let csv = LakeExport.csv(stop)
        #expect(csv.hasPrefix(LakeExport.header) && csv.contains("StopLogging"))
        #expect(try JSONValue.parse(Data(LakeExport.json(stop).utf8)).arrayValue?.first?["eventName"] == "StopLogging")
        // Another key does not verify this lake's digests.
        let stranger = Curve25519.Signing.PrivateKey().publicKey
        #expect(try await !LakeVerifier.verify(store: store, publicKey: stranger).intact)
        // The exported public key verifies it.
        let exported = try LakeSigner.publicKey(text: LakeSigner.pem(signer.publicKey))
        #expect(try await LakeVerifier.verify(store: store, publicKey: exported).intact)
    }

    enum Tamper: CaseIterable { case change, delete, insert, reorder, column, append }

    /// Flip, delete, insert, reorder or append any single event directly in the database file:
    /// `verify` fails and names the place.
    @Test(arguments: 0..<24) func tamperingAnywhereIsFoundAndNamed(seed: Int) async throws {
        let (path, store, signer) = try await Self.lake(files: 8)
        let total = try await store.countLakeEvents(LakeFilter())
        var random = SeededRandom(seed: UInt64(seed) &+ 11)
        let tamper = Tamper.allCases[seed % Tamper.allCases.count]
        let position = Int64(random.next() % UInt64(total - 1)) + 1
        let queue = try DatabaseQueue(path: path)
        let expected: [Int64] = try await queue.write { db -> [Int64] in
            switch tamper {
            case .change:
                try db.execute(sql: "UPDATE lake_event SET body = replace(body, '\"eventName\":\"', '\"eventName\":\"X') WHERE seq = ?", arguments: [position])
                return [position]
            case .column:
                try db.execute(sql: "UPDATE lake_event SET event_name = 'Nothing' WHERE seq = ?", arguments: [position])
                return [position]
            case .delete:
                try db.execute(sql: "DELETE FROM lake_event WHERE seq = ?", arguments: [position])
                return [position + 1]
            case .insert:
                // Make room and put a forged event there, chained as well as an attacker can.
                try db.execute(sql: "UPDATE lake_event SET seq = -seq - 1 WHERE seq >= ?", arguments: [position])
                try db.execute(sql: "UPDATE lake_event SET seq = -seq WHERE seq < 0")
                let previous = try String.fetchOne(db, sql: "SELECT hash FROM lake_event WHERE seq = ?", arguments: [position - 1]) ?? LakeChain.genesis
                let body = #"{"eventID":"forged","eventName":"Nothing","eventSource":"x","eventTime":"2024-07-31T00:00:00Z"}"#
                try db.execute(
                    sql: "INSERT INTO lake_event (seq, event_id, event_time, account, region, event_source, event_name, body, hash) VALUES (?, 'forged', ?, '', '', 'x', 'Nothing', ?, ?)",
                    arguments: [position, Timestamps.parse("2024-07-31T00:00:00Z")!, body, LakeChain.link(previous: previous, seq: position, eventID: "forged", body: body)])
                return [position + 1]
            case .reorder:
                // Two neighbours swap places, each keeping its own hash.
                try db.execute(sql: "UPDATE lake_event SET seq = -1 WHERE seq = ?", arguments: [position])
                try db.execute(sql: "UPDATE lake_event SET seq = ? WHERE seq = ?", arguments: [position, position + 1])
                try db.execute(sql: "UPDATE lake_event SET seq = ? WHERE seq = -1", arguments: [position + 1])
                return [position]
            case .append:
                let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM lake_event ORDER BY seq DESC LIMIT 1")!
                let seq = (last["seq"] as Int64) + 1
                let body = #"{"eventID":"late","eventName":"Nothing","eventSource":"x","eventTime":"2024-07-31T00:00:00Z"}"#
                try db.execute(
                    sql: "INSERT INTO lake_event (seq, event_id, event_time, account, region, event_source, event_name, body, hash) VALUES (?, 'late', ?, '', '', 'x', 'Nothing', ?, ?)",
                    arguments: [seq, Timestamps.parse("2024-07-31T00:00:00Z")!, body, LakeChain.link(previous: last["hash"], seq: seq, eventID: "late", body: body)])
                return [seq]
            }
        }
        let result = try await LakeVerifier.verify(store: store, publicKey: signer.publicKey)
        let problem = try #require(result.problem, "\(tamper) at #\(position) went unnoticed")
        #expect(expected.contains { problem.contains("#\($0)") }, "\(tamper) at #\(position): \(problem)")
    }

    /// The lake's own JSON reader agrees with Foundation's on every corpus file, and on escapes,
    /// surrogate pairs and numbers; its canonical text is stable.
    @Test func lakeJSONAgreesWithFoundation() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path) where name.hasSuffix(".json") {
            let data = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            #expect(try LakeJSON.parse(data) == JSONValue.parse(data), "\(name)")
        }
        let tricky = #"{"a":"q\"b\\s\/l\n\t\u00e9\ud83d\ude00","n":[-0,12,-3.5e2,1.25,9223372036854775807],"z":null,"t":true,"e":{},"l":[]}"#
        let parsed = try LakeJSON.parse(Data(tricky.utf8))
        #expect(parsed == (try JSONValue.parse(tricky)))
        #expect(parsed["a"] == .string("q\"b\\s/l\n\té😀"))
        #expect(try LakeJSON.parse(Data(LakeJSON.canonical(parsed).utf8)) == parsed)
        #expect(LakeJSON.canonical(["b": 1, "a": [true, .null]]) == #"{"a":[true,null],"b":1}"#)
        for bad in [#"{"a":}"#, #"[1,]"#, #""\ud800""#, "[1] 2", #"{"a":"\x"}"#, "tru", "\"unterminated"] {
            #expect(throws: LakeJSON.Problem.self, "\(bad)") { try LakeJSON.parse(Data(bad.utf8)) }
        }
    }

    @Test func badInputNamesTheFileRecordAndField() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-lake-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ data: Data) throws -> String {
            let url = directory.appendingPathComponent(name)
            try data.write(to: url)
            return url.path
        }
        let good = #"{"eventID":"a","eventTime":"2024-07-31T13:06:24Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#
        let noID = #"{"eventTime":"2024-07-31T13:06:24Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#
        let badTime = #"{"eventID":"c","eventTime":"yesterday","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#
        let mixed = try file("mixed.json", Data("{\"Records\": [\(good), \(noID), \(badTime)]}".utf8))
        #expect(throws: LakeInputError.record(file: mixed, index: 1, field: "eventID", "is missing")) { try CloudTrailReader.read(path: mixed) }
        let skipped = try CloudTrailReader.read(path: mixed, skipBad: true)
        #expect(skipped.events.count == 1 && skipped.skipped.count == 2 && "\(skipped.skipped[1])".contains("record 2: eventTime"))
        let malformed = try file("malformed.json", Data("{\"Records\": [".utf8))
        #expect("\((try? CloudTrailReader.read(path: malformed)) == nil)" == "true")
        do { _ = try CloudTrailReader.read(path: malformed) } catch { #expect("\(error)".contains("malformed.json: is not valid JSON")) }
        // A gzip cut short is an error naming the file, not a short import.
        let truncated = directory.appendingPathComponent("cut.json.gz").path
        let made = try await Subprocess.run(
            ["python3", "-c", "import gzip,sys; open(sys.argv[1], 'wb').write(gzip.compress(sys.argv[2].encode())[:-12])", truncated, "[\(good)]"])
        #expect(made.status == 0)
        do {
            _ = try CloudTrailReader.read(path: truncated)
            Issue.record("a truncated gzip was read")
        } catch { #expect("\(error)".contains("cut.json.gz") && "\(error)".contains("truncated")) }
        let plain = try file("array.json", Data("[\(good)]".utf8))
        #expect(try CloudTrailReader.read(path: plain).events.first?.eventName == "GetObject")
    }
}

import ArgumentParser
import CanopyAWS
import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyStore
import Crypto
import Foundation
import _CryptoExtras

/// `canopy lake`: the tamper-evident activity lake.
struct LakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lake", abstract: "The activity lake: CloudTrail events, hash-chained and sealed by signed digests; import, query, verify.",
        subcommands: [Import.self, Query.self, SQL.self, Saved.self, Verify.self, VerifyCloudTrail.self, Key.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract:
                "Import CloudTrail log files ({\"Records\": […]} or a JSON array; .json or .json.gz): events already in the lake (by eventID) are left alone; each import is sealed by a signed digest; the detection rules run over the events on the way in.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "Files, or s3://bucket/prefix (every .json and .json.gz object under it).") var paths: [String]
        @Flag(help: "Count and report records without eventID, eventTime, eventSource or eventName, and import the rest (default: reject the file).")
        var skipBadRecords = false
        @OptionGroup(title: "For s3:// sources") var aws: AWSOptions

        func run() async throws {
            let store = try database.open()
            let signer = try await LakeSigner.load(store: store, box: try database.secretBox())
            let detector = Detector(rules: try await DetectionRuleSet.load(store: store))
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-lake-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: work) }
            let files = try await S3Sources.localFiles(paths, suffixes: [".json", ".json.gz"], work: work, aws: aws)
            try await ActivityDetection.importFiles(
                files, store: store, signer: signer, detector: detector, skipBad: skipBadRecords, actor: actor.resolved
            ) { done in
                let detections = done.detections
                printOut(
                    "\(done.name): \(done.append.added) events added, \(done.append.duplicates) already in the lake"
                        + (done.skipped.isEmpty ? "" : ", \(done.skipped.count) bad records skipped") + (done.append.digest.map { ", sealed by digest #\($0.id)" } ?? "")
                        + (done.matches == 0 ? "" : "; \(done.matches) rule matches: \(detections.added) new detections, \(detections.updated) updated"))
                for problem in done.skipped.prefix(20) { printErr("  skipped: \(problem)") }
            }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "query",
            abstract: "Events matching a filter, e.g. 'eventName=StopLogging and eventTime>=2024-07-01'. Fields: \(LakeQuery.fields.joined(separator: ", ")); operators = != >= <= > < ~ (contains); field=* present.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The filter (empty: every event), or the name of a saved filter.") var filter: String = ""
        @Flag(help: "Print how many events match, nothing else.") var count = false
        @Option(help: "At most this many events.") var limit: Int = 1_000
        @Option(help: "table, json (the records as received), csv, or ocsf (OCSF 1.3 API Activity, Authentication and Account Change events).")
        var format: String = "table"

        func run() async throws {
            let store = try database.open()
            let text = try await store.savedQueries().first { $0.name == filter && $0.kind == .filter }?.query ?? filter
            let parsed: LakeFilter
            do { parsed = try LakeQuery.parse(text) } catch let problem as LakeQuery.Problem { throw ValidationError(problem.description) }
            guard ["table", "json", "csv", "ocsf"].contains(format) else { throw ValidationError("--format is table, json, csv or ocsf") }
            if count {
                printOut(String(try await store.countLakeEvents(parsed)))
                return
            }
            let events = try await store.lakeEvents(parsed, limit: limit)
            switch format {
            case "json": printOut(String(LakeExport.json(events).dropLast()))
            case "csv": printOut(String(LakeExport.csv(events).dropLast()))
            case "ocsf": printOut(JSONValue.array(try events.map(OCSFExport.activity)).canonicalJSON())
            default:
                let table = Table(
                    columns: ["time", "account", "region", "source", "event", "principal", "ip", "error"],
                    rows: events.map {
                        [Timestamps.iso8601($0.eventTime), $0.account, $0.region, $0.eventSource, $0.eventName, $0.userARN ?? $0.userType ?? "", $0.sourceIP ?? "", $0.errorCode ?? ""]
                    })
                printOut(try table.render(.table) { Data() })
            }
        }
    }

    struct SQL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Read-only SQL over the lake views lake_events and lake_findings (SQLite; the database refuses anything else), e.g. \"SELECT eventName, count(*) FROM lake_events GROUP BY 1\".")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The SELECT, or the name of a saved SQL query.") var sql: String
        @Option(help: "At most this many rows.") var limit: Int = 1_000
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            let statement = try await store.savedQueries().first { $0.name == sql && $0.kind == .sql }?.query ?? sql
            let result: LakeSQL.Result
            do { result = try await store.lakeSQL(statement, limit: limit) } catch let problem as LakeSQL.Problem { throw ValidationError(problem.message) }
            let table = Table(columns: result.columns, rows: result.rows.map { $0.map(\.compactText) })
            printOut(try table.render(format) { try JSONOutput.encode(result) })
            if result.truncated { printErr("(more rows than --limit \(limit))") }
        }
    }

    struct Saved: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "saved", abstract: "Saved lake queries: list them, save one (a filter or SQL, checked first; audited) or delete one.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Option(help: "Save a filter (the lake's filter language) under --name.") var filter: String?
        @Option(help: "Save a SQL statement under --name.") var sql: String?
        @Option(help: "The name to save or delete.") var name: String?
        @Flag(help: "Delete the query --name.") var delete = false

        func run() async throws {
            let store = try database.open()
            if delete {
                guard let name, try await store.deleteSavedQuery(name: name, actor: actor.resolved) else { throw ValidationError("no saved query named \(name ?? "")") }
                printOut("deleted \(name)")
                return
            }
            if filter != nil || sql != nil {
                guard let name, !name.isEmpty else { throw ValidationError("--name is required to save") }
                if let filter {
                    do { _ = try LakeQuery.parse(filter) } catch let problem as LakeQuery.Problem { throw ValidationError(problem.description) }
                } else if let sql {
                    do { _ = try await store.lakeSQL(sql, limit: 1) } catch let problem as LakeSQL.Problem { throw ValidationError(problem.message) }
                }
                try await store.save(
                    SavedQuery(name: name, kind: filter != nil ? .filter : .sql, query: filter ?? sql ?? "", createdBy: actor.resolved, createdAt: Date()),
                    actor: actor.resolved)
                printOut("saved \(name)")
                return
            }
            let table = Table(
                columns: ["name", "kind", "query", "by", "saved"],
                rows: try await store.savedQueries().map { [$0.name, $0.kind.rawValue, $0.query, $0.createdBy, Timestamps.iso8601($0.createdAt)] })
            printOut(try table.render(.table) { Data() })
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Recompute the hash chain and check every signed digest; exit 0 only when the lake is intact, else name the first broken link.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Verify with this public key (PEM or base64, from `canopy lake key`) instead of the one the database holds.") var publicKey: String?

        func run() async throws {
            let store = try database.open()
            let key: Curve25519.Signing.PublicKey
            if let publicKey {
                key = try LakeSigner.publicKey(text: try String(contentsOfFile: publicKey, encoding: .utf8))
            } else {
                key = try await LakeSigner.load(store: store, box: try database.secretBox()).publicKey
            }
            let result = try await LakeVerifier.verify(store: store, publicKey: key)
            if let problem = result.problem {
                printErr("lake BROKEN: \(problem)")
                throw ExitCode(1)
            }
            printOut("lake intact: \(result.events) events, \(result.digests) signed digests")
        }
    }

    struct VerifyCloudTrail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-cloudtrail",
            abstract:
                "Validate CloudTrail's own digest files the way AWS does: each log file's SHA-256, the digest chain, and each digest's SHA256withRSA signature; exit 0 only when everything checks out.")
        @Argument(help: "s3://bucket/prefix (digests and logs under it, signatures from object metadata), or a local copy of the bucket with --bucket.")
        var source: String
        @Option(help: "CloudTrail's public keys, one FINGERPRINT=BASE64-DER a line (from `aws cloudtrail list-public-keys`).") var publicKeys: String
        @Option(help: "For a local copy: the bucket it copies (keys are paths under the folder; signatures in <digest>.signature files).") var bucket: String?
        @Option(help: "table or json.") var format: OutputFormat = .table
        @OptionGroup(title: "For s3:// sources") var aws: AWSOptions

        func run() async throws {
            let keys: [String: _RSA.Signing.PublicKey]
            do { keys = try CloudTrailDigests.publicKeys(try String(contentsOfFile: publicKeys, encoding: .utf8)) } catch let error as LakeInputError {
                throw ValidationError("\(publicKeys): \(error)")
            }
            let (digests, logs) = try await load()
            let report = CloudTrailDigests.verify(digests: digests, logFiles: logs, publicKeys: keys)
            if format == .json {
                printOut(String(decoding: try JSONOutput.encode(report), as: UTF8.self))
            } else {
                for problem in report.problems { printErr(problem) }
                printOut("\(report.digests) digest files, \(report.validLogFiles) of \(report.logFiles) log files valid" + (report.intact ? ": intact" : ": \(report.problems.count) problems"))
            }
            if !report.intact { throw ExitCode(1) }
        }

        func load() async throws -> CloudTrailIntegrity.Loaded {
            if let (bucketName, prefix) = S3Objects.parse(source) {
                return try await aws.with { client, region in
                    try await CloudTrailIntegrity.load(client: client, bucket: bucketName, prefix: prefix, region: region)
                }
            }
            guard let bucket else { throw ValidationError("a local copy needs --bucket (the bucket it copies)") }
            return try CloudTrailIntegrity.load(directory: source, bucket: bucket)
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "key", abstract: "Print the lake's public key (PEM), to verify a copy of the lake elsewhere.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let signer = try await LakeSigner.load(store: try database.open(), box: try database.secretBox())
            printOut(String(LakeSigner.pem(signer.publicKey).dropLast()))
        }
    }
}

import CanopyLake
import CanopyModel
import CanopyStore
import Foundation

/// The rules in force: Canopy's built-in ones and those loaded into the store
/// (`canopy detect rules add`), a stored rule replacing a built-in one of the same id.
public enum DetectionRuleSet {
    public static func load(store: any CanopyStore) async throws -> [SigmaRule] {
        let stored = try await store.detectionRules().map { rule in
            do { return try SigmaRule.parse(rule.text, file: rule.origin, origin: rule.origin) } catch {
                throw SigmaError(file: rule.origin, line: 0, message: "stored rule \(rule.id) no longer loads: \(error)")
            }
        }
        let storedIDs = Set(stored.map(\.id))
        return try BuiltInRules.load().filter { !storedIDs.contains($0.id) } + stored
    }

    /// Rules read from files or directories, checked, as the store keeps them.
    public static func read(_ paths: [String]) throws -> [(rule: SigmaRule, stored: StoredDetectionRule)] {
        var result: [(SigmaRule, StoredDetectionRule)] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw SigmaError(file: path, line: 0, message: "no such file or directory") }
            let files =
                isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().map {
                    (path as NSString).appendingPathComponent($0)
                } : [path]
            for file in files {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw SigmaError(file: file, line: 0, message: "cannot read the file") }
                let rule = try SigmaRule.parse(text, file: file)
                result.append((rule, StoredDetectionRule(id: rule.id, title: rule.title, origin: file, sha256: rule.sha256, text: text, addedAt: Date())))
            }
        }
        var seen: [String: String] = [:]
        for (rule, stored) in result {
            if let other = seen[rule.id] { throw SigmaError(file: stored.origin, line: 0, message: "rule id \(rule.id) is also the id of \(other)") }
            seen[rule.id] = stored.origin
        }
        return result
    }
}

/// Activity into the lake, with detection on the way in; and detection over what is there.
public enum ActivityDetection {
    /// What importing one CloudTrail file did.
    public struct FileImport: Sendable {
        public var name: String
        public var append: LakeAppend
        public var skipped: [LakeInputError]
        /// Rule matches over the file's events, and what they did to the detection findings.
        public var matches: Int
        public var detections: SecurityFindingSave
    }

    /// Reads a CloudTrail file, appends it to the lake (chained, sealed) and runs the rules over
    /// its events. The events' findings are saved after the events, so every event a finding
    /// names is in the lake.
    public static func importFile(
        path: String, name: String, store: any CanopyStore, signer: LakeSigner, detector: Detector, skipBad: Bool, actor: String
    ) async throws -> FileImport {
        var done: [FileImport] = []
        try await importFiles([(path, name)], store: store, signer: signer, detector: detector, skipBad: skipBad, actor: actor) { done.append($0) }
        return done[0]
    }

    /// Imports files in order, as `importFile` does each. Reading a file and running the rules
    /// over it do not touch the lake, so the next file is read and matched on another core while
    /// this one is appended (the chain itself is one sequence, written by one writer).
    public static func importFiles(
        _ files: [(path: String, name: String)], store: any CanopyStore, signer: LakeSigner, detector: Detector, skipBad: Bool, actor: String,
        each: (FileImport) throws -> Void
    ) async throws {
        /// A file read and matched; its parsed records are dropped once the rules have run.
        struct Prepared: Sendable {
            var events: [LakeRecord]
            var skipped: [LakeInputError]
            var detected: Detector.Result
        }
        func prepare(_ file: (path: String, name: String)) -> Task<Prepared, any Error> {
            Task.detached {
                let read = try CloudTrailReader.read(path: file.path, name: file.name, skipBad: skipBad)
                var run = detector.run()
                for (record, event) in zip(read.events, read.records) { run.add(record, event: event) }
                return Prepared(events: read.events, skipped: read.skipped, detected: run.result)
            }
        }
        var next = files.first.map(prepare)
        for (index, file) in files.enumerated() {
            guard let current = next else { break }
            next = index + 1 < files.count ? prepare(files[index + 1]) : nil
            do {
                let prepared = try await current.value
                let append = try await store.appendLakeEvents(prepared.events, source: file.name, actor: actor) { try signer.sign($0) }
                let saved = try await save(prepared.detected, store: store, actor: actor, source: file.name)
                try each(FileImport(name: file.name, append: append, skipped: prepared.skipped, matches: prepared.detected.matches, detections: saved))
            } catch {
                next?.cancel()
                throw error
            }
        }
    }

    /// What `canopy detect` did over the lake's history.
    public struct HistoryRun: Sendable, Codable {
        public var events: Int
        public var rules: Int
        public var matches: Int
        public var detections: SecurityFindingSave
    }

    /// Runs the rules over the events a filter selects (e.g. `eventTime>=…`).
    public static func run(store: any CanopyStore, detector: Detector, filter: LakeFilter, actor: String) async throws -> HistoryRun {
        final class Scan: @unchecked Sendable {
            var run: Detector.Run
            var events = 0
            var problem: (any Error)?
            init(_ run: Detector.Run) { self.run = run }
        }
        let scan = Scan(detector.run())
        try await store.eachLakeEvent(filter) { event in
            scan.events += 1
            scan.run.add(event.record, event: try CloudTrailEvent(text: event.body))
        }
        let result = scan.run.result
        let saved = try await save(result, store: store, actor: actor, source: "lake history")
        return HistoryRun(events: scan.events, rules: detector.rules.count, matches: result.matches, detections: saved)
    }

    static func save(_ result: Detector.Result, store: any CanopyStore, actor: String, source: String) async throws -> SecurityFindingSave {
        guard !result.findings.isEmpty else { return SecurityFindingSave() }
        return try await store.saveSecurityFindings(result.findings, events: result.events, actor: actor, action: "detect.run", source: source)
    }
}

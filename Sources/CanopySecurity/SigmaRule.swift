import CanopyLake
import CanopyModel
import Crypto
import Foundation
import Yams

/// A Sigma rule Canopy cannot load, naming the file, the line and what is wrong.
public struct SigmaError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// A detection rule in the Sigma format (specification 2.x), parsed and compiled so matching an
/// event does no parsing: search identifiers to field matchers, the condition to a tree.
public struct SigmaRule: Sendable {
    public var id: String
    public var title: String
    public var description: String
    public var status: String
    /// `informational`, `low`, `medium`, `high` or `critical`.
    public var level: String
    public var tags: [String]
    public var falsePositives: [String]
    public var logsource: [String: String]
    /// Where it came from (a file path, or `canopy:` and the file of a built-in rule).
    public var origin: String
    /// SHA-256 of the rule's text: which version of the rule made a detection.
    public var sha256: String
    let detection: CompiledDetection

    /// OCSF severity_id for the rule's level.
    public var severityID: Int {
        switch level {
        case "informational": 1
        case "low": 2
        case "medium": 3
        case "high": 4
        case "critical": 5
        default: 0
        }
    }

    /// MITRE ATT&CK technique ids from the tags (`attack.t1078.004` → `T1078.004`).
    public var techniques: [String] {
        tags.compactMap { tag in
            let lower = tag.lowercased()
            guard lower.hasPrefix("attack.t"), lower.dropFirst(8).first?.isNumber == true else { return nil }
            return String(tag.dropFirst(7)).uppercased()
        }
    }

    /// Whether an event (a CloudTrail record) matches the rule.
    public func matches(_ event: JSONValue) -> Bool { detection.matches(CloudTrailEvent(json: event)) }

    public func matches(_ event: CloudTrailEvent) -> Bool { detection.matches(event) }

    /// The event names the rule can match at all (lower-cased), when its condition pins them down.
    public var eventNames: Set<String>? { detection.eventNames }

    public static func load(path: String, origin: String? = nil) throws -> SigmaRule {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SigmaError(file: path, line: 0, message: "cannot read the file") }
        return try parse(text, file: path, origin: origin ?? path)
    }

    /// Every `.yml`/`.yaml` rule under a directory, in name order.
    public static func loadDirectory(_ directory: String, origin: (String) -> String = { $0 }) throws -> [SigmaRule] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw SigmaError(file: directory, line: 0, message: "cannot read the directory")
        }
        return try names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().map { name in
            let path = (directory as NSString).appendingPathComponent(name)
            return try load(path: path, origin: origin(path))
        }
    }

    public static func parse(_ source: String, file: String, origin: String? = nil) throws -> SigmaRule {
        let root: Node?
        do { root = try Yams.compose(yaml: source) } catch let error as YamlError {
            throw SigmaError(file: file, line: Self.line(of: error), message: "not valid YAML: \(error)")
        }
        guard let root, let mapping = root.mapping else { throw SigmaError(file: file, line: 1, message: "a rule must be a mapping (title, logsource, detection, …)") }
        func fail(_ node: Node?, _ message: String) -> SigmaError { SigmaError(file: file, line: node?.mark?.line ?? 0, message: message) }
        func field(_ key: String, required: Bool = false) throws -> String {
            guard let node = mapping[key] else {
                if required { throw fail(root, "'\(key)' is missing") }
                return ""
            }
            guard let scalar = node.scalar else { throw fail(node, "'\(key)' must be text") }
            return scalar.string
        }
        func strings(_ key: String) throws -> [String] {
            guard let node = mapping[key] else { return [] }
            if let scalar = node.scalar { return scalar.string.isEmpty ? [] : [scalar.string] }
            guard let list = node.sequence else { throw fail(node, "'\(key)' must be a list") }
            return try list.map { item in
                guard let scalar = item.scalar else { throw fail(item, "'\(key)' must list text") }
                return scalar.string
            }
        }
        let title = try field("title", required: true)
        let level = try field("level").lowercased()
        if !level.isEmpty, !["informational", "low", "medium", "high", "critical"].contains(level) {
            throw fail(mapping["level"], "level '\(level)' is not one of informational, low, medium, high, critical")
        }
        var logsource: [String: String] = [:]
        if let node = mapping["logsource"] {
            guard let source = node.mapping else { throw fail(node, "'logsource' must be a mapping") }
            for (key, value) in source { logsource[key.string ?? ""] = value.string ?? "" }
        }
        guard let detectionNode = mapping["detection"] else { throw fail(root, "'detection' is missing") }
        guard let detection = detectionNode.mapping else { throw fail(detectionNode, "'detection' must be a mapping") }
        var identifiers: [String: SigmaSearch] = [:]
        var conditionTexts: [(String, Node)] = []
        for (keyNode, value) in detection {
            guard let key = keyNode.string else { throw fail(keyNode, "a detection key must be text") }
            if key == "condition" {
                if let scalar = value.scalar {
                    conditionTexts = [(scalar.string, value)]
                } else if let list = value.sequence {
                    conditionTexts = try list.map { item in
                        guard let scalar = item.scalar else { throw fail(item, "'condition' must be text or a list of text") }
                        return (scalar.string, item)
                    }
                } else {
                    throw fail(value, "'condition' must be text or a list of text")
                }
                continue
            }
            if key == "timeframe" { continue }
            do { identifiers[key] = try SigmaSearch(value) } catch let problem as SigmaSearch.Problem {
                throw fail(problem.node ?? value, "\(key): \(problem.message)")
            }
        }
        guard !conditionTexts.isEmpty else { throw fail(detectionNode, "'detection' has no 'condition'") }
        let conditions = try conditionTexts.map { text, node in
            do { return try SigmaCondition.parse(text, identifiers: Array(identifiers.keys)) } catch let problem as SigmaCondition.Problem {
                throw fail(node, "condition '\(text)': \(problem.message)")
            }
        }
        let digest = Data(SHA256.hash(data: Data(source.utf8))).hexEncoded
        return SigmaRule(
            id: try field("id").isEmpty ? String(digest.prefix(32)) : try field("id"), title: title,
            description: try field("description"), status: try field("status"), level: level.isEmpty ? "medium" : level, tags: try strings("tags"),
            falsePositives: (try? strings("falsepositives")) ?? [], logsource: logsource, origin: origin ?? file, sha256: digest,
            detection: CompiledDetection(identifiers: identifiers, condition: conditions.count == 1 ? conditions[0] : .or(conditions)))
    }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 0
        }
    }
}

extension Node {
    var string: String? { scalar?.string }
}

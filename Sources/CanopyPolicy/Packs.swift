import CanopyModel
import Crypto
import Foundation

/// OCSF severity names (severity_id 1…5, 0 unknown), as checks declare them.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case informational, low, medium, high, critical

    /// OCSF `severity_id`.
    public var ocsfID: Int {
        switch self {
        case .informational: 1
        case .low: 2
        case .medium: 3
        case .high: 4
        case .critical: 5
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.ocsfID < b.ocsfID }

    /// The severity of an OCSF `severity_id` (nil outside 1…5).
    public init?(ocsfID: Int) {
        guard let known = Severity.allCases.first(where: { $0.ocsfID == ocsfID }) else { return nil }
        self = known
    }
}

/// A check: one policy of a pack, named by a stable id that finding uids and framework
/// requirements refer to.
public struct Check: Sendable {
    public var id: String
    public var pack: String
    public var policy: Policy
    public var severity: Severity
    public var title: String
    public var titleZh: String
    public var remediation: String
    /// SHA-256 of the policy's YAML, the evidence that says which rule judged a resource.
    public var policyHash: String
}

/// A pack: a Custodian policy file whose policies carry `metadata.check` and `metadata.severity`.
public struct Pack: Sendable {
    public var name: String
    public var file: String
    public var checks: [Check]
}

public enum Packs {
    /// The packs shipped in the binary (`Resources/packs`), and those in `directory` — a file
    /// there with a built-in pack's name replaces it.
    public static func load(overrides directory: String? = nil) throws -> [Pack] {
        var seen: [String: String] = [:]
        return try dataFiles(folder: "packs", overrides: directory).map { name, url in
            let pack = try load(name: name, path: url.path)
            for check in pack.checks {
                if let other = seen[check.id] {
                    throw PolicyError.at(check.policy.location, policy: check.policy.name, message: "check id '\(check.id)' is also used in pack '\(other)'")
                }
                seen[check.id] = name
            }
            return pack
        }
    }

    /// One pack file: every policy must name its check id and severity.
    public static func load(name: String, path: String) throws -> Pack {
        let policies = try PolicyLoader.load(path: path)
        let checks = try policies.map { policy in
            func fail(_ message: String) -> PolicyError { .at(policy.location, policy: policy.name, message: message) }
            guard let id = policy.metadata?["check"]?.stringValue else { throw fail("a pack policy needs metadata.check (its check id)") }
            let severityName = policy.metadata?["severity"]?.stringValue ?? ""
            guard let severity = Severity(rawValue: severityName) else {
                throw fail("metadata.severity must be one of \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let title = policy.metadata?["title"]?.stringValue ?? policy.description ?? policy.name
            return Check(
                id: id, pack: name, policy: policy, severity: severity, title: title,
                titleZh: policy.metadata?["title_zh"]?.stringValue ?? title,
                remediation: policy.metadata?["remediation"]?.stringValue ?? "",
                policyHash: ContentHash.sha256(policy.source))
        }
        return Pack(name: name, file: path, checks: checks)
    }

    /// The YAML files of a built-in folder (`packs`, `frameworks`) by name, with those of
    /// `overrides` replacing same-named ones and adding the rest; sorted by name.
    static func dataFiles(folder: String, overrides directory: String?) throws -> [(name: String, url: URL)] {
        var files: [String: URL] = [:]
        for url in try builtInFiles(folder: folder) { files[url.deletingPathExtension().lastPathComponent] = url }
        if let directory {
            let local = URL(fileURLWithPath: directory)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: local.path) else {
                throw PolicyError.at(SourceLocation(file: directory, line: 0, column: 0), policy: nil, message: "cannot read the \(folder) folder")
            }
            for name in names where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
                let url = local.appendingPathComponent(name)
                files[url.deletingPathExtension().lastPathComponent] = url
            }
        }
        return files.keys.sorted().map { ($0, files[$0]!) }
    }

    static func builtInFiles(folder: String) throws -> [URL] {
        guard let root = Bundle.module.resourceURL?.appendingPathComponent(folder) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
            .filter { ["yml", "yaml"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}

/// Hex SHA-256 of text, for evidence hashes.
public enum ContentHash {
    public static func sha256(_ text: String) -> String {
        sha256(Data(text.utf8))
    }

    public static func sha256(_ data: Data) -> String {
        Array(SHA256.hash(data: data)).hexEncoded
    }
}

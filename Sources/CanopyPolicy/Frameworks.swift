import CanopyModel
import Foundation
import Yams

/// How a requirement is assessed: by checks that run, by a person's attestation, or not at all.
public enum RequirementMode: String, Sendable, Codable {
    case automated, manual
    case notApplicable = "not-applicable"
}

public struct Requirement: Sendable, Codable {
    public var id: String
    public var title: String
    public var titleZh: String?
    public var section: String?
    public var mode: RequirementMode
    /// Canopy check ids whose findings decide the requirement (automated only).
    public var checks: [String]
    /// Levels at which the requirement applies (Taiwan's 普/中/高; CIS profiles are in `level`).
    public var levels: [String]
    public var level: String?
    public var references: [String]
    /// Why a requirement is not applicable.
    public var reason: String?
    public var mappedBy: String?
}

/// A compliance framework as data: requirements mapped to checks. Adding a framework is adding a
/// YAML file (format in docs/frameworks.md).
public struct Framework: Sendable, Codable {
    public var id: String
    public var name: String
    public var nameZh: String?
    public var version: String?
    public var source: String?
    public var levels: [String]
    public var requirements: [Requirement]
    public var file: String

    /// The requirements that apply at `level` (all when nil or the framework has no levels).
    public func requirements(at level: String?) -> [Requirement] {
        guard let level, !levels.isEmpty else { return requirements }
        return requirements.filter { $0.levels.isEmpty || $0.levels.contains(level) }
    }
}

public enum Frameworks {
    /// The built-in frameworks and any in `directory` (a file with a built-in's name replaces
    /// it). Every check a requirement names must exist in `checks`.
    public static func load(overrides directory: String? = nil, checks: Set<String>) throws -> [Framework] {
        try Packs.dataFiles(folder: "frameworks", overrides: directory).map { try load(path: $0.url.path, checks: checks) }
    }

    public static func load(path: String, checks known: Set<String>) throws -> Framework {
        let yaml = try YAMLFile(path: path)
        let root = yaml.root
        func at(_ node: Node?, _ message: String) -> PolicyError { yaml.error(at: node, message) }
        guard let header = root?.mapping?["framework"]?.mapping, let id = header["id"]?.string, let name = header["name"]?.string else {
            throw at(root, "expected 'framework:' with 'id' and 'name'")
        }
        guard let list = root?.mapping?["requirements"]?.sequence else { throw at(root, "expected a 'requirements:' list") }
        func strings(_ node: Node?) -> [String] { node?.sequence?.compactMap(\.string) ?? [] }
        var seen: Set<String> = []
        let requirements = try list.map { node -> Requirement in
            guard let entry = node.mapping, let rid = entry["id"]?.string, let title = entry["title"]?.string else {
                throw at(node, "each requirement needs 'id' and 'title'")
            }
            guard seen.insert(rid).inserted else { throw at(node, "requirement '\(rid)' appears twice") }
            guard let mode = RequirementMode(rawValue: entry["mode"]?.string ?? "") else {
                throw at(entry["mode"] ?? node, "requirement '\(rid)': mode must be automated, manual or not-applicable")
            }
            let checks = strings(entry["checks"])
            for check in checks where !known.contains(check) {
                throw at(entry["checks"], "requirement '\(rid)': unknown check '\(check)'")
            }
            if mode == .automated, checks.isEmpty { throw at(node, "requirement '\(rid)': an automated requirement needs checks") }
            if mode != .automated, !checks.isEmpty { throw at(node, "requirement '\(rid)': only automated requirements list checks") }
            return Requirement(
                id: rid, title: title, titleZh: entry["title_zh"]?.string, section: entry["section"]?.string, mode: mode,
                checks: checks, levels: strings(entry["levels"]), level: entry["level"]?.string,
                references: strings(entry["references"]), reason: entry["reason"]?.string, mappedBy: entry["mapped_by"]?.string)
        }
        return Framework(
            id: id, name: name, nameZh: header["name_zh"]?.string, version: header["version"]?.string,
            source: header["source"]?.string, levels: strings(header["levels"]), requirements: requirements, file: path)
    }
}

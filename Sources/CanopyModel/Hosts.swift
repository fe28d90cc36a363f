import Foundation

/// The resource type of an on-prem Linux host (Custodian-style naming, Canopy's own provider).
public let onpremHostType = "onprem.host"

/// A credential that lets one host's agent upload its inventory, and nothing else. It is issued
/// for a site (and tags) by the CCoE; the first upload binds it to the host's machine id, so a
/// stolen token cannot overwrite another host's record.
public struct HostEnrollment: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var name: String
    public var site: String
    /// Tags every upload of this host carries (owner, `App`, `Env`…); they win over the agent's own.
    public var tags: [String: String]
    /// The machine id the token is bound to; nil until the first upload.
    public var hostID: String?
    public var createdAt: Date
    public var createdBy: String
    public var expiresAt: Date
    public var revokedAt: Date?
    public var lastUploadAt: Date?

    public init(
        id: Int64, name: String, site: String, tags: [String: String], hostID: String?, createdAt: Date, createdBy: String,
        expiresAt: Date, revokedAt: Date? = nil, lastUploadAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.site = site
        self.tags = tags
        self.hostID = hostID
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUploadAt = lastUploadAt
    }

    public func isUsable(at date: Date) -> Bool { revokedAt == nil && expiresAt > date }

    public enum State: String, Sendable { case active, revoked, expired }

    public func state(at date: Date) -> State { revokedAt != nil ? .revoked : (isUsable(at: date) ? .active : .expired) }
}

/// A package installed on a host, as the host's child record (one row per package).
public struct HostPackageRecord: Sendable, Codable, Hashable {
    public var name: String
    public var version: String
    public var architecture: String
    public var manager: String

    public init(name: String, version: String, architecture: String, manager: String) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.manager = manager
    }
}

/// A listening socket on a host, as the host's child record.
public struct HostPortRecord: Sendable, Codable, Hashable {
    public var transport: String
    public var address: String
    public var port: Int
    public var process: String?
    public var user: String?

    public init(transport: String, address: String, port: Int, process: String?, user: String?) {
        self.transport = transport
        self.address = address
        self.port = port
        self.process = process
        self.user = user
    }
}

/// Which pending updates a host must have installed, and how soon: after an update has been
/// offered for `approveAfterDays`, it is approved, and a host still missing an approved update is
/// non-compliant (Systems Manager Patch Manager's model). Rules are per environment (the host's
/// `Env` tag; `*` for any), first match wins. Approval is data, so maintenance windows and canary
/// rings can later install exactly the approved set.
public struct PatchBaseline: Sendable, Codable, Hashable {
    public struct Rule: Sendable, Codable, Hashable {
        /// `Env` tag value, or `*`.
        public var environment: String
        /// `security`, `other` or `any`.
        public var classification: String
        /// Vendor severities the rule covers (lower-case); empty for every severity, unrated included.
        public var severities: [String]
        public var approveAfterDays: Int

        public init(environment: String, classification: String, severities: [String] = [], approveAfterDays: Int) {
            self.environment = environment
            self.classification = classification
            self.severities = severities
            self.approveAfterDays = approveAfterDays
        }

        public func covers(environment env: String?, security: Bool, severity: String?) -> Bool {
            guard environment == "*" || environment.lowercased() == env?.lowercased() else { return false }
            switch classification {
            case "security": guard security else { return false }
            case "other": guard !security else { return false }
            default: break
            }
            return severities.isEmpty || severities.contains((severity ?? "").lowercased())
        }
    }

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    /// Canopy's default when none is applied: security updates within 7 days in production and
    /// 3 elsewhere, other updates within 30 days everywhere (CIS and NIST SI-2 leave the numbers
    /// to the organisation; these are common starting points).
    public static let standard = PatchBaseline(rules: [
        Rule(environment: "production", classification: "security", approveAfterDays: 7),
        Rule(environment: "*", classification: "security", approveAfterDays: 3),
        Rule(environment: "*", classification: "other", approveAfterDays: 30),
    ])

    public static let classifications: Set<String> = ["security", "other", "any"]

    /// The first rule that covers an update, for a host in `environment`.
    public func rule(environment: String?, security: Bool, severity: String?) -> Rule? {
        rules.first { $0.covers(environment: environment, security: security, severity: severity) }
    }

    public func problems() -> [String] {
        var problems: [String] = []
        if rules.isEmpty { problems.append("rules: at least one rule is needed") }
        for (index, rule) in rules.enumerated() {
            if !Self.classifications.contains(rule.classification) {
                problems.append("rules[\(index)].classification: '\(rule.classification)' is not security, other or any")
            }
            if rule.approveAfterDays < 0 || rule.approveAfterDays > 365 {
                problems.append("rules[\(index)].approve_after_days: must be between 0 and 365")
            }
            if rule.environment.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("rules[\(index)].environment: is empty") }
        }
        return problems
    }
}

/// A baseline as applied: its YAML, its digest, who applied it and when.
public struct PatchBaselineVersion: Sendable, Codable, Hashable {
    public var baseline: PatchBaseline
    public var source: String
    public var sha256: String
    public var appliedAt: Date
    public var actor: String

    public init(baseline: PatchBaseline, source: String, sha256: String, appliedAt: Date, actor: String) {
        self.baseline = baseline
        self.source = source
        self.sha256 = sha256
        self.appliedAt = appliedAt
        self.actor = actor
    }
}

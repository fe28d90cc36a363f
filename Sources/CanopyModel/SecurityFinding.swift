import Foundation

/// A security finding from any source — a Sigma detection over the activity lake, a GuardDuty,
/// Inspector or Security Hub finding (ASFF), a Prowler or other OCSF finding, a Trivy
/// vulnerability — in one OCSF-shaped model. `uid` is stable per source finding, so a re-import
/// updates it in place.
public struct SecurityFinding: Sendable, Codable, Hashable, Identifiable {
    /// OCSF finding classes Canopy keeps.
    public enum FindingClass: Int, Sendable, Codable, CaseIterable {
        case vulnerability = 2002
        case compliance = 2003
        case detection = 2004

        public var name: String {
            switch self {
            case .vulnerability: "Vulnerability Finding"
            case .compliance: "Compliance Finding"
            case .detection: "Detection Finding"
            }
        }
    }

    public var uid: String
    /// The product that made it: `Canopy Sigma`, `GuardDuty`, `Inspector`, `Security Hub`, `Prowler`, `Trivy`, …
    public var source: String
    public var findingClass: FindingClass
    /// The rule, check, finding type or CVE it is an instance of.
    public var ruleID: String
    public var title: String
    public var description: String
    /// OCSF severity_id (1 informational … 5 critical, 6 fatal; 0 unknown).
    public var severityID: Int
    public var status: FindingStatus
    /// The resource it is about (an ARN, an image, a host), when it names one.
    public var resourceUID: String?
    public var resourceType: String?
    public var account: String
    public var region: String
    /// Who did it (a detection's principal ARN), when known.
    public var principal: String?
    /// MITRE ATT&CK technique ids.
    public var techniques: [String]
    public var firstSeen: Date
    public var lastSeen: Date
    /// When the source last changed it: a re-import older than what is stored changes nothing.
    public var updatedAt: Date
    /// Activity events attached (detections).
    public var eventCount: Int
    public var assignee: String?
    public var note: String?
    /// The finding as the source gave it (canonical JSON), kept for export and evidence.
    public var raw: String

    public var id: String { uid }

    public init(
        uid: String, source: String, findingClass: FindingClass, ruleID: String, title: String, description: String = "", severityID: Int,
        status: FindingStatus = .new, resourceUID: String? = nil, resourceType: String? = nil, account: String, region: String,
        principal: String? = nil, techniques: [String] = [], firstSeen: Date, lastSeen: Date, updatedAt: Date, eventCount: Int = 0,
        assignee: String? = nil, note: String? = nil, raw: String = "{}"
    ) {
        self.uid = uid
        self.source = source
        self.findingClass = findingClass
        self.ruleID = ruleID
        self.title = title
        self.description = description
        self.severityID = severityID
        self.status = status
        self.resourceUID = resourceUID
        self.resourceType = resourceType
        self.account = account
        self.region = region
        self.principal = principal
        self.techniques = techniques
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.updatedAt = updatedAt
        self.eventCount = eventCount
        self.assignee = assignee
        self.note = note
        self.raw = raw
    }

    /// OCSF severity names, by id.
    public static func severityName(_ id: Int) -> String {
        switch id {
        case 1: "Informational"
        case 2: "Low"
        case 3: "Medium"
        case 4: "High"
        case 5: "Critical"
        case 6: "Fatal"
        default: "Unknown"
        }
    }
}

/// Which security findings to list; every given part must hold.
public struct SecurityFindingFilter: Sendable, Hashable {
    public var sources: [String]
    public var findingClass: SecurityFinding.FindingClass?
    public var minimumSeverity: Int?
    public var statuses: [FindingStatus]
    public var ruleID: String?
    public var resourceUID: String?
    /// Only these accounts (a business-unit owner's scope); nil: every account.
    public var accounts: [String]?
    public var since: Date?

    public init(
        sources: [String] = [], findingClass: SecurityFinding.FindingClass? = nil, minimumSeverity: Int? = nil, statuses: [FindingStatus] = [],
        ruleID: String? = nil, resourceUID: String? = nil, accounts: [String]? = nil, since: Date? = nil
    ) {
        self.sources = sources
        self.findingClass = findingClass
        self.minimumSeverity = minimumSeverity
        self.statuses = statuses
        self.ruleID = ruleID
        self.resourceUID = resourceUID
        self.accounts = accounts
        self.since = since
    }
}

/// What saving a batch of security findings did.
public struct SecurityFindingSave: Sendable, Hashable, Codable {
    public var added: Int
    public var updated: Int
    /// Already stored as they are (or stored newer): left alone.
    public var unchanged: Int

    public init(added: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.added = added
        self.updated = updated
        self.unchanged = unchanged
    }
}

/// A rule that suppresses the findings it matches (every given part must hold; a resource ending
/// in `*` matches by prefix) for a stated reason until it expires — a risk accepted, not hidden.
public struct FindingSuppression: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var source: String?
    public var ruleID: String?
    public var resourceUID: String?
    public var account: String?
    public var reason: String
    public var expiresAt: Date
    public var createdBy: String
    public var createdAt: Date

    public init(
        id: Int64 = 0, source: String? = nil, ruleID: String? = nil, resourceUID: String? = nil, account: String? = nil, reason: String, expiresAt: Date,
        createdBy: String, createdAt: Date
    ) {
        self.id = id
        self.source = source
        self.ruleID = ruleID
        self.resourceUID = resourceUID
        self.account = account
        self.reason = reason
        self.expiresAt = expiresAt
        self.createdBy = createdBy
        self.createdAt = createdAt
    }

    /// A rule must narrow something: one that matches every finding would silence the hub.
    public var isEmpty: Bool { source == nil && ruleID == nil && resourceUID == nil && account == nil }

    public func isActive(at now: Date) -> Bool { expiresAt > now }

    public func matches(_ finding: SecurityFinding) -> Bool {
        if let source, source != finding.source { return false }
        if let ruleID, ruleID != finding.ruleID { return false }
        if let account, account != finding.account { return false }
        if let resourceUID {
            guard let uid = finding.resourceUID else { return false }
            if resourceUID.hasSuffix("*") { return uid.hasPrefix(resourceUID.dropLast()) }
            return uid == resourceUID
        }
        return true
    }
}

import Foundation

/// A finding's workflow state (OCSF `status_id`: 1 New, 2 In Progress, 3 Suppressed, 4 Resolved).
public enum FindingStatus: String, Sendable, Codable, CaseIterable {
    case new
    case inProgress = "in_progress"
    case suppressed
    case resolved

    public var ocsfID: Int {
        switch self {
        case .new: 1
        case .inProgress: 2
        case .suppressed: 3
        case .resolved: 4
        }
    }

    public var isOpen: Bool { self == .new || self == .inProgress }
}

/// One check failing on one resource: an OCSF Compliance Finding (class 2003). The uid is
/// derived from the check and the resource, so re-evaluation updates it in place.
public struct Finding: Sendable, Codable, Hashable, Identifiable {
    public var uid: String
    public var checkID: String
    public var title: String
    /// OCSF severity_id (1 informational … 5 critical).
    public var severityID: Int
    public var status: FindingStatus
    public var resourceUID: String
    public var resourceType: String
    public var resourceName: String
    public var account: String
    public var region: String
    /// The `App` tag of the resource, for cuts by application.
    public var application: String?
    public var firstSeen: Date
    public var lastSeen: Date
    public var resolvedAt: Date?
    /// How many times it came back after being resolved.
    public var reopenCount: Int
    public var lastScanID: Int64?
    /// Evidence: the content address of the resource state judged, and of the policy text.
    public var resourceVersion: String?
    public var policyHash: String
    /// `framework:requirement` pairs this check serves (one finding, every framework).
    public var requirements: [String]
    /// The waiver that suppresses it, while one is in force.
    public var waiverID: Int64?
    public var assignee: String?
    public var note: String?

    public var id: String { uid }

    public init(
        uid: String, checkID: String, title: String, severityID: Int, status: FindingStatus, resourceUID: String,
        resourceType: String, resourceName: String, account: String, region: String, application: String?,
        firstSeen: Date, lastSeen: Date, resolvedAt: Date? = nil, reopenCount: Int = 0, lastScanID: Int64?,
        resourceVersion: String?, policyHash: String, requirements: [String], waiverID: Int64? = nil,
        assignee: String? = nil, note: String? = nil
    ) {
        self.uid = uid
        self.checkID = checkID
        self.title = title
        self.severityID = severityID
        self.status = status
        self.resourceUID = resourceUID
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.account = account
        self.region = region
        self.application = application
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.resolvedAt = resolvedAt
        self.reopenCount = reopenCount
        self.lastScanID = lastScanID
        self.resourceVersion = resourceVersion
        self.policyHash = policyHash
        self.requirements = requirements
        self.waiverID = waiverID
        self.assignee = assignee
        self.note = note
    }
}

/// Pass/fail/waived counts of one check for one account and application in one evaluation: the
/// rows scores and trends are computed from.
public struct CheckResult: Sendable, Codable, Hashable {
    public var checkID: String
    public var account: String
    public var application: String
    public var passed: Int
    public var failed: Int
    public var waived: Int

    public init(checkID: String, account: String, application: String, passed: Int, failed: Int, waived: Int) {
        self.checkID = checkID
        self.account = account
        self.application = application
        self.passed = passed
        self.failed = failed
        self.waived = waived
    }
}

/// One run of the checks over the inventory.
public struct Evaluation: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var scanID: Int64?
    public var evaluatedAt: Date
    public var checks: Int
    public var opened: Int
    public var resolved: Int
    public var reopened: Int

    public init(id: Int64, scanID: Int64?, evaluatedAt: Date, checks: Int, opened: Int, resolved: Int, reopened: Int) {
        self.id = id
        self.scanID = scanID
        self.evaluatedAt = evaluatedAt
        self.checks = checks
        self.opened = opened
        self.resolved = resolved
        self.reopened = reopened
    }
}

/// A waiver (exception) for a check on the resources a selector picks: with a reason, who asked,
/// who approved, and an expiry after which the findings are active again.
public struct Waiver: Sendable, Codable, Hashable, Identifiable {
    public enum State: String, Sendable, Codable { case requested, approved, rejected, revoked }

    public var id: Int64
    public var checkID: String
    /// `*` (every resource), a resource uid, `account:<id>`, or `tag:Key=Value`.
    public var selector: String
    public var reason: String
    public var requestedBy: String
    public var approvedBy: String?
    public var state: State
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        id: Int64, checkID: String, selector: String, reason: String, requestedBy: String, approvedBy: String?,
        state: State, createdAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.checkID = checkID
        self.selector = selector
        self.reason = reason
        self.requestedBy = requestedBy
        self.approvedBy = approvedBy
        self.state = state
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public func isInForce(at date: Date) -> Bool { state == .approved && date < expiresAt }

    public func covers(checkID: String, resourceUID: String, account: String, tags: [String: String]) -> Bool {
        guard checkID == self.checkID else { return false }
        if selector == "*" { return true }
        if selector.hasPrefix("account:") { return account == selector.dropFirst("account:".count) }
        if selector.hasPrefix("tag:") {
            let pair = selector.dropFirst("tag:".count).split(separator: "=", maxSplits: 1).map(String.init)
            return pair.count == 2 && tags[pair[0]] == pair[1]
        }
        return resourceUID == selector
    }
}

/// A person's statement that a manual requirement is met (or not), with attached evidence.
public struct Attestation: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var frameworkID: String
    public var requirementID: String
    public var satisfied: Bool
    public var statement: String
    public var evidenceName: String?
    /// SHA-256 of the evidence file, so the report proves which document was attached.
    public var evidenceSHA256: String?
    public var attestedBy: String
    public var attestedAt: Date
    public var expiresAt: Date?

    public init(
        id: Int64, frameworkID: String, requirementID: String, satisfied: Bool, statement: String, evidenceName: String?,
        evidenceSHA256: String?, attestedBy: String, attestedAt: Date, expiresAt: Date?
    ) {
        self.id = id
        self.frameworkID = frameworkID
        self.requirementID = requirementID
        self.satisfied = satisfied
        self.statement = statement
        self.evidenceName = evidenceName
        self.evidenceSHA256 = evidenceSHA256
        self.attestedBy = attestedBy
        self.attestedAt = attestedAt
        self.expiresAt = expiresAt
    }
}

/// One entry of the append-only audit log; each carries the hash of the one before, so a
/// removed or edited entry breaks the chain.
public struct AuditEntry: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var at: Date
    public var actor: String
    /// Where the change came from: the client's network address, or `cli`.
    public var address: String
    public var action: String
    public var target: String
    public var details: JSONValue
    public var previousHash: String
    public var hash: String

    public init(
        id: Int64, at: Date, actor: String, address: String = "", action: String, target: String, details: JSONValue, previousHash: String,
        hash: String
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.address = address
        self.action = action
        self.target = target
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }
}

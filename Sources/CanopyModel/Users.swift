import Foundation

/// What a console or API user may do. Scoping by business unit applies to `buOwner`.
public enum Role: String, Sendable, Codable, CaseIterable {
    /// Everything, including users and tokens.
    case admin
    /// The Cloud Center of Excellence: every business unit, triage and exceptions.
    case ccoe
    /// A business unit's owner: only the accounts of their business units; may triage and
    /// request exceptions there.
    case buOwner = "bu-owner"
    /// Read-only, every business unit, plus evidence exports and the audit log.
    case auditor
    /// Read-only, every business unit.
    case viewer

    public var canTriage: Bool { self == .admin || self == .ccoe || self == .buOwner }
    public var canApproveExceptions: Bool { self == .admin || self == .ccoe }
    public var canReadAuditLog: Bool { self == .admin || self == .auditor }
    /// The activity lake: the CCoE, auditors and admins see all of it, a business-unit owner
    /// their own accounts' events; a viewer none.
    public var canReadActivity: Bool { self != .viewer }
    /// Whether the lake is intact is a question for those who answer for the whole trail.
    public var canVerifyActivity: Bool { self == .admin || self == .ccoe || self == .auditor }
    /// Read-only SQL over the lake views (everything in them, every account).
    public var canQueryLakeSQL: Bool { self == .admin || self == .auditor }
    public var canManageUsers: Bool { self == .admin }
    /// Defining business units and applications is the CCoE's job.
    public var canManageOwnership: Bool { self == .admin || self == .ccoe }
    /// Where Canopy sends its events is the CCoE's call too.
    public var canManageWebhooks: Bool { self == .admin || self == .ccoe }
    /// Issuing agent tokens and setting the patch baseline are the CCoE's too.
    public var canManageHosts: Bool { self == .admin || self == .ccoe }

    /// Whether someone with this role may issue an API token acting with `other`: only ever a
    /// role that sees and does no more (a CCoE engineer can hand a SIEM a viewer token; a
    /// business-unit owner cannot mint a viewer token, which would see every unit).
    public func canDelegate(to other: Role) -> Bool {
        switch self {
        case .admin: true
        case .ccoe: other == .ccoe || other == .viewer
        case .auditor: other == .auditor || other == .viewer
        case .buOwner: other == .buOwner
        case .viewer: other == .viewer
        }
    }
}

/// An API token as listed: never the token itself, which is shown once at creation.
public struct APIToken: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var name: String
    public var user: String
    /// The role it acts with (at most its user's).
    public var role: Role
    public var createdAt: Date?
    public var createdBy: String?
    public var expiresAt: Date

    public init(id: Int64, name: String, user: String, role: Role, createdAt: Date?, createdBy: String?, expiresAt: Date) {
        self.id = id
        self.name = name
        self.user = user
        self.role = role
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
    }
}

/// A person (or a service account) that signs in to the console or calls the API.
public struct User: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var name: String
    public var role: Role
    /// Business units (organizational unit names) a `bu-owner` may see.
    public var businessUnits: [String]
    /// bcrypt hash; never the password.
    public var passwordHash: String
    public var failedLogins: Int
    public var lockedUntil: Date?

    public init(
        id: Int64, name: String, role: Role, businessUnits: [String], passwordHash: String, failedLogins: Int = 0,
        lockedUntil: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.businessUnits = businessUnits
        self.passwordHash = passwordHash
        self.failedLogins = failedLogins
        self.lockedUntil = lockedUntil
    }
}

/// A signed-in browser session. Only the SHA-256 of its token is stored.
public struct Session: Sendable, Hashable {
    public var user: User
    public var csrfToken: String
    public var expiresAt: Date

    public init(user: User, csrfToken: String, expiresAt: Date) {
        self.user = user
        self.csrfToken = csrfToken
        self.expiresAt = expiresAt
    }
}

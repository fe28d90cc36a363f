import CanopyModel
import Foundation

/// Filters for listing current resources. Every field narrows; `nil` means any.
public struct ResourceQuery: Sendable, Hashable {
    public var types: [String]?
    public var accounts: [String]?
    public var regions: [String]?
    /// `key=value` pairs that must all match; a `nil` value only requires the key.
    public var tags: [String: String?]
    public var limit: Int?

    public init(
        types: [String]? = nil, accounts: [String]? = nil, regions: [String]? = nil,
        tags: [String: String?] = [:], limit: Int? = nil
    ) {
        self.types = types
        self.accounts = accounts
        self.regions = regions
        self.tags = tags
        self.limit = limit
    }
}

/// What a scan hands the store when it ends: which units it covered and what went wrong.
public struct ScanCompletion: Sendable {
    /// Units whose collection succeeded: only their resources can be judged removed.
    public var succeededUnits: [ScanUnit]
    public var errors: [ScanUnitError]
    public var throttledRetries: Int
    public var finishedAt: Date

    public init(succeededUnits: [ScanUnit], errors: [ScanUnitError], throttledRetries: Int, finishedAt: Date) {
        self.succeededUnits = succeededUnits
        self.errors = errors
        self.throttledRetries = throttledRetries
        self.finishedAt = finishedAt
    }
}

/// Resources found by one collector unit, staged until the scan completes.
public struct CollectedResources: Sendable, Codable {
    public var unit: ScanUnit
    public var resources: [Resource]

    public init(unit: ScanUnit, resources: [Resource]) {
        self.unit = unit
        self.resources = resources
    }
}

/// Scans and their snapshots. A scan's resources are staged while it runs and merged into the
/// current inventory in one transaction when it completes, so an interrupted scan never leaves
/// a half-merged inventory.
public protocol ScanRepository: Sendable {
    func startScan(scope: ScanScope, at date: Date) async throws -> Scan
    func stage(_ batch: CollectedResources, scanID: Int64) async throws
    /// Merges the staged resources, records the snapshot and the changes, and marks the scan complete.
    func completeScan(_ scanID: Int64, _ completion: ScanCompletion) async throws -> Scan
    /// Marks a scan that stopped early; its staged resources are discarded.
    func abandonScan(_ scanID: Int64, reason: String, at date: Date) async throws
    func scans(limit: Int) async throws -> [Scan]
    func scan(id: Int64) async throws -> Scan?
}

/// The current inventory, past snapshots and the changes between them.
public protocol ResourceRepository: Sendable {
    func resources(_ query: ResourceQuery) async throws -> [Resource]
    func resource(uid: String) async throws -> Resource?
    /// Every resource as it stood after the given scan.
    func snapshot(scanID: Int64) async throws -> [Resource]
    /// The same snapshot grouped by the collector unit that found each resource.
    func snapshotByUnit(scanID: Int64) async throws -> [CollectedResources]
    /// The changes a scan recorded against the inventory before it.
    func changes(scanID: Int64) async throws -> [ResourceChange]
    /// One resource's history, oldest first.
    func timeline(uid: String) async throws -> [ResourceChange]
    /// What differs between the snapshots of two scans.
    func diff(from older: Int64, to newer: Int64) async throws -> [ResourceChange]
    func countsByType() async throws -> [String: Int]
}

public protocol AccountRepository: Sendable {
    func upsert(_ accounts: [Account]) async throws
    func accounts() async throws -> [Account]
}

public protocol MetricRepository: Sendable {
    /// Adds points; a point already stored for the same time is replaced, so re-collecting is idempotent.
    func record(_ series: [MetricSeries]) async throws
    func series(resourceUID: String, metric: String) async throws -> MetricSeries?
    /// Every resource's series of one metric since `since` (for policy evaluation in bulk).
    func series(metric: String, since: Date) async throws -> [MetricSeries]
}

/// Everything Canopy stores, behind one value that SQLite and PostgreSQL both implement.
public typealias CanopyStore = ScanRepository & ResourceRepository & AccountRepository & MetricRepository & ComplianceRepository
    & AuditRepository & UserRepository & OwnershipRepository & WebhookRepository & CostRepository & CarbonRepository & LakeRepository
    & SecurityFindingRepository & DetectionRuleRepository & SecurityTriageRepository & LakeConsoleRepository & HostRepository

/// Errors a user can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case unknownScan(Int64)
    case scanNotRunning(Int64, ScanStatus)
    case unknownFinding(String)
    case unknownWaiver(Int64)
    case duplicateUser(String)
    case invalidOwnership(String)
    case invalidCarbonSettings(String)
    case unknownOwnership(String, String)
    case unknownUser(String)
    case unknownToken(Int64)
    case unknownWebhook(Int64)
    case unknownHostEnrollment(Int64)
    case hostBoundElsewhere(enrollment: Int64, boundTo: String, offered: String)
    case hostClaimedByAnotherEnrollment(hostID: String)
    case invalidPatchBaseline(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open database '\(path)': \(reason). Check that the directory exists and is writable, "
                + "or pass --database with another path."
        case .unknownScan(let id): "no scan with id \(id) (see `canopy scans`)"
        case .scanNotRunning(let id, let status): "scan \(id) is \(status.rawValue), not running"
        case .unknownFinding(let uid): "no finding with uid \(uid) (see `canopy findings`)"
        case .unknownWaiver(let id): "no exception with id \(id) (see `canopy exceptions list`)"
        case .duplicateUser(let name): "a user named '\(name)' exists already"
        case .invalidOwnership(let problem): problem
        case .invalidCarbonSettings(let problem): "carbon settings: \(problem)"
        case .unknownOwnership(let kind, let id): "no \(kind) with id '\(id)' (see `canopy org list`)"
        case .unknownUser(let name): "no user named '\(name)' (see `canopy user list`)"
        case .unknownToken(let id): "no API token with id \(id) (see `canopy token list`)"
        case .unknownWebhook(let id): "no webhook with id \(id)"
        case .unknownHostEnrollment(let id): "no host enrollment with id \(id) (see `canopy hosts enrollments`)"
        case .hostBoundElsewhere(let id, let bound, let offered):
            "enrollment \(id) belongs to host \(bound); an upload for host \(offered) is refused (enroll that host separately)"
        case .hostClaimedByAnotherEnrollment(let host): "host \(host) is already enrolled with another token; revoke that enrollment first"
        case .invalidPatchBaseline(let problem): "patch baseline: \(problem)"
        }
    }
}

/// Which findings to read.
public struct FindingQuery: Sendable, Hashable {
    public var uids: [String]?
    public var checkIDs: [String]?
    public var accounts: [String]?
    public var statuses: [FindingStatus]?
    public var minimumSeverityID: Int?
    public var resourceUID: String?
    public var application: String?
    public var limit: Int?

    public init(
        uids: [String]? = nil, checkIDs: [String]? = nil, accounts: [String]? = nil, statuses: [FindingStatus]? = nil,
        minimumSeverityID: Int? = nil, resourceUID: String? = nil, application: String? = nil, limit: Int? = nil
    ) {
        self.uids = uids
        self.checkIDs = checkIDs
        self.accounts = accounts
        self.statuses = statuses
        self.minimumSeverityID = minimumSeverityID
        self.resourceUID = resourceUID
        self.application = application
        self.limit = limit
    }
}

/// What one evaluation changed, recorded in one transaction.
public struct EvaluationRecord: Sendable {
    public var scanID: Int64?
    public var evaluatedAt: Date
    public var checks: Int
    /// New and updated findings (the evaluator has applied the lifecycle).
    public var findings: [Finding]
    public var results: [CheckResult]
    public var opened: Int
    public var resolved: Int
    public var reopened: Int

    public init(
        scanID: Int64?, evaluatedAt: Date, checks: Int, findings: [Finding], results: [CheckResult], opened: Int, resolved: Int,
        reopened: Int
    ) {
        self.scanID = scanID
        self.evaluatedAt = evaluatedAt
        self.checks = checks
        self.findings = findings
        self.results = results
        self.opened = opened
        self.resolved = resolved
        self.reopened = reopened
    }
}

/// Findings, evaluations, waivers and attestations. Every state change a person makes is written
/// to the audit log in the same transaction, under `actor`.
public protocol ComplianceRepository: Sendable {
    func findings(_ query: FindingQuery) async throws -> [Finding]
    func record(_ evaluation: EvaluationRecord) async throws -> Evaluation
    func evaluations(limit: Int) async throws -> [Evaluation]
    func checkResults(evaluationID: Int64) async throws -> [CheckResult]
    func triage(findingUID: String, status: FindingStatus?, assignee: String?, note: String?, actor: String, at: Date) async throws -> Finding
    /// Findings raised by something other than a compliance evaluation (a budget crossing): new
    /// ones are inserted and audited, known ones only seen again. Returns the new ones.
    func raise(_ findings: [Finding], actor: String) async throws -> [Finding]
    /// The stored resource state a finding's evidence points at.
    func resourceState(version: String) async throws -> JSONValue?

    /// Inserts (id 0) or updates a waiver.
    func save(_ waiver: Waiver, actor: String) async throws -> Waiver
    func waivers() async throws -> [Waiver]
    func save(_ attestation: Attestation, actor: String) async throws -> Attestation
    func attestations() async throws -> [Attestation]
}

/// Business units and applications. Every change is checked against `Ownership.problems()` and
/// audited; a change that changes nothing (an identical re-import) writes nothing.
public protocol OwnershipRepository: Sendable {
    func ownership() async throws -> Ownership
    /// Replaces every definition at once (an ownership file import).
    @discardableResult func replaceOwnership(_ ownership: Ownership, actor: String) async throws -> Bool
    /// Inserts or updates one unit (a new one goes last).
    @discardableResult func save(_ unit: BusinessUnit, actor: String) async throws -> Bool
    /// Inserts or updates one application (a new one goes last, so lowest priority).
    @discardableResult func save(_ application: Application, actor: String) async throws -> Bool
    @discardableResult func deleteBusinessUnit(id: String, actor: String) async throws -> Bool
    @discardableResult func deleteApplication(id: String, actor: String) async throws -> Bool
}

/// Webhook destinations. The address arrives sealed (`SecretBox`) and leaves sealed; the
/// store never sees it in plain text.
public protocol WebhookRepository: Sendable {
    func createWebhook(name: String, host: String, events: [WebhookEvent], minimumSeverityID: Int, sealedURL: String, actor: String) async throws -> Webhook
    func webhooks() async throws -> [Webhook]
    /// Every webhook with its sealed address, for delivery.
    func webhookTargets() async throws -> [(webhook: Webhook, sealedURL: String)]
    func deleteWebhook(id: Int64, actor: String) async throws
}

/// Where the change being made comes from, for the audit log: the server sets the client's
/// address for the length of each request; outside a request it is nil and entries say `cli`.
/// A task-local, so it follows the request through every repository call without widening each
/// signature.
public enum AuditContext {
    @TaskLocal public static var address: String?
}

/// The append-only, hash-chained audit log.
public protocol AuditRepository: Sendable {
    func appendAudit(actor: String, action: String, target: String, details: JSONValue, at: Date) async throws -> AuditEntry
    func auditLog(limit: Int) async throws -> [AuditEntry]
    /// The id of the first entry whose hash does not follow from the chain, or nil when intact.
    func firstBrokenAuditEntry() async throws -> Int64?
}

/// Users, sessions and API tokens. Secrets are stored only as hashes (bcrypt for passwords,
/// SHA-256 for random tokens); every change is audited under the acting user.
public protocol UserRepository: Sendable {
    func createUser(name: String, passwordHash: String, role: Role, businessUnits: [String], actor: String) async throws -> User
    func user(named name: String) async throws -> User?
    func users() async throws -> [User]
    /// Records a login attempt: a success clears the failure count; the `limit`-th failure in a
    /// row locks the account until `lockUntil`.
    func recordLogin(userID: Int64, succeeded: Bool, limit: Int, lockUntil: Date, from address: String, at: Date) async throws
    func createSession(userID: Int64, tokenHash: String, csrfToken: String, expiresAt: Date) async throws
    func session(tokenHash: String, at: Date) async throws -> Session?
    func deleteSession(tokenHash: String) async throws
    /// A token for `userID` acting with `role` (nil: the user's own).
    @discardableResult
    func createAPIToken(name: String, userID: Int64, role: Role?, tokenHash: String, expiresAt: Date, actor: String) async throws -> APIToken
    /// The user an unexpired API token acts as, with the token's role.
    func apiTokenUser(tokenHash: String, at: Date) async throws -> User?
    /// Tokens (of one user, or all when nil), never their secret.
    func apiTokens(user: String?) async throws -> [APIToken]
    func revokeAPIToken(id: Int64, actor: String) async throws
    /// The id of the token with this hash, if any.
    func apiTokenID(tokenHash: String) async throws -> Int64?
    /// Changes a user's role and units; their sessions end, so the change applies at once.
    func updateUser(name: String, role: Role, businessUnits: [String], actor: String) async throws -> User
}

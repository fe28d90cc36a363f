import Foundation

/// An account Canopy inventories: an AWS account, or later an on-prem site.
public struct Account: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var provider: Provider
    public var email: String?
    /// Organizational unit path or `accounts.yml` grouping, for business-unit mapping later.
    public var organizationalUnit: String?
    public var tags: [String: String]
    public var status: String?

    public init(
        id: String, name: String, provider: Provider = .aws, email: String? = nil,
        organizationalUnit: String? = nil, tags: [String: String] = [:], status: String? = nil
    ) {
        self.id = id
        self.name = name
        self.provider = provider
        self.email = email
        self.organizationalUnit = organizationalUnit
        self.tags = tags
        self.status = status
    }
}

/// The smallest piece of a scan that succeeds or fails on its own: one service in one
/// account and region (`123456789012/us-east-1/ec2`).
public struct ScanUnit: Sendable, Hashable, Codable, CustomStringConvertible {
    public var account: String
    public var region: String
    public var service: String

    public init(account: String, region: String, service: String) {
        self.account = account
        self.region = region
        self.service = service
    }

    public var description: String { "\(account)/\(region)/\(service)" }
}

/// A unit that could not be collected, and why, so a scan's summary says exactly what was missed.
public struct ScanUnitError: Sendable, Hashable, Codable {
    public var unit: ScanUnit
    /// The AWS error code (`AccessDenied`, `Throttling`) or Canopy's own (`Timeout`, `ConnectionFailed`).
    public var code: String
    public var message: String

    public init(unit: ScanUnit, code: String, message: String) {
        self.unit = unit
        self.code = code
        self.message = message
    }
}

public enum ScanStatus: String, Sendable, Codable {
    /// Under way, or interrupted before it finished: its resources were never merged.
    case running
    /// Every unit was attempted; some may have failed (see `errors`).
    case complete
    /// Stopped before every unit was attempted (Ctrl-C, kill, fatal error).
    case incomplete
}

/// One run of the collectors over a scope of accounts, regions and services.
public struct Scan: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var startedAt: Date
    public var finishedAt: Date?
    public var status: ScanStatus
    /// What was asked for: accounts, regions, services, as a user would read it.
    public var scope: ScanScope
    public var unitsTotal: Int
    public var unitsFailed: Int
    public var resourceCount: Int
    public var throttledRetries: Int
    public var errors: [ScanUnitError]

    public init(
        id: Int64, startedAt: Date, finishedAt: Date? = nil, status: ScanStatus, scope: ScanScope,
        unitsTotal: Int = 0, unitsFailed: Int = 0, resourceCount: Int = 0, throttledRetries: Int = 0,
        errors: [ScanUnitError] = []
    ) {
        self.id = id
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.scope = scope
        self.unitsTotal = unitsTotal
        self.unitsFailed = unitsFailed
        self.resourceCount = resourceCount
        self.throttledRetries = throttledRetries
        self.errors = errors
    }
}

public struct ScanScope: Sendable, Hashable, Codable {
    public var accounts: [String]
    public var regions: [String]
    public var services: [String]
    public var source: String

    public init(accounts: [String], regions: [String], services: [String], source: String) {
        self.accounts = accounts
        self.regions = regions
        self.services = services
        self.source = source
    }
}

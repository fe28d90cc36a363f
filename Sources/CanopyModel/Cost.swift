import Foundation

/// One row of the cost ledger, in FOCUS terms (FinOps Open Cost and Usage Specification 1.2,
/// with 1.3's `ServiceProviderName` and `HostProviderName`). The columns every view groups or
/// sums by are typed; the rest of the row's FOCUS and `x_` columns travel in `columns`, so an
/// export gives back what was imported. Money is `Decimal`, never binary floating point.
public struct CostRecord: Sendable, Hashable {
    public var billingPeriodStart: Date
    public var billingPeriodEnd: Date
    public var chargePeriodStart: Date
    public var chargePeriodEnd: Date
    /// `ServiceProviderName` (1.3) or `ProviderName` (1.0–1.2): who sold the service.
    public var provider: String
    /// `HostProviderName` (1.3): whose infrastructure runs it (the provider when not given).
    public var hostProvider: String?
    public var billingAccountID: String
    public var billingAccountName: String?
    public var subAccountID: String?
    public var subAccountName: String?
    public var billingCurrency: String
    public var billedCost: Decimal
    public var effectiveCost: Decimal
    public var listCost: Decimal
    public var contractedCost: Decimal
    public var chargeCategory: String
    public var chargeClass: String?
    public var chargeFrequency: String?
    public var serviceName: String?
    public var serviceCategory: String?
    public var regionID: String?
    public var resourceID: String?
    public var resourceType: String?
    public var skuID: String?
    public var consumedQuantity: Decimal?
    public var consumedUnit: String?
    public var commitmentDiscountID: String?
    public var commitmentDiscountStatus: String?
    public var tags: [String: String]
    /// Every other column of the row by its FOCUS (or `x_`) name, as text.
    public var columns: CostColumns

    public init(
        billingPeriodStart: Date, billingPeriodEnd: Date, chargePeriodStart: Date, chargePeriodEnd: Date, provider: String,
        hostProvider: String? = nil, billingAccountID: String, billingAccountName: String? = nil, subAccountID: String? = nil,
        subAccountName: String? = nil, billingCurrency: String, billedCost: Decimal, effectiveCost: Decimal, listCost: Decimal,
        contractedCost: Decimal, chargeCategory: String, chargeClass: String? = nil, chargeFrequency: String? = nil, serviceName: String? = nil,
        serviceCategory: String? = nil, regionID: String? = nil, resourceID: String? = nil, resourceType: String? = nil, skuID: String? = nil,
        consumedQuantity: Decimal? = nil, consumedUnit: String? = nil, commitmentDiscountID: String? = nil,
        commitmentDiscountStatus: String? = nil, tags: [String: String] = [:], columns: CostColumns = [:]
    ) {
        self.billingPeriodStart = billingPeriodStart
        self.billingPeriodEnd = billingPeriodEnd
        self.chargePeriodStart = chargePeriodStart
        self.chargePeriodEnd = chargePeriodEnd
        self.provider = provider
        self.hostProvider = hostProvider
        self.billingAccountID = billingAccountID
        self.billingAccountName = billingAccountName
        self.subAccountID = subAccountID
        self.subAccountName = subAccountName
        self.billingCurrency = billingCurrency
        self.billedCost = billedCost
        self.effectiveCost = effectiveCost
        self.listCost = listCost
        self.contractedCost = contractedCost
        self.chargeCategory = chargeCategory
        self.chargeClass = chargeClass
        self.chargeFrequency = chargeFrequency
        self.serviceName = serviceName
        self.serviceCategory = serviceCategory
        self.regionID = regionID
        self.resourceID = resourceID
        self.resourceType = resourceType
        self.skuID = skuID
        self.consumedQuantity = consumedQuantity
        self.consumedUnit = consumedUnit
        self.commitmentDiscountID = commitmentDiscountID
        self.commitmentDiscountStatus = commitmentDiscountStatus
        self.tags = tags
        self.columns = columns
    }
}

extension CostRecord {
    /// The row as the resource it charges for, so ownership selectors (tags, account, type,
    /// region) attribute cost exactly as they attribute inventory.
    public var asResource: Resource {
        Resource(
            uid: resourceID ?? "", provider: .aws, account: subAccountID ?? "", region: regionID ?? "", type: resourceType ?? "",
            name: columns["ResourceName"] ?? "", tags: tags, properties: .object([:]), observedAt: chargePeriodStart)
    }
}

/// Rows handed to the store one at a time (a file being read), so an import of any size runs in
/// constant memory inside one transaction. An error stops the import and nothing is kept.
public protocol CostRowSource {
    mutating func next() throws -> CostRecord?
    /// The SHA-256 (hex) of what the rows were read from, once `next()` has returned nil; nil
    /// when the source does not know it.
    var sha256: String? { get }
}

extension CostRowSource {
    public var sha256: String? { nil }
}

/// What an import file is, as detected from its header.
public enum CostFormat: String, Sendable, Codable, CaseIterable {
    case focus10 = "focus-1.0"
    case focus11 = "focus-1.1"
    case focus12 = "focus-1.2"
    case focus13 = "focus-1.3"
    case awsCUR = "aws-cur"
    case awsCUR2 = "aws-cur-2.0"
    case azureEA = "azure-ea"
    case oci = "oci"
}

/// One import as recorded: which file (by content), what it held, and which billing periods of
/// which providers it replaced.
public struct CostImport: Sendable, Codable, Hashable, Identifiable {
    public var id: Int64
    public var file: String
    public var sha256: String
    public var format: CostFormat
    public var rows: Int
    /// `YYYY-MM provider` pairs the import replaced.
    public var periods: [String]
    public var billedTotal: Decimal
    public var importedAt: Date
    public var actor: String

    public init(
        id: Int64, file: String, sha256: String, format: CostFormat, rows: Int, periods: [String], billedTotal: Decimal, importedAt: Date,
        actor: String
    ) {
        self.id = id
        self.file = file
        self.sha256 = sha256
        self.format = format
        self.rows = rows
        self.periods = periods
        self.billedTotal = billedTotal
        self.importedAt = importedAt
        self.actor = actor
    }
}

/// A monthly budget for a business unit, an application or an account, with the shares of it
/// (in percent) whose crossing raises a finding: on what has been spent, and on the forecast.
public struct Budget: Sendable, Codable, Hashable, Identifiable {
    public enum Scope: String, Sendable, Codable, CaseIterable {
        case businessUnit = "business-unit"
        case application, account
    }

    public var id: String
    public var name: String
    public var scope: Scope
    /// The unit, application or account id.
    public var target: String
    public var amount: Decimal
    public var currency: String
    public var thresholds: [Int]

    public init(id: String, name: String, scope: Scope, target: String, amount: Decimal, currency: String = "USD", thresholds: [Int] = [50, 80, 100]) {
        self.id = id
        self.name = name
        self.scope = scope
        self.target = target
        self.amount = amount
        self.currency = currency
        self.thresholds = thresholds
    }
}

import CanopyModel
import CanopyStore
import Foundation

/// Writes the ledger back out as a FOCUS 1.0 CSV: every row with the FOCUS 1.0 columns, the
/// source's own `x_` columns, and Canopy's allocation as `x_` columns (business unit,
/// application, shared-cost split, one column per cost category, the rule version), so another
/// FOCUS tool sees what Canopy decided. Values outside a FOCUS 1.0 enumeration (a provider's own
/// service category, say) are written as the spec's catch-all (`Other`) or left empty where the
/// column is nullable; money keeps every decimal place it was imported with.
public struct FocusExport: Sendable {
    public static let version = "1.0"

    /// FOCUS 1.0 columns, in the specification's order (alphabetical).
    public static let columns = [
        "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
        "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
        "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
        "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost",
        "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName",
        "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName",
        "Tags",
    ]

    static let enumerations: [String: Set<String>] = [
        "ChargeClass": ["Correction"],
        "ChargeFrequency": ["One-Time", "Recurring", "Usage-Based"],
        "CommitmentDiscountCategory": ["Spend", "Usage"],
        "CommitmentDiscountStatus": ["Used", "Unused"],
        "PricingCategory": ["Standard", "Dynamic", "Committed", "Other"],
        "ServiceCategory": serviceCategories,
    ]

    /// FOCUS 1.0's service categories.
    public static let serviceCategories: Set<String> = [
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools", "Multicloud", "Identity",
        "Integration", "Internet of Things", "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security", "Storage",
        "Web", "Other",
    ]

    public struct Summary: Sendable {
        public var rows: Int
        public var billedTotal: [String: Decimal]
        public var columns: [String]
    }

    let store: any CanopyStore
    let allocator: CostAllocator
    let allocationVersion: Int?

    public init(store: any CanopyStore) async throws {
        self.store = store
        self.allocator = try await CostAllocator.current(store: store)
        self.allocationVersion = try await store.currentAllocation()?.version
    }

    /// Writes the billing periods (`YYYY-MM`; all when nil) to `output`, row by row in constant
    /// memory: one pass for the header (which extension columns exist), one to write.
    public func write(months: [String]? = nil, to output: URL) async throws -> Summary {
        var periods = try await store.costPeriods()
        if let months { periods = periods.filter(months.contains) }
        let extensions = Collected()
        for period in periods {
            try await store.eachCostRow(period: period) { row in extensions.add(row.columns.keys.filter { $0.hasPrefix("x_") }) }
        }
        let categoryColumns = allocator.rules.categories.map { ($0.name, "x_CostCategory" + $0.name.filter { $0.isLetter || $0.isNumber }) }
        let sortedExtensions = extensions.keys.sorted()
        let header = Self.columns + sortedExtensions + ["x_BusinessUnit", "x_Application", "x_SharedCost"] + categoryColumns.map(\.1) + ["x_AllocationVersion"]
        FileManager.default.createFile(atPath: output.path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: output.path) else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: output.path]) }
        defer { try? handle.close() }
        let writer = RowWriter(handle: handle, allocator: allocator)
        try writer.line(header)
        let version = allocationVersion.map(String.init) ?? ""
        for period in periods {
            try await store.eachCostRow(period: period) { row in
                let placement = writer.placement(row)
                var values = Self.focusValues(row)
                values += sortedExtensions.map { row.columns[$0] ?? "" }
                values += [placement.unit ?? "", placement.application ?? "", placement.shared?.name ?? ""]
                values += categoryColumns.map { placement.categories[$0.0] ?? "" }
                values.append(version)
                try writer.line(values)
                writer.count(row)
            }
        }
        try writer.flush()
        return Summary(rows: writer.rows, billedTotal: writer.billedTotal, columns: header)
    }

    /// Extension column names seen in the first pass.
    final class Collected: @unchecked Sendable {
        var keys: Set<String> = []
        func add(_ names: some Sequence<String>) { keys.formUnion(names) }
    }

    /// The output and what has been written. Used from one read at a time, so its state needs no
    /// lock; the store calls back synchronously within each `eachCostRow`.
    final class RowWriter: @unchecked Sendable {
        let handle: FileHandle
        var buffer = ""
        var rows = 0
        var billedTotal: [String: Decimal] = [:]
        var placements: CostAllocator.Placements

        init(handle: FileHandle, allocator: CostAllocator) {
            self.handle = handle
            self.placements = CostAllocator.Placements(allocator)
        }

        func placement(_ row: CostRecord) -> CostAllocator.Placement { placements(row.attributes) }

        func line(_ values: [String]) throws {
            buffer += values.map { CSVText.field($0) }.joined(separator: ",") + "\n"
            if buffer.utf8.count > 1 << 20 { try flush() }
        }

        func count(_ row: CostRecord) {
            rows += 1
            billedTotal[row.billingCurrency, default: 0] += row.billedCost
        }

        func flush() throws {
            try handle.write(contentsOf: Data(buffer.utf8))
            buffer = ""
        }
    }

    /// The FOCUS 1.0 columns of one row, in `columns` order.
    static func focusValues(_ row: CostRecord) -> [String] {
        func decimal(_ value: Decimal?) -> String { value.map { NSDecimalNumber(decimal: $0).stringValue } ?? "" }
        func time(_ date: Date) -> String { Timestamps.iso8601(date).replacingOccurrences(of: ".000Z", with: "Z") }
        func allowed(_ column: String, _ value: String?, otherwise: String = "") -> String {
            guard let value, !value.isEmpty else { return otherwise }
            return enumerations[column]?.contains(value) == true ? value : otherwise
        }
        let c = row.columns
        let frequency = allowed("ChargeFrequency", row.chargeFrequency)
        let tags = CanopyJSON.object(row.tags)
        return [
            c["AvailabilityZone"] ?? "", decimal(row.billedCost), row.billingAccountID, row.billingAccountName ?? "", row.billingCurrency,
            time(row.billingPeriodEnd), time(row.billingPeriodStart), row.chargeCategory, allowed("ChargeClass", row.chargeClass),
            c["ChargeDescription"] ?? "",
            // A frequency outside 1.0's three: what the charge category implies.
            frequency.isEmpty ? (row.chargeCategory == "Usage" ? "Usage-Based" : row.chargeCategory == "Purchase" ? "One-Time" : "Recurring") : frequency,
            time(row.chargePeriodEnd), time(row.chargePeriodStart), allowed("CommitmentDiscountCategory", c["CommitmentDiscountCategory"]),
            row.commitmentDiscountID ?? "", c["CommitmentDiscountName"] ?? "", allowed("CommitmentDiscountStatus", row.commitmentDiscountStatus),
            c["CommitmentDiscountType"] ?? "", decimal(row.consumedQuantity), row.consumedUnit ?? "", decimal(row.contractedCost),
            c["ContractedUnitPrice"] ?? "", decimal(row.effectiveCost), c["InvoiceIssuerName"] ?? row.provider, decimal(row.listCost),
            c["ListUnitPrice"] ?? "", allowed("PricingCategory", c["PricingCategory"]), c["PricingQuantity"] ?? "", c["PricingUnit"] ?? "",
            row.provider, c["PublisherName"] ?? row.provider, row.regionID ?? "", c["RegionName"] ?? "", row.resourceID ?? "", c["ResourceName"] ?? "",
            row.resourceType ?? "", allowed("ServiceCategory", row.serviceCategory, otherwise: "Other"), row.serviceName ?? "", row.skuID ?? "",
            c["SkuPriceId"] ?? "", row.subAccountID ?? "", row.subAccountName ?? "", tags,
        ]
    }

}

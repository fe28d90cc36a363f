import CanopyModel
import Foundation

/// FOCUS files: the typed columns by name; every other column kept as it came.
enum FOCUSMapping {
    /// The columns a ledger row types; each file's positions for them are found once (`Columns`).
    enum Typed: Int, CaseIterable {
        case billingPeriodStart, billingPeriodEnd, chargePeriodStart, chargePeriodEnd, providerName, serviceProviderName, hostProviderName
        case billingAccountID, billingAccountName, subAccountID, subAccountName, billingCurrency, billedCost, effectiveCost, listCost
        case contractedCost, chargeCategory, chargeClass, chargeFrequency, serviceName, serviceCategory, regionID, resourceID, resourceType
        case skuID, consumedQuantity, consumedUnit, commitmentDiscountID, commitmentDiscountStatus, tags

        /// The FOCUS column name.
        var name: String { Self.names[rawValue] }

        private static let names = [
            "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "ServiceProviderName", "HostProviderName",
            "BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName", "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost",
            "ContractedCost", "ChargeCategory", "ChargeClass", "ChargeFrequency", "ServiceName", "ServiceCategory", "RegionId", "ResourceId",
            "ResourceType", "SkuId", "ConsumedQuantity", "ConsumedUnit", "CommitmentDiscountId", "CommitmentDiscountStatus", "Tags",
        ]
    }

    /// Where a file's header has each typed column, and its other columns: looked up once per
    /// file, not by name on every row.
    struct Columns {
        private let typed: [Row.Column]
        let others: [Row.Column]
        /// The others' names, shared by every row of the file.
        let otherNames: CostColumns.Names

        init(header: [String], resolve: (String) -> Int?) {
            typed = Typed.allCases.map { Row.Column(position: resolve($0.name), name: $0.name) }
            // A name the header repeats is read from its first column, as every lookup by name is.
            var seen = Set(Typed.allCases.map(\.name))
            others = header.enumerated().filter { seen.insert($0.element).inserted }.map { Row.Column(position: $0.offset, name: $0.element) }
            otherNames = CostColumns.Names(others.map(\.name))
        }

        subscript(_ column: Typed) -> Row.Column { typed[column.rawValue] }
    }

    static func record(_ row: Row, columns c: Columns) throws -> CostRecord {
        var values: [String?] = []
        values.reserveCapacity(c.others.count)
        for column in c.others { values.append(row.text(column)) }
        let columns = CostColumns(names: c.otherNames, values: values)
        // 1.3 names who sold the service and whose infrastructure ran it; before, ProviderName was both.
        guard let provider = row.text(c[.serviceProviderName]) ?? row.text(c[.providerName]) else {
            throw row.fail("ProviderName", "is empty; it is required")
        }
        return CostRecord(
            billingPeriodStart: try row.requiredDate(c[.billingPeriodStart]), billingPeriodEnd: try row.requiredDate(c[.billingPeriodEnd]),
            chargePeriodStart: try row.requiredDate(c[.chargePeriodStart]), chargePeriodEnd: try row.requiredDate(c[.chargePeriodEnd]),
            provider: provider, hostProvider: row.text(c[.hostProviderName]), billingAccountID: try row.required(c[.billingAccountID]),
            billingAccountName: row.text(c[.billingAccountName]), subAccountID: row.text(c[.subAccountID]), subAccountName: row.text(c[.subAccountName]),
            billingCurrency: try row.required(c[.billingCurrency]), billedCost: try row.decimal(c[.billedCost]) ?? 0,
            effectiveCost: try row.decimal(c[.effectiveCost]) ?? 0, listCost: try row.decimal(c[.listCost]) ?? 0,
            contractedCost: try row.decimal(c[.contractedCost]) ?? 0, chargeCategory: try row.required(c[.chargeCategory]),
            chargeClass: row.text(c[.chargeClass]), chargeFrequency: row.text(c[.chargeFrequency]), serviceName: row.text(c[.serviceName]),
            serviceCategory: row.text(c[.serviceCategory]), regionID: row.text(c[.regionID]), resourceID: row.text(c[.resourceID]),
            resourceType: row.text(c[.resourceType]), skuID: row.text(c[.skuID]), consumedQuantity: try row.decimal(c[.consumedQuantity]),
            consumedUnit: row.text(c[.consumedUnit]), commitmentDiscountID: row.text(c[.commitmentDiscountID]),
            commitmentDiscountStatus: row.text(c[.commitmentDiscountStatus]), tags: try row.tags(c[.tags]), columns: columns)
    }
}

/// AWS Cost and Usage Reports to FOCUS, following the FinOps Foundation's conversion rules
/// (`focus_converters`, `cur-to-focus-conversion-rules.csv`), column by column. Legacy CUR and
/// CUR 2.0 differ only in their column names.
enum CURMapping {
    /// Column names of one CUR generation, by their legacy spelling.
    struct Names: Sendable {
        let name: @Sendable (String) -> String
        static let legacy = Names { $0 }
        /// `lineItem/UnblendedCost` → `line_item_unblended_cost`.
        static let v2 = Names { legacy in
            let parts = legacy.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return legacy }
            func snake(_ text: String) -> String {
                var out = ""
                for (i, ch) in text.enumerated() {
                    if ch.isUppercase, i > 0 { out += "_" }
                    out += ch.lowercased()
                }
                return out
            }
            return snake(parts[0]) + "_" + snake(parts[1])
        }
    }

    static let chargeCategory: [String: String] = [
        "Tax": "Tax", "Fee": "Purchase", "SavingsPlanUpfrontFee": "Purchase", "RIFee": "Purchase", "SavingsPlanRecurringFee": "Purchase",
        "Usage": "Usage", "SavingsPlanCoveredUsage": "Usage", "SavingsPlanNegation": "Usage", "DiscountedUsage": "Usage", "BundledDiscount": "Usage",
        "Discount": "Usage", "PrivateRateDiscount": "Usage", "EdpDiscount": "Usage", "Credit": "Adjustment", "Refund": "Adjustment",
    ]

    static let pricingCategory: [String: String] = [
        "On-Demand": "Standard", "Reserved Instances": "Committed", "Spot Instances": "Dynamic", "Dedicated Hosts": "Standard",
    ]

    /// FOCUS service categories of common AWS product codes (the reference converter's lookup
    /// file is not public data here; anything else is `Other`).
    static let serviceCategory: [String: String] = [
        "AmazonEC2": "Compute", "AWSLambda": "Compute", "AmazonECS": "Compute", "AmazonEKS": "Compute", "AWSFargate": "Compute",
        "AmazonS3": "Storage", "AmazonEFS": "Storage", "AmazonGlacier": "Storage", "AWSBackup": "Storage", "AmazonFSx": "Storage",
        "AmazonRDS": "Databases", "AmazonDynamoDB": "Databases", "AmazonElastiCache": "Databases", "AmazonRedshift": "Databases",
        "AmazonDocDB": "Databases", "AmazonVPC": "Networking", "AmazonCloudFront": "Networking", "AmazonRoute53": "Networking",
        "AWSELB": "Networking", "AWSDataTransfer": "Networking", "AmazonApiGateway": "Networking", "AmazonSNS": "Integration",
        "AWSQueueService": "Integration", "AmazonSQS": "Integration", "AWSEvents": "Integration", "AmazonKinesis": "Analytics",
        "AmazonAthena": "Analytics", "AWSGlue": "Analytics", "AmazonCloudWatch": "Management and Governance", "AWSConfig": "Management and Governance",
        "AWSCloudTrail": "Management and Governance", "AWSSystemsManager": "Management and Governance", "awskms": "Security",
        "AWSSecretsManager": "Security", "AmazonGuardDuty": "Security", "AWSSecurityHub": "Security", "AmazonInspector": "Security",
        "AWSCertificateManager": "Security", "AmazonSageMaker": "AI and Machine Learning", "AmazonBedrock": "AI and Machine Learning",
        "AWSIoT": "Internet of Things", "AWSIoTAnalytics": "Internet of Things", "AWSIoTSiteWise": "Internet of Things", "AmazonStates": "Integration",
        "AWSCloudShell": "Developer Tools", "AWSMigrationHubRefactorSpaces": "Migration", "AWSDatabaseMigrationSvc": "Migration",
    ]

    static func record(_ row: Row, names: Names, header: [String]) throws -> CostRecord {
        func text(_ legacy: String) -> String? { row.text(names.name(legacy)) }
        func decimal(_ legacy: String) throws -> Decimal? { try row.decimal(names.name(legacy)) }
        func date(_ legacy: String) throws -> Date { try row.requiredDate(names.name(legacy)) }
        let type = text("lineItem/LineItemType") ?? ""
        let unblended = try decimal("lineItem/UnblendedCost") ?? 0
        let billed = try decimal("lineItem/NetUnblendedCost") ?? unblended
        let savingsPlan = text("savingsPlan/SavingsPlanARN")
        let reservation = text("reservation/ReservationARN")
        // EffectiveCost: amortised commitments, per the conversion rules' CASE.
        let effective: Decimal
        switch type {
        case "SavingsPlanCoveredUsage": effective = try decimal("savingsPlan/SavingsPlanEffectiveCost") ?? 0
        case "SavingsPlanRecurringFee":
            effective = (try decimal("savingsPlan/TotalCommitmentToDate") ?? 0) - (try decimal("savingsPlan/UsedCommitment") ?? 0)
        case "SavingsPlanNegation", "SavingsPlanUpfrontFee": effective = 0
        case "DiscountedUsage": effective = try decimal("reservation/EffectiveCost") ?? 0
        case "RIFee":
            effective = (try decimal("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod") ?? 0) + (try decimal("reservation/UnusedRecurringFee") ?? 0)
        case "Fee" where reservation != nil: effective = 0
        default: effective = unblended
        }
        let usage = try decimal("lineItem/UsageAmount")
        let list: Decimal
        if let rate = try decimal("pricing/publicOnDemandRate") { list = rate * (usage ?? 0) } else { list = try decimal("pricing/publicOnDemandCost") ?? 0 }
        let frequency: String? = ["Refund": "One-Time", "Purchase": "One-Time", "Anniversary": "Recurring"][text("bill/BillType") ?? ""]
        let resourceID = text("lineItem/ResourceId")
        let arnParts = resourceID?.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // Legacy CUR: one `resourceTags/user:Key` column per tag; CUR 2.0: a `resource_tags` map.
        var tags: [String: String] = [:]
        for name in header where name.hasPrefix("resourceTags/") {
            if let value = row.text(name) { tags[String(name.dropFirst("resourceTags/".count)).replacingOccurrences(of: "user:", with: "")] = value }
        }
        if header.contains("resource_tags") {
            for (key, value) in try row.tags("resource_tags") { tags[key.replacingOccurrences(of: "user_", with: "")] = value }
        }
        var columns: [String: String] = [:]
        columns["InvoiceIssuerName"] = text("bill/InvoicingEntity")
        columns["PublisherName"] = text("lineItem/LegalEntity")
        columns["ChargeDescription"] = text("lineItem/LineItemDescription")
        columns["PricingCategory"] = text("product/PurchaseOption").flatMap { pricingCategory[$0] }
        columns["PricingUnit"] = text("pricing/unit")
        columns["PricingQuantity"] = text("reservation/TotalReservedUnits") ?? text("lineItem/UsageAmount")
        columns["ListUnitPrice"] = text("pricing/publicOnDemandRate")
        columns["SkuPriceId"] = text("pricing/RateCode") ?? text("pricing/RateId")
        columns["AvailabilityZone"] = text("lineItem/AvailabilityZone")
        columns["InvoiceId"] = text("bill/InvoiceId")
        columns["ResourceName"] = arnParts.flatMap { $0.count > 6 ? $0[6] : nil }
        columns["CommitmentDiscountCategory"] = savingsPlan != nil ? "Spend" : reservation != nil ? "Usage" : nil
        columns["CommitmentDiscountType"] = savingsPlan != nil ? "Savings Plan" : reservation != nil ? "Reserved Instances (RI)" : nil
        columns["x_UsageType"] = text("lineItem/UsageType")
        columns["x_Operation"] = text("lineItem/Operation")
        let productCode = text("lineItem/ProductCode")
        return CostRecord(
            billingPeriodStart: try date("bill/BillingPeriodStartDate"), billingPeriodEnd: try date("bill/BillingPeriodEndDate"),
            chargePeriodStart: try date("lineItem/UsageStartDate"), chargePeriodEnd: try date("lineItem/UsageEndDate"), provider: "AWS",
            hostProvider: "AWS", billingAccountID: try row.required(names.name("bill/PayerAccountId")), subAccountID: text("lineItem/UsageAccountId"),
            billingCurrency: try row.required(names.name("lineItem/CurrencyCode")), billedCost: billed, effectiveCost: effective, listCost: list,
            contractedCost: billed, chargeCategory: chargeCategory[type] ?? "Usage", chargeFrequency: frequency ?? (type == "Usage" ? "Usage-Based" : nil),
            serviceName: productCode, serviceCategory: productCode.map { serviceCategory[$0] ?? "Other" },
            regionID: text("product/region") ?? text("product/regionCode"), resourceID: resourceID,
            resourceType: arnParts.flatMap { $0.count > 5 ? $0[5].split(separator: "/").first.map(String.init) : nil },
            skuID: text("product/sku"), consumedQuantity: usage, consumedUnit: text("pricing/unit"), commitmentDiscountID: savingsPlan ?? reservation,
            tags: tags, columns: CostColumns(columns))
    }
}

/// Azure Enterprise Agreement usage details to FOCUS (Microsoft's own FOCUS mapping, for the
/// columns an EA export has). EA gives actual cost: billed and effective are the same.
enum AzureMapping {
    static func record(_ row: Row, header: [String]) throws -> CostRecord {
        let cost = try row.decimal("CostInBillingCurrency") ?? 0
        let quantity = try row.decimal("Quantity")
        let day = try row.requiredDate("Date")
        let periodStart = try row.requiredDate("BillingPeriodStartDate")
        // EA's period end is the last day, inclusive; FOCUS ends are exclusive.
        let periodEnd = try row.date("BillingPeriodEndDate").map { $0.addingTimeInterval(86_400) } ?? CostCalendar.monthBounds(periodStart).1
        let list = try row.decimal("PayGPrice").map { $0 * (quantity ?? 0) } ?? cost
        let contracted = try row.decimal("UnitPrice").map { $0 * (quantity ?? 0) } ?? cost
        let category = ["Usage": "Usage", "Purchase": "Purchase", "Refund": "Adjustment", "Tax": "Tax"][row.text("ChargeType") ?? "Usage"] ?? "Usage"
        let frequency = ["UsageBased": "Usage-Based", "OneTime": "One-Time", "Recurring": "Recurring"][row.text("Frequency") ?? ""]
        var columns: [String: String] = [:]
        columns["ResourceName"] = row.text("ResourceName")
        columns["PublisherName"] = row.text("PublisherName")
        columns["PricingUnit"] = row.text("UnitOfMeasure")
        columns["ChargeDescription"] = row.text("MeterName")
        columns["CommitmentDiscountName"] = row.text("ReservationName")
        columns["x_ResourceGroup"] = row.text("ResourceGroup")
        columns["x_CostCenter"] = row.text("CostCenter")
        columns["x_MeterSubCategory"] = row.text("MeterSubCategory")
        return CostRecord(
            billingPeriodStart: periodStart, billingPeriodEnd: periodEnd, chargePeriodStart: day, chargePeriodEnd: day.addingTimeInterval(86_400),
            provider: "Microsoft", hostProvider: "Microsoft", billingAccountID: try row.required("BillingAccountId"),
            billingAccountName: row.text("BillingAccountName"), subAccountID: row.text("SubscriptionId"), subAccountName: row.text("SubscriptionName"),
            billingCurrency: try row.text("BillingCurrencyCode") ?? row.required("BillingCurrency"), billedCost: cost, effectiveCost: cost,
            listCost: list, contractedCost: contracted, chargeCategory: category, chargeFrequency: frequency,
            serviceName: row.text("MeterCategory") ?? row.text("ConsumedService"), serviceCategory: nil, regionID: row.text("ResourceLocation"),
            resourceID: row.text("ResourceId"), resourceType: row.text("ConsumedService"), skuID: row.text("PartNumber") ?? row.text("MeterId"),
            consumedQuantity: quantity, consumedUnit: row.text("UnitOfMeasure"), commitmentDiscountID: row.text("ReservationId"),
            tags: try row.tags("Tags"), columns: CostColumns(columns))
    }
}

/// OCI cost reports to FOCUS. OCI reports carry no billing period: the calendar month of the
/// charge is used. `lineItem/isCorrection` rows are FOCUS corrections.
enum OCIMapping {
    static func record(_ row: Row, header: [String]) throws -> CostRecord {
        let cost = try row.decimal("cost/myCost") ?? 0
        let start = try row.requiredDate("lineItem/intervalUsageStart")
        let (periodStart, periodEnd) = CostCalendar.monthBounds(start)
        var tags: [String: String] = [:]
        for name in header where name.hasPrefix("tags/") {
            if let value = row.text(name) { tags[String(name.dropFirst("tags/".count))] = value }
        }
        var columns: [String: String] = [:]
        columns["ChargeDescription"] = row.text("product/Description")
        columns["AvailabilityZone"] = row.text("product/availabilityDomain")
        columns["ListUnitPrice"] = row.text("cost/unitPrice")
        columns["PricingUnit"] = row.text("cost/billingUnitReadable")
        columns["x_ReferenceNo"] = row.text("lineItem/referenceNo")
        return CostRecord(
            billingPeriodStart: periodStart, billingPeriodEnd: periodEnd, chargePeriodStart: start,
            chargePeriodEnd: try row.requiredDate("lineItem/intervalUsageEnd"), provider: "Oracle", hostProvider: "Oracle",
            billingAccountID: try row.required("lineItem/tenantId"), subAccountID: row.text("product/compartmentId"),
            subAccountName: row.text("product/compartmentName"), billingCurrency: try row.required("cost/currencyCode"), billedCost: cost,
            effectiveCost: cost, listCost: cost, contractedCost: cost, chargeCategory: "Usage",
            chargeClass: row.text("lineItem/isCorrection") == "true" ? "Correction" : nil, chargeFrequency: "Usage-Based",
            serviceName: row.text("product/service"), regionID: row.text("product/region"), resourceID: row.text("product/resourceId"),
            skuID: row.text("cost/productSku"), consumedQuantity: try row.decimal("usage/billedQuantity"), consumedUnit: row.text("cost/skuUnitDescription"),
            tags: tags, columns: CostColumns(columns))
    }
}

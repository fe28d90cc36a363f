import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation

/// Thirteen months of GridCo's AWS cost, made by Canopy itself from the demo inventory: one
/// FOCUS row per resource per day, priced from `PriceTable`, with the resources' own tags, a
/// gentle growth in storage and transfer, weekday traffic, a monthly support fee on the
/// management account (a shared cost) and one planted anomaly: turbine-analytics in the
/// Generation account ran six times its usual EC2 for three days in October 2026.
/// Deterministic: the same inventory gives the same ledger.
public enum DemoCosts {
    public static let anomalyDays: Set<String> = ["2026-10-14", "2026-10-15", "2026-10-16"]
    public static let anomalyAccount = "599006413549"

    /// What CloudWatch told the demo scan that the ledger should agree with: buckets' S3 Standard
    /// bytes (latest day) and NAT gateways that sent nothing.
    public struct Usage: Sendable {
        public var bucketBytes: [String: Double] = [:]
        public var idleGateways: Set<String> = []
        public init(bucketBytes: [String: Double] = [:], idleGateways: Set<String> = []) {
            self.bucketBytes = bucketBytes
            self.idleGateways = idleGateways
        }
    }

    /// Rows from the first day of the month a year before `end`'s month, to `end`'s day (exclusive).
    public static func rows(inventory: [Resource], accounts: [Account], end: Date, usage: Usage = Usage()) -> [CostRecord] {
        let calendar = CostCalendar.utc
        let endDay = calendar.startOfDay(for: end)
        let endMonth = calendar.date(from: calendar.dateComponents([.year, .month], from: endDay))!
        let start = calendar.date(byAdding: .month, value: -12, to: endMonth)!
        let payer = accounts.first { $0.organizationalUnit == nil }?.id ?? accounts.first?.id ?? "000000000000"
        let names = Dictionary(accounts.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var rows: [CostRecord] = []
        var day = start
        var monthIndex = 0
        var currentMonth = calendar.component(.month, from: start)
        while day < endDay {
            let next = calendar.date(byAdding: .day, value: 1, to: day)!
            let month = calendar.component(.month, from: day)
            if month != currentMonth {
                monthIndex += 1
                currentMonth = month
            }
            let periodStart = calendar.date(from: calendar.dateComponents([.year, .month], from: day))!
            let periodEnd = calendar.date(byAdding: .month, value: 1, to: periodStart)!
            let dayKey = CostCalendar.day(day)
            let weekday = calendar.component(.weekday, from: day)
            let isWeekend = weekday == 1 || weekday == 7
            let growth = 1 + Decimal(monthIndex) * Decimal(string: "0.015")!
            let daysInMonth = Decimal(calendar.range(of: .day, in: .month, for: day)!.count)
            func record(_ resource: Resource, service: String, category: String, cost: Decimal, quantity: Decimal, unit: String, sku: String) -> CostRecord {
                let rounded = round(cost, 10)
                return CostRecord(
                    billingPeriodStart: periodStart, billingPeriodEnd: periodEnd, chargePeriodStart: day, chargePeriodEnd: next, provider: "AWS",
                    hostProvider: "AWS", billingAccountID: payer, billingAccountName: names[payer], subAccountID: resource.account,
                    subAccountName: names[resource.account], billingCurrency: "USD", billedCost: rounded, effectiveCost: rounded, listCost: rounded,
                    contractedCost: rounded, chargeCategory: "Usage", chargeFrequency: "Usage-Based", serviceName: service,
                    serviceCategory: category, regionID: resource.region, resourceID: resource.uid, resourceType: resource.type, skuID: sku,
                    consumedQuantity: quantity, consumedUnit: unit, tags: resource.tags.filter { !$0.key.hasPrefix("aws:") },
                    columns: ["ResourceName": resource.name, "PricingCategory": "Standard", "InvoiceIssuerName": "Amazon Web Services, Inc."])
            }
            for resource in inventory {
                let p = resource.properties
                let factor = PriceTable.regionFactor(resource.region)
                switch resource.type {
                case "aws.ec2":
                    guard p["State"]?["Name"]?.stringValue == "running", let type = p["InstanceType"]?.stringValue,
                        let hourly = PriceTable.ec2Hourly[type]
                    else { continue }
                    var hours: Decimal = 24
                    if resource.account == anomalyAccount, anomalyDays.contains(dayKey), resource.tags["App"] == "turbine-analytics" { hours *= 6 }
                    rows.append(record(resource, service: "AmazonEC2", category: "Compute", cost: hourly * hours * factor, quantity: hours, unit: "Hrs", sku: type))
                case "aws.ebs":
                    let size = Decimal(p["Size"]?.intValue ?? 8)
                    let rate = PriceTable.ebsGBMonth[p["VolumeType"]?.stringValue ?? "gp2"] ?? PriceTable.ebsGBMonth["gp2"]!
                    rows.append(record(resource, service: "AmazonEC2", category: "Storage", cost: size * rate * factor / daysInMonth, quantity: size / daysInMonth, unit: "GB-Mo", sku: "EBS:VolumeUsage"))
                case "aws.rds":
                    let hourly = PriceTable.rdsHourly[p["DBInstanceClass"]?.stringValue ?? ""] ?? Decimal(string: "0.171")!
                    let multiAZ: Decimal = p["MultiAZ"]?.boolValue == true ? 2 : 1
                    let storage = Decimal(p["AllocatedStorage"]?.intValue ?? 20) * PriceTable.rdsStorageGBMonth / daysInMonth
                    rows.append(record(resource, service: "AmazonRDS", category: "Databases", cost: (hourly * 24 * multiAZ + storage) * factor, quantity: 24, unit: "Hrs", sku: "RDS:InstanceUsage"))
                case "aws.s3":
                    // A bucket's size as CloudWatch last reported it, grown into over the year; a
                    // bucket without the metric: a stable size from its name, growing.
                    let gigabytes = usage.bucketBytes[resource.uid].map { Decimal(Int($0 / 1_073_741_824)) * growth / (1 + 12 * Decimal(string: "0.015")!) }
                        ?? Decimal(200 + stableNumber(resource.uid) % 4_000) * growth
                    rows.append(record(resource, service: "AmazonS3", category: "Storage", cost: gigabytes * PriceTable.s3StandardGBMonth / daysInMonth, quantity: gigabytes / daysInMonth, unit: "GB-Mo", sku: "S3:TimedStorage"))
                case "aws.nat-gateway":
                    let traffic = usage.idleGateways.contains(resource.uid) ? 0 : Decimal(isWeekend ? 20 : 60) * growth  // GB processed
                    rows.append(record(resource, service: "AmazonVPC", category: "Networking", cost: (PriceTable.natGatewayHourly * 24 + traffic * Decimal(string: "0.045")!) * factor, quantity: 24, unit: "Hrs", sku: "NatGateway-Hours"))
                case "aws.elastic-ip":
                    rows.append(record(resource, service: "AmazonVPC", category: "Networking", cost: PriceTable.publicIPv4Hourly * 24, quantity: 24, unit: "Hrs", sku: "PublicIPv4:InUseAddress"))
                case "aws.kms-key":
                    rows.append(record(resource, service: "awskms", category: "Security", cost: PriceTable.kmsKeyMonth / daysInMonth, quantity: 1 / daysInMonth, unit: "Keys", sku: "KMS-Keys"))
                case "aws.lambda", "aws.dynamodb-table":
                    let service = resource.type == "aws.lambda" ? "AWSLambda" : "AmazonDynamoDB"
                    let amount = Decimal(isWeekend ? 1 : 3) * growth * Decimal(string: "0.35")!
                    rows.append(record(resource, service: service, category: resource.type == "aws.lambda" ? "Compute" : "Databases", cost: amount, quantity: amount, unit: "Requests", sku: service))
                default: continue
                }
            }
            // Business support on the management account: a shared cost, charged on the 1st.
            if calendar.component(.day, from: day) == 1, let management = accounts.first(where: { $0.id == payer }) {
                let fee = Resource(
                    uid: "support:\(payer)", provider: .aws, account: management.id, region: "global", type: "aws.support", name: "AWS Support (Business)",
                    tags: [:], properties: .object([:]), observedAt: day)
                var support = record(fee, service: "AWSSupportBusiness", category: "Other", cost: 850, quantity: 1, unit: "Month", sku: "Support")
                support.chargeCategory = "Purchase"
                support.chargeFrequency = "Recurring"
                support.regionID = nil
                support.resourceID = nil
                rows.append(support)
            }
            day = next
        }
        return rows
    }

    static func round(_ value: Decimal, _ scale: Int) -> Decimal {
        var input = value
        var output = Decimal()
        NSDecimalRound(&output, &input, scale, .plain)
        return output
    }

    /// A stable number from a string (FNV-1a), for sizes the inventory does not hold.
    static func stableNumber(_ text: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % 1_000_000)
    }

    /// Imports the demo's costs into `store` (a re-run replaces them).
    public static func load(into store: any CanopyStore, end: Date) async throws -> CostImport? {
        let inventory = try await store.resources(ResourceQuery())
        var usage = Usage()
        for series in try await store.series(metric: MetricSeries.Key.s3StandardBytes, since: .distantPast) {
            usage.bucketBytes[series.resourceUID] = series.points.last?.value
        }
        for series in try await store.series(metric: MetricSeries.Key.natBytesOut, since: .distantPast)
        where series.points.reduce(0, { $0 + $1.value }) == 0 {
            usage.idleGateways.insert(series.resourceUID)
        }
        let rows = rows(inventory: inventory, accounts: try await store.accounts(), end: end, usage: usage)
        return try await store.importCosts(file: "demo:gridco-costs", sha256: "demo-\(rows.count)", format: .focus12, rows: ArrayRows(rows), actor: "canopy-demo")
    }
}

/// Rows from memory.
public struct ArrayRows: CostRowSource {
    var rows: [CostRecord]
    var position = 0

    public init(_ rows: [CostRecord]) { self.rows = rows }

    public mutating func next() throws -> CostRecord? {
        guard position < rows.count else { return nil }
        defer { position += 1 }
        return rows[position]
    }
}

import CanopyModel
import Foundation

/// Energy and emissions of one ledger row, by Cloud Carbon Footprint's method.
public struct CarbonEstimate: Sendable, Hashable {
    public enum Basis: String, Sendable, Codable, CaseIterable {
        /// vCPU-hours (and GPU-hours) of an instance type with coefficients.
        case compute
        /// GB-months of block, object or database storage.
        case storage
        /// GB moved between regions.
        case network
        /// kWh the row itself meters (an on-prem site's IT load).
        case metered
        /// Usage without a usage model (a NAT gateway's hours, a key's month): energy from the
        /// month's kWh per dollar of the usage that has one (CCF's approach for unknown usage).
        case fromCost = "from-cost"
        /// Not usage (purchases, taxes, credits, fees): no energy.
        case none
    }

    public var day: String
    public var month: String
    public var attributes: CostAttributes
    public var resourceID: String?
    public var basis: Basis
    /// Facility energy: IT energy × PUE.
    public var kWh: Double
    /// The servers' own energy, before PUE.
    public var itKWh: Double = 0
    /// Of `itKWh`, the memory beyond SPECpower's servers (CCF's memory estimate).
    public var memoryKWh: Double = 0
    /// Operational emissions, kgCO2e, with the location-based and the market-based factor.
    public var locationKg: Double
    public var marketKg: Double
    /// Embodied (manufacturing) emissions of the hardware share used, kgCO2e.
    public var embodiedKg: Double
    public var cost: Double
    public var currency: String
    /// vCPU-hours, and how many of them had a measured utilisation.
    public var vcpuHours: Double = 0
    public var measuredVCPUHours: Double = 0
    /// The grid factor was not known for the region or site (a provider-wide fallback was used).
    public var factorFallback = false
    /// The factor used is provisional (Taiwan 2024).
    public var provisionalFactor = false
}

/// Estimates energy and emissions for ledger rows from the inventory and the stored CPU series.
/// Stateless apart from its inputs; one per estimate run.
public struct CarbonEstimator: Sendable {
    public let coefficients: CarbonCoefficients
    public let settings: CarbonSettings
    /// uid → resource, for instance types, volume types and Multi-AZ.
    let inventory: [String: Resource]
    /// uid → day → mean CPU utilisation (0…1).
    let utilisation: [String: [String: Double]]
    let sites: [String: CarbonSettings.Site]

    public init(coefficients: CarbonCoefficients = .bundled, settings: CarbonSettings = CarbonSettings(), inventory: [Resource] = [], cpu: [MetricSeries] = []) {
        self.coefficients = coefficients
        self.settings = settings
        self.inventory = Dictionary(inventory.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        var daily: [String: [String: (sum: Double, count: Int)]] = [:]
        for series in cpu {
            for point in series.points {
                let day = CostCalendar.day(point.timestamp)
                var entry = daily[series.resourceUID, default: [:]][day] ?? (0, 0)
                entry.sum += point.value
                entry.count += 1
                daily[series.resourceUID, default: [:]][day] = entry
            }
        }
        self.utilisation = daily.mapValues { $0.mapValues { min(max($0.sum / Double($0.count) / 100, 0), 1) } }
        self.sites = Dictionary(settings.sites.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Factors

    /// Location- and market-based factor (kgCO2e/kWh) for a region or site in a year.
    public func factors(provider: String, region: String, year: Int) -> (location: Double, market: Double, fallback: Bool, provisional: Bool) {
        var location: Double?
        var provisional = false
        var fallback = false
        if let given = settings.locationFactors[region] {
            location = given
        } else if Self.isTaiwan(region) || sites[region]?.grid == "TW" || sites[provider]?.grid == "TW" {
            (location, provisional) = taiwanFactor(year)
        } else if let site = sites[provider], let given = settings.locationFactors[site.id] {
            location = given
        } else if let known = coefficients.awsGridFactors[region] {
            location = known.factor
        }
        if location == nil {
            // A region without a published factor: the mean of the provider's regions, flagged.
            fallback = true
            let all = coefficients.awsGridFactors.values.map(\.factor)
            location = all.reduce(0, +) / Double(max(all.count, 1))
        }
        let market = settings.marketFactors[region] ?? settings.marketFactors[provider] ?? location!
        return (location!, market, fallback, provisional)
    }

    static func isTaiwan(_ region: String) -> Bool { CarbonCoefficients.taiwanRegions.contains(region) }

    /// Taiwan's factor for `year`: that year's, else the latest year before it (flagged provisional).
    func taiwanFactor(_ year: Int) -> (Double, Bool) {
        let table = CarbonCoefficients.taiwanFactors.merging(settings.taiwanFactors) { _, given in given }
        if let exact = table[year] {
            let confirmed = settings.taiwanFactors[year] != nil || !CarbonCoefficients.taiwanProvisionalYears.contains(year)
            return (exact, !confirmed)
        }
        let earlier = table.keys.filter { $0 < year }.max() ?? table.keys.min()!
        return (table[earlier]!, true)
    }

    func pue(provider: String, region: String) -> Double {
        if let site = sites[region] ?? sites[provider] { return site.pue }
        let key = provider.lowercased()
        return settings.pue[provider] ?? CarbonCoefficients.pue[key] ?? CarbonCoefficients.onPremPUE
    }

    // MARK: Rows

    /// The estimate for one row; `.fromCost` rows carry their cost and no energy until
    /// `CarbonLedger` prices them with the month's kWh per dollar.
    public func estimate(_ row: CostRecord) -> CarbonEstimate {
        let day = CostCalendar.day(row.chargePeriodStart)
        let month = CostCalendar.month(row.billingPeriodStart)
        let year = Int(day.prefix(4)) ?? 2000
        let cost = NSDecimalNumber(decimal: row.effectiveCost).doubleValue
        var estimate = CarbonEstimate(
            day: day, month: month, attributes: row.attributes, resourceID: row.resourceID, basis: .none, kWh: 0, locationKg: 0, marketKg: 0,
            embodiedKg: 0, cost: cost, currency: row.billingCurrency)
        guard row.chargeCategory == "Usage" else { return estimate }
        let region = row.regionID ?? ""
        let quantity = row.consumedQuantity.map { NSDecimalNumber(decimal: $0).doubleValue } ?? 0
        let unit = (row.consumedUnit ?? "").lowercased()
        let resource = row.resourceID.flatMap { inventory[$0] }
        var itKWh = 0.0
        if ["hrs", "hours", "hour", "hr"].contains(unit), let instance = instanceType(row, resource) {
            estimate.basis = .compute
            let copies = resource?.properties["MultiAZ"]?.boolValue == true ? 2.0 : 1.0
            let hours = quantity * copies
            let measured = row.resourceID.flatMap { utilisation[$0]?[day] }
            let load = measured ?? settings.defaultUtilisation
            let watts = coefficients.watts(for: instance)
            let perVCPU = watts.min + load * (watts.max - watts.min)
            estimate.vcpuHours = instance.vcpus * hours
            estimate.measuredVCPUHours = measured == nil ? 0 : estimate.vcpuHours
            itKWh = perVCPU * estimate.vcpuHours / 1_000
            estimate.memoryKWh = coefficients.excessMemoryGBHours(instance, hours: hours) * CarbonCoefficients.memoryKWhPerGBHour
            itKWh += estimate.memoryKWh
            if instance.gpus > 0, let gpu = instance.gpu.flatMap({ CarbonCoefficients.gpuWatts[$0] }) {
                itKWh += (gpu.min + load * (gpu.max - gpu.min)) * instance.gpus * hours / 1_000
            }
            if let total = instance.embodiedKg, instance.platformVCPUs > 0 {
                estimate.embodiedKg = total * hours / CarbonCoefficients.serverLifeHours * instance.vcpus / instance.platformVCPUs
            }
        } else if ["gb-mo", "gb-month", "gb-months", "gb-mo."].contains(unit) {
            estimate.basis = .storage
            let (ssd, replication) = storageKind(row, resource)
            let gbHours = quantity * CostCalendar.hours(inMonthOf: row.chargePeriodStart)
            itKWh = gbHours / 1_000 * (ssd ? CarbonCoefficients.ssdWattHoursPerTBHour : CarbonCoefficients.hddWattHoursPerTBHour) / 1_000 * replication
        } else if unit == "gb", isInterRegionTransfer(row) {
            estimate.basis = .network
            itKWh = quantity * CarbonCoefficients.networkKWhPerGB
        } else if unit == "kwh" {
            estimate.basis = .metered
            itKWh = quantity
        } else {
            estimate.basis = .fromCost
            return estimate
        }
        price(&estimate, itKWh: itKWh, provider: row.provider, region: region, year: year)
        return estimate
    }

    /// Applies PUE and the grid factors to an IT energy figure.
    func price(_ estimate: inout CarbonEstimate, itKWh: Double, provider: String, region: String, year: Int) {
        estimate.itKWh = itKWh
        estimate.kWh = itKWh * pue(provider: provider, region: region)
        let factor = factors(provider: provider, region: region, year: year)
        estimate.locationKg = estimate.kWh * factor.location
        estimate.marketKg = estimate.kWh * factor.market
        estimate.factorFallback = factor.fallback
        estimate.provisionalFactor = factor.provisional
    }

    /// Facility energy for `kWh` of IT energy priced into a `.fromCost` estimate.
    public func priceFromCost(_ estimate: inout CarbonEstimate, itKWh: Double) {
        let year = Int(estimate.day.prefix(4)) ?? 2000
        price(&estimate, itKWh: itKWh, provider: estimate.attributes.provider, region: estimate.attributes.region, year: year)
    }

    /// The instance type a compute row ran: the inventory's, else a SKU or column naming one.
    func instanceType(_ row: CostRecord, _ resource: Resource?) -> CarbonCoefficients.Instance? {
        let candidates = [
            resource?.properties["InstanceType"]?.stringValue, resource?.properties["DBInstanceClass"]?.stringValue, row.skuID,
            row.columns["x_InstanceType"], row.columns["x_ProductInstanceType"],
        ]
        for candidate in candidates.compactMap({ $0 }) {
            if let found = coefficients.instances[candidate] { return found }
        }
        return nil
    }

    /// SSD or HDD, and the service's replication factor.
    func storageKind(_ row: CostRecord, _ resource: Resource?) -> (ssd: Bool, replication: Double) {
        let type = resource?.type ?? row.resourceType ?? ""
        let service = (row.serviceName ?? "").lowercased()
        switch type {
        case "aws.ebs":
            let volume = resource?.properties["VolumeType"]?.stringValue ?? "gp2"
            return (!["st1", "sc1", "standard"].contains(volume), CarbonCoefficients.replication["ebs"]!)
        case "aws.ebs-snapshot", "aws.rds-snapshot": return (false, CarbonCoefficients.replication["snapshot"]!)
        case "aws.s3": return (false, CarbonCoefficients.replication["s3"]!)
        case "aws.rds":
            return (true, CarbonCoefficients.replication["rds"]! * (resource?.properties["MultiAZ"]?.boolValue == true ? 2 : 1))
        case "aws.dynamodb-table": return (true, CarbonCoefficients.replication["dynamodb"]!)
        default:
            if service.contains("s3") || service.contains("glacier") { return (false, CarbonCoefficients.replication["s3"]!) }
            if service.contains("dynamodb") { return (true, CarbonCoefficients.replication["dynamodb"]!) }
            if service.contains("efs") || service.contains("elastic file") { return (true, CarbonCoefficients.replication["efs"]!) }
            return (true, CarbonCoefficients.replication["ebs"]!)
        }
    }

    func isInterRegionTransfer(_ row: CostRecord) -> Bool {
        let text = ((row.skuID ?? "") + " " + (row.columns["x_UsageType"] ?? "") + " " + (row.columns["ChargeDescription"] ?? "")).lowercased()
        return text.contains("interregion") || text.contains("inter-region") || text.contains("aws-out-bytes") || text.contains("regional")
    }
}

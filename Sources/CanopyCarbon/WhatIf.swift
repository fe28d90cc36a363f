import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation

/// The emissions a savings recommendation would save, next to its dollars: a month (730 hours)
/// of the resource as it runs now against as it would run after.
public struct CarbonSaving: Sendable, Codable, Hashable {
    public var recommendation: Recommendation
    /// kgCO2e a month now and after (location-based operational plus embodied).
    public var currentKg: Double
    public var afterKg: Double
    public var savedKg: Double { currentKg - afterKg }
    /// How the after case was modelled, in words.
    public var assumption: String
    /// The same, as data: `stopped`, `deleted`, `half`, `smaller` (to `afterType` at
    /// `afterUtilisation`) or `replaced` (by `afterType`).
    public var model: String
    public var afterType: String?
    public var afterUtilisation: Double?
}

/// A workload's month moved to another region: energy stays, the grid changes.
public struct RegionMove: Sendable, Codable, Hashable {
    public var selection: String
    public var month: String
    public var toRegion: String
    public var current: CarbonTotals
    public var moved: CarbonTotals
    /// Regions the selection ran in, with their location factors (kgCO2e/kWh).
    public var fromFactors: [String: Double]
    public var toFactor: Double
}

public enum CarbonWhatIf {
    /// CO2e of each recommendation that changes compute or storage; others (addresses, NAT
    /// gateways, bucket tiering) have no energy model and are left out.
    public static func savings(
        _ recommendations: [Recommendation], store: any CanopyStore, now: Date, settings given: CarbonSettings? = nil
    ) async throws -> [CarbonSaving] {
        var settings = CarbonSettings()
        if let given { settings = given } else if let stored = try await store.carbonSettings() { settings = stored.settings }
        let inventory = try await store.resources(ResourceQuery())
        let since = now.addingTimeInterval(-14 * 86_400)
        var averageCPU: [String: Double] = [:]
        for series in try await store.series(metric: MetricSeries.Key.ec2CPU, since: since) {
            let values = series.points.filter { $0.timestamp >= since && $0.timestamp <= now }.map(\.value)
            if !values.isEmpty { averageCPU[series.resourceUID] = values.reduce(0, +) / Double(values.count) / 100 }
        }
        let estimator = CarbonEstimator(settings: settings, inventory: inventory)
        let coefficients = estimator.coefficients
        let year = Int(CostCalendar.day(now).prefix(4)) ?? 2026
        let hours = 730.0
        func monthly(_ instance: CarbonCoefficients.Instance, load: Double, region: String, copies: Double = 1) -> Double {
            let watts = coefficients.watts(for: instance)
            let itKWh = (watts.min + load * (watts.max - watts.min)) * instance.vcpus * hours * copies / 1_000
                + coefficients.excessMemoryGBHours(instance, hours: hours * copies) * CarbonCoefficients.memoryKWhPerGBHour
            let kWh = itKWh * estimator.pue(provider: "AWS", region: region)
            let embodied = instance.embodiedKg.map { $0 * hours * copies / CarbonCoefficients.serverLifeHours * instance.vcpus / max(instance.platformVCPUs, 1) } ?? 0
            return kWh * estimator.factors(provider: "AWS", region: region, year: year).location + embodied
        }
        var out: [CarbonSaving] = []
        for recommendation in recommendations {
            guard let resource = estimator.inventory[recommendation.resourceUID] else { continue }
            let region = resource.region
            let typeName = resource.properties["InstanceType"]?.stringValue ?? resource.properties["DBInstanceClass"]?.stringValue
            let instance = typeName.flatMap { coefficients.instances[$0] }
            let load = averageCPU[resource.uid] ?? settings.defaultUtilisation
            switch recommendation.kind {
            case .idleInstance, .idleDatabase:
                guard let instance else { continue }
                let copies = resource.properties["MultiAZ"]?.boolValue == true ? 2.0 : 1.0
                out.append(
                    CarbonSaving(
                        recommendation: recommendation, currentKg: monthly(instance, load: load, region: region, copies: copies), afterKg: 0, assumption: "stopped",
                        model: "stopped"))
            case .underusedInstance:
                guard let instance else { continue }
                let current = monthly(instance, load: load, region: region)
                // One size smaller: the same family at half the vCPUs (the roomiest such size),
                // carrying the same work.
                let family = instance.type.split(separator: ".").first.map(String.init) ?? ""
                let smaller = coefficients.instances.values.filter { $0.type.hasPrefix(family + ".") && $0.vcpus == instance.vcpus / 2 && $0.type.split(separator: ".").count == 2 }
                    .max { ($0.memoryGB, $1.type) < ($1.memoryGB, $0.type) }
                if let smaller {
                    let busier = min(load * 2, 1)
                    out.append(
                        CarbonSaving(
                            recommendation: recommendation, currentKg: current, afterKg: monthly(smaller, load: busier, region: region),
                            assumption: "\(smaller.type) at \(Int((busier * 100).rounded())) % CPU", model: "smaller", afterType: smaller.type, afterUtilisation: busier))
                } else {
                    out.append(CarbonSaving(recommendation: recommendation, currentKg: current, afterKg: current / 2, assumption: "half the vCPUs", model: "half"))
                }
            case .previousGeneration, .graviton:
                guard let instance, let target = recommendation.target.flatMap({ coefficients.instances[$0] }) else { continue }
                out.append(
                    CarbonSaving(
                        recommendation: recommendation, currentKg: monthly(instance, load: load, region: region),
                        afterKg: monthly(target, load: load * instance.vcpus / max(target.vcpus, 1), region: region), assumption: "\(target.type), same work",
                        model: "replaced", afterType: target.type))
            case .unattachedVolume, .oldSnapshot:
                let size = Double(resource.properties["Size"]?.intValue ?? resource.properties["VolumeSize"]?.intValue ?? 0)
                guard size > 0 else { continue }
                let snapshot = recommendation.kind == .oldSnapshot
                let ssd = !snapshot && !["st1", "sc1", "standard"].contains(resource.properties["VolumeType"]?.stringValue ?? "gp2")
                let replication = CarbonCoefficients.replication[snapshot ? "snapshot" : "ebs"]!
                let itKWh = size * hours / 1_000 * (ssd ? CarbonCoefficients.ssdWattHoursPerTBHour : CarbonCoefficients.hddWattHoursPerTBHour) / 1_000 * replication
                let kg = itKWh * estimator.pue(provider: "AWS", region: region) * estimator.factors(provider: "AWS", region: region, year: year).location
                out.append(CarbonSaving(recommendation: recommendation, currentKg: kg, afterKg: 0, assumption: "deleted", model: "deleted"))
            default:
                continue
            }
        }
        return out
    }

    /// What a region move moves: a business unit's, an application's or an account's usage (all
    /// that are given must hold); none given, everything.
    public struct Selection: Sendable, Hashable {
        public var businessUnit: String?
        public var application: String?
        public var account: String?

        public init(businessUnit: String? = nil, application: String? = nil, account: String? = nil) {
            self.businessUnit = businessUnit
            self.application = application
            self.account = account
        }

        public var name: String {
            businessUnit.map { "bu \($0)" } ?? application.map { "app \($0)" } ?? account.map { "account \($0)" } ?? "everything"
        }

        func contains(_ p: PlacedEstimate) -> Bool {
            (businessUnit == nil || p.unit == businessUnit) && (application == nil || p.application == application)
                && (account == nil || p.estimate.attributes.account == account)
        }
    }

    /// `selection`'s usage in `month` moved to `region`.
    public static func move(_ ledger: CarbonLedger, selecting selection: Selection, to region: String, month: String) -> RegionMove {
        let estimator = CarbonEstimator(settings: ledger.settingsUsed)
        let year = Int(month.prefix(4)) ?? 2026
        var current = CarbonTotals()
        var moved = CarbonTotals()
        var fromFactors: [String: Double] = [:]
        let target = estimator.factors(provider: "AWS", region: region, year: year)
        for p in ledger.placed where p.estimate.month == month && selection.contains(p) {
            current.add(p.estimate, share: p.share)
            var shifted = p.estimate
            let from = estimator.factors(provider: shifted.attributes.provider, region: shifted.attributes.region, year: year)
            fromFactors[shifted.attributes.region.isEmpty ? "(global)" : shifted.attributes.region] = from.location
            shifted.locationKg = shifted.kWh * target.location
            shifted.marketKg = shifted.kWh * target.market
            moved.add(shifted, share: p.share)
        }
        return RegionMove(selection: selection.name, month: month, toRegion: region, current: current, moved: moved, fromFactors: fromFactors, toFactor: target.location)
    }
}

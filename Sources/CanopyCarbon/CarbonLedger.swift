import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation

/// One estimate placed where allocation places its cost: a business unit and application, or a
/// share of a shared-cost split (each receiving unit gets the share of the emissions that it gets
/// of the cost).
public struct PlacedEstimate: Sendable {
    public var estimate: CarbonEstimate
    public var unit: String?
    public var application: String?
    /// The shared-cost split it came from, if any.
    public var shared: String?
    /// The share of the estimate this placement carries (1 unless split).
    public var share: Double
}

/// Carbon estimates for whole months of the ledger: every row estimated, usage without a usage
/// model priced with its month's kWh per dollar, and each placed by the allocation rules in force.
public struct CarbonLedger: Sendable {
    public var months: [String]
    public var placed: [PlacedEstimate]
    /// The stored settings version the estimate used (nil: defaults, or settings given by the caller).
    public var settings: CarbonSettingsVersion?
    public var settingsUsed: CarbonSettings

    /// - Parameter allows: the accounts a caller may see (nil: all).
    public static func build(
        months: [String], store: any CanopyStore, allows: (@Sendable (String) -> Bool)? = nil, settings given: CarbonSettings? = nil
    ) async throws -> CarbonLedger {
        let version = try await store.carbonSettings()
        let settings = given ?? version?.settings ?? CarbonSettings()
        let inventory = try await store.resources(ResourceQuery())
        let cpu = try await store.series(metric: MetricSeries.Key.ec2CPU, since: .distantPast)
        let estimator = CarbonEstimator(settings: settings, inventory: inventory, cpu: cpu)
        let allocator = try await CostAllocator.current(store: store)
        var placements = CostAllocator.Placements(allocator)
        var placed: [PlacedEstimate] = []
        let held = Set(try await store.costPeriods())
        for month in months where held.contains(month) {
            guard let span = CostCalendar.monthSpan(month) else { throw CostViewError.badMonth(month) }
            let box = EstimateBox()
            try await store.eachCostRow(period: month) { row in box.items.append(estimator.estimate(row)) }
            // Usage priced from cost takes the estate's kWh per dollar, whoever is looking; the
            // caller's scope applies after.
            var estimates = box.items
            Self.priceFromCost(&estimates, estimator: estimator)
            if let allows { estimates.removeAll { !allows($0.attributes.account) } }
            // Shared splits: each unit's share of the split's cost this month.
            var splitShares: [String: [(unit: String?, share: Double)]] = [:]
            var splitTotals: [String: [String?: Double]] = [:]
            for piece in allocator.allocate(try await store.costSlices(CostQuery(from: span.from, to: span.to))) {
                guard let name = piece.shared else { continue }
                splitTotals[name, default: [:]][piece.unit, default: 0] += NSDecimalNumber(decimal: piece.effective).doubleValue
            }
            for (name, byUnit) in splitTotals {
                let total = byUnit.values.reduce(0, +)
                guard total != 0 else { continue }
                splitShares[name] = byUnit.map { ($0.key, $0.value / total) }.sorted { ($0.unit ?? "") < ($1.unit ?? "") }
            }
            for estimate in estimates {
                let placement = placements(estimate.attributes)
                if let split = placement.shared {
                    for share in splitShares[split.name] ?? [(nil, 1)] {
                        placed.append(PlacedEstimate(estimate: estimate, unit: share.unit, application: nil, shared: split.name, share: share.share))
                    }
                } else {
                    placed.append(PlacedEstimate(estimate: estimate, unit: placement.unit, application: placement.application, shared: nil, share: 1))
                }
            }
        }
        return CarbonLedger(months: months, placed: placed, settings: given == nil ? version : nil, settingsUsed: settings)
    }

    /// Usage without a usage model gets the IT kWh per dollar of the month's modelled usage of the
    /// same provider and currency (CCF's method for unknown usage).
    static func priceFromCost(_ estimates: inout [CarbonEstimate], estimator: CarbonEstimator) {
        struct Key: Hashable { var provider, currency: String }
        var energy: [Key: Double] = [:]
        var spend: [Key: Double] = [:]
        for e in estimates where [.compute, .storage, .network].contains(e.basis) {
            let key = Key(provider: e.attributes.provider, currency: e.currency)
            energy[key, default: 0] += e.itKWh
            spend[key, default: 0] += e.cost
        }
        for index in estimates.indices where estimates[index].basis == .fromCost {
            let key = Key(provider: estimates[index].attributes.provider, currency: estimates[index].currency)
            guard let dollars = spend[key], dollars > 0, let kWh = energy[key] else { continue }
            estimator.priceFromCost(&estimates[index], itKWh: estimates[index].cost * kWh / dollars)
        }
    }
}

/// Rows gathered from the store's row cursor (which runs its closure on the database's thread).
private final class EstimateBox: @unchecked Sendable {
    var items: [CarbonEstimate] = []
}

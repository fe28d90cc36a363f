import CanopyFinOps
import CanopyModel
import Foundation

/// What a carbon view groups by.
public enum CarbonDimension: String, Sendable, Codable, CaseIterable {
    case service, account, region, provider, month
    case businessUnit = "bu"
    case application = "app"
}

/// Energy and emissions added up: one line of a view, a month, or a whole period.
public struct CarbonTotals: Sendable, Codable, Hashable {
    public var kWh = 0.0
    /// Operational, kgCO2e: scope 2 location-based and market-based.
    public var locationKg = 0.0
    public var marketKg = 0.0
    /// Embodied, kgCO2e: scope 3.
    public var embodiedKg = 0.0
    /// Effective cost of the rows, in the ledger's currency.
    public var cost = 0.0

    public init() {}

    /// Location-based operational plus embodied.
    public var totalKg: Double { locationKg + embodiedKg }
    /// gCO2e (location-based, with embodied) per unit of currency.
    public var gramsPerCurrency: Double? { cost > 0 ? totalKg * 1_000 / cost : nil }

    mutating func add(_ e: CarbonEstimate, share: Double) {
        kWh += e.kWh * share
        locationKg += e.locationKg * share
        marketKg += e.marketKg * share
        embodiedKg += e.embodiedKg * share
        cost += e.cost * share
    }

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.kWh += b.kWh
        sum.locationKg += b.locationKg
        sum.marketKg += b.marketKg
        sum.embodiedKg += b.embodiedKg
        sum.cost += b.cost
        return sum
    }
}

/// How much of the estimate rests on usage data, and how much on assumptions.
public struct CarbonCoverage: Sendable, Codable, Hashable {
    /// Spend by basis (`compute`, `storage`, `network`, `metered`, `from-cost`, `none`).
    public var spendByBasis: [String: Double] = [:]
    /// Spend whose energy came from usage data (compute, storage, network, metered) ÷ usage spend.
    public var usageShare: Double?
    /// vCPU-hours with a measured CPU utilisation ÷ all vCPU-hours.
    public var measuredUtilisationShare: Double?
    /// Spend of usage with no model and no month to price it by (left at zero energy).
    public var unestimatedSpend = 0.0
    /// Regions or sites with no published factor (a fallback factor was used).
    public var fallbackRegions: [String] = []
    /// Whether a provisional grid factor (Taiwan 2024) was used.
    public var provisionalFactors = false
}

/// Carbon by month × one dimension.
public struct CarbonBreakdown: Sendable, Codable {
    public struct Line: Sendable, Codable, Hashable {
        public var month: String
        public var key: String
        public var totals: CarbonTotals
    }

    public var dimension: CarbonDimension
    public var months: [String]
    public var lines: [Line]
    /// Per month, all keys together.
    public var monthTotals: [String: CarbonTotals]
    public var total: CarbonTotals
    public var coverage: CarbonCoverage

    public static let unallocated = CostBreakdown.unallocated

    public static func build(_ ledger: CarbonLedger, by dimension: CarbonDimension) -> CarbonBreakdown {
        var sums: [String: [String: CarbonTotals]] = [:]
        var monthTotals: [String: CarbonTotals] = [:]
        var total = CarbonTotals()
        for p in ledger.placed {
            let e = p.estimate
            let key: String
            switch dimension {
            case .service: key = e.attributes.service.isEmpty ? "(none)" : e.attributes.service
            case .account: key = e.attributes.account
            case .region: key = e.attributes.region.isEmpty ? "(global)" : e.attributes.region
            case .provider: key = e.attributes.provider
            case .month: key = e.month
            case .businessUnit: key = p.unit ?? unallocated
            case .application: key = p.application ?? p.shared.map { "(shared: \($0))" } ?? unallocated
            }
            sums[e.month, default: [:]][key, default: CarbonTotals()].add(e, share: p.share)
            monthTotals[e.month, default: CarbonTotals()].add(e, share: p.share)
            total.add(e, share: p.share)
        }
        var lines: [Line] = []
        for (month, byKey) in sums {
            for (key, totals) in byKey { lines.append(Line(month: month, key: key, totals: totals)) }
        }
        lines.sort { a, b in
            if a.month != b.month { return a.month < b.month }
            if a.totals.totalKg != b.totals.totalKg { return a.totals.totalKg > b.totals.totalKg }
            return a.key < b.key
        }
        return CarbonBreakdown(
            dimension: dimension, months: ledger.months, lines: lines, monthTotals: monthTotals, total: total, coverage: coverage(of: ledger))
    }

    /// Lines summed over every month of the view, biggest first.
    public var overall: [(key: String, totals: CarbonTotals)] {
        var sums: [String: CarbonTotals] = [:]
        for line in lines { sums[line.key] = (sums[line.key] ?? CarbonTotals()) + line.totals }
        return sums.map { ($0.key, $0.value) }.sorted { $0.totals.totalKg != $1.totals.totalKg ? $0.totals.totalKg > $1.totals.totalKg : $0.key < $1.key }
    }

    static func coverage(of ledger: CarbonLedger) -> CarbonCoverage {
        var coverage = CarbonCoverage()
        var vcpu = 0.0
        var measured = 0.0
        var fallback: Set<String> = []
        // Each row once, whatever its split.
        for p in ledger.placed {
            let e = p.estimate
            coverage.spendByBasis[e.basis.rawValue, default: 0] += e.cost * p.share
            vcpu += e.vcpuHours * p.share
            measured += e.measuredVCPUHours * p.share
            if e.factorFallback { fallback.insert(e.attributes.region) }
            if e.provisionalFactor { coverage.provisionalFactors = true }
            if e.basis == .fromCost, e.kWh == 0 { coverage.unestimatedSpend += e.cost * p.share }
        }
        let modelled = ["compute", "storage", "network", "metered"].reduce(0.0) { $0 + (coverage.spendByBasis[$1] ?? 0) }
        let usage = modelled + (coverage.spendByBasis["from-cost"] ?? 0)
        coverage.usageShare = usage > 0 ? modelled / usage : nil
        coverage.measuredUtilisationShare = vcpu > 0 ? measured / vcpu : nil
        coverage.fallbackRegions = fallback.sorted()
        return coverage
    }
}

/// The months a carbon view or report covers.
public enum CarbonPeriod {
    public enum Problem: Error, CustomStringConvertible, Sendable {
        case badMonth(String)
        case badPeriod(String)
        case noMonths
        case tooLong(Int)

        public var description: String {
            switch self {
            case .badMonth(let text): "'\(text)' is not a month: use YYYY-MM"
            case .badPeriod(let text): "'\(text)' is not a period: use a year (2026), a quarter (2026-Q3) or a month (2026-09)"
            case .noMonths: "the ledger has no cost rows for that period: import cost first (canopy cost import)"
            case .tooLong(let count): "\(count) months is more than one view covers (at most \(CarbonPeriod.maximumMonths)): narrow the span"
            }
        }
    }

    public static let maximumMonths = 120

    /// Months from `--month` (any number), the ledger's months from `--from` to `--to`
    /// (inclusive) or, with none of them, the latest month of `ledger` (none when it is empty).
    public static func months(month: [String], from: String?, to: String?, ledger: [String]) throws -> [String] {
        for text in month + [from, to].compactMap({ $0 }) where CostCalendar.monthSpan(text) == nil { throw Problem.badMonth(text) }
        if !month.isEmpty {
            guard Set(month).count <= maximumMonths else { throw Problem.tooLong(Set(month).count) }
            return Array(Set(month)).sorted()
        }
        if from != nil || to != nil {
            // The ledger's months within the span: a span reaching past the ledger costs nothing,
            // and one that ends before it starts holds no month.
            let start = from ?? "0000-00"
            let end = to ?? "9999-99"
            return ledger.filter { $0 >= start && $0 <= end }.sorted()
        }
        return ledger.last.map { [$0] } ?? []
    }

    /// `2026` (twelve months), `2026-Q3` (three) or `2026-09` (one).
    public static func months(period: String) throws -> [String] {
        let parts = period.split(separator: "-")
        guard let year = parts.first.flatMap({ Int($0) }), parts[0].count == 4 else { throw Problem.badPeriod(period) }
        if parts.count == 1 { return span(String(format: "%04d-01", year), String(format: "%04d-12", year)) }
        if parts.count == 2, parts[1].hasPrefix("Q"), let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter) {
            return span(String(format: "%04d-%02d", year, quarter * 3 - 2), String(format: "%04d-%02d", year, quarter * 3))
        }
        if CostCalendar.monthSpan(period) != nil { return [period] }
        throw Problem.badPeriod(period)
    }

    /// Every month from `start` to `end`, both included.
    static func span(_ start: String, _ end: String) -> [String] {
        var months: [String] = []
        var current = start
        while current <= end, months.count < 1_200 {
            months.append(current)
            guard let next = CostCalendar.monthSpan(current)?.to else { break }
            current = String(next.prefix(7))
        }
        return months
    }

    /// The same months a year earlier, for year-over-year.
    public static func yearEarlier(_ months: [String]) -> [String] {
        months.compactMap { month in
            guard let year = Int(month.prefix(4)) else { return nil }
            return String(format: "%04d", year - 1) + month.dropFirst(4)
        }
    }
}

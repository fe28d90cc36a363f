import CanopyModel
import CanopyStore
import Foundation

/// What a cost view groups by.
public enum CostDimension: String, Sendable, CaseIterable, Codable {
    case service, account, region, provider, month, day, category
    case businessUnit = "bu"
}

/// Billed (what the invoice says) or effective (amortised: commitments spread over what used them).
public enum CostMetric: String, Sendable, CaseIterable, Codable {
    case billed, effective
}

/// Cost summed by one dimension over a span of days, exact to the last decimal place.
public struct CostBreakdown: Sendable, Codable {
    public struct Line: Sendable, Codable, Hashable {
        public var key: String
        public var cost: Decimal
        public var currency: String
    }

    public var dimension: CostDimension
    public var metric: CostMetric
    public var from: String?
    public var to: String?
    public var lines: [Line]
    /// Per currency: a ledger may hold several, and they never add up.
    public var totals: [String: Decimal]

    /// - Parameters:
    ///   - accounts: limit to these sub-accounts (a business-unit owner's view); nil for all.
    public static func build(
        by dimension: CostDimension, metric: CostMetric, query: CostQuery, store: any CanopyStore
    ) async throws -> CostBreakdown {
        let days = try await store.costDays(query)
        var unitOf: [String: String] = [:]
        if dimension == .businessUnit {
            let ownership = try await store.ownership()
            for account in try await store.accounts() { unitOf[account.id] = ownership.businessUnitID(of: account) }
        }
        var sums: [String: [String: Decimal]] = [:]
        var totals: [String: Decimal] = [:]
        for d in days {
            let key: String
            switch dimension {
            case .service: key = d.serviceName.isEmpty ? "(none)" : d.serviceName
            case .account: key = d.subAccountID.isEmpty ? d.billingAccountID : d.subAccountID
            case .region: key = d.regionID.isEmpty ? "(global)" : d.regionID
            case .provider: key = d.provider
            case .month: key = String(d.day.prefix(7))
            case .day: key = d.day
            case .category: key = d.chargeCategory
            case .businessUnit: key = unitOf[d.subAccountID] ?? "(unassigned)"
            }
            let cost = metric == .billed ? d.billedCost : d.effectiveCost
            sums[key, default: [:]][d.currency, default: 0] += cost
            totals[d.currency, default: 0] += cost
        }
        var lines: [Line] = []
        for (key, byCurrency) in sums {
            for (currency, cost) in byCurrency { lines.append(Line(key: key, cost: cost, currency: currency)) }
        }
        // Time reads in order; everything else biggest first.
        let chronological = dimension == .month || dimension == .day
        lines.sort { a, b in
            if chronological || a.cost == b.cost { return a.key < b.key }
            return a.cost > b.cost
        }
        return CostBreakdown(dimension: dimension, metric: metric, from: query.from, to: query.to, lines: lines, totals: totals)
    }
}

extension Decimal {
    /// Rounded to cents for display (`1234.57`), half away from zero.
    public var cents: String {
        var value = self
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.minimumFractionDigits = 2
        formatter.maximumFractionDigits = 2
        formatter.numberStyle = .decimal
        formatter.usesGroupingSeparator = false
        return formatter.string(from: NSDecimalNumber(decimal: rounded)) ?? "\(rounded)"
    }
}

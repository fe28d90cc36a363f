import CanopyModel
import CanopyStore
import Foundation

/// Forecasts and anomalies over the ledger, for one currency at a time (USD by default),
/// within the caller's accounts.
public enum CostAnalysis {
    /// Daily totals per key (nil: leave the day out), from `from` to the last day with data.
    static func series(_ days: [CostDay], currency: String, metric: CostMetric, key: (CostDay) -> String?) -> [String: DailySeries] {
        let relevant = days.filter { $0.currency == currency }
        guard let first = relevant.map(\.day).min(), let last = relevant.map(\.day).max() else { return [:] }
        var byKey: [String: [String: Double]] = [:]
        for day in relevant {
            guard let k = key(day) else { continue }
            byKey[k, default: [:]][day.day, default: 0] += NSDecimalNumber(decimal: metric == .billed ? day.billedCost : day.effectiveCost).doubleValue
        }
        return byKey.compactMapValues { DailySeries(byDay: $0, from: first, through: last) }
    }

    public static func forecast(store: any CanopyStore, accounts: [String]? = nil, currency: String = "USD", metric: CostMetric = .billed)
        async throws -> (forecast: CostForecast, backtest: [(month: String, forecast: Double, actual: Double, variance: Double)])
    {
        let days = try await store.costDays(CostQuery(subAccounts: accounts))
        let split = series(days, currency: currency, metric: metric) { $0.chargeCategory == "Usage" ? "usage" : "other" }
        guard let first = split.values.first else { return (CostForecast.make(DailySeries(start: "2000-01-01", values: [])), []) }
        let zero = DailySeries(start: first.start, values: [Double](repeating: 0, count: first.values.count))
        let usage = split["usage"] ?? zero
        let other = split["other"] ?? zero
        return (CostForecast.make(usage, other: other, ahead: 3), CostForecast.backtest(usage, other: other))
    }

    /// Anomalies in usage per service and account since `since` (`YYYY-MM-DD`), each explained by
    /// the resource whose cost rose most that day against the same weekday a week before.
    /// Purchases, fees and tax are billing events on their own calendar, not consumption, and are
    /// left to budgets.
    public static func anomalies(
        store: any CanopyStore, accounts: [String]? = nil, since: String? = nil, currency: String = "USD", detector: AnomalyDetector = AnomalyDetector()
    ) async throws -> [CostAnomaly] {
        let days = try await store.costDays(CostQuery(subAccounts: accounts))
        let all = series(days, currency: currency, metric: .billed) { $0.chargeCategory == "Usage" ? "\($0.serviceName)\u{1}\($0.subAccountID)" : nil }
        var anomalies: [CostAnomaly] = []
        for (key, daily) in all {
            let parts = key.components(separatedBy: "\u{1}")
            for (index, expected) in detector.scan(daily.values) {
                let day = daily.day(index)
                if let since, day < since { continue }
                var anomaly = CostAnomaly(
                    day: day, dimensions: ["service": parts[0], "account": parts[1]], expected: expected, actual: daily.values[index],
                    explainedBy: [:], explainedImpact: nil)
                if let (explanation, impact) = try await explain(store: store, day: day, account: parts[1], service: parts[0], currency: currency) {
                    anomaly.explainedBy = explanation
                    anomaly.explainedImpact = impact
                }
                anomalies.append(anomaly)
            }
        }
        return anomalies.sorted { $0.day != $1.day ? $0.day > $1.day : $0.impact > $1.impact }
    }

    /// What explains an increase best: the application (App tag), the resource or the region
    /// whose single value accounts for the largest part of the rise against the same weekday a
    /// week earlier. A whole application scaling out is one answer, not three instances.
    static func explain(store: any CanopyStore, day: String, account: String, service: String, currency: String) async throws -> ([String: String], Double)? {
        guard let date = CostCalendar.date(day) else { return nil }
        let weekBefore = CostCalendar.day(date.addingTimeInterval(-7 * 86_400))
        let cuts: [(name: String, key: (CostRecord) -> String)] = [
            ("application", { row in row.tags.first { ResourceSelector.normalised($0.key) == "app" }?.value ?? "(untagged)" }),
            ("resource", { row in row.columns["ResourceName"].map { "\($0) (\(row.resourceID ?? "-"))" } ?? row.resourceID ?? "(no resource)" }),
            ("region", { row in row.regionID ?? "(global)" }),
        ]
        let now = try await store.costRows(day: day, subAccount: account, service: service).filter { $0.billingCurrency == currency }
        let before = try await store.costRows(day: weekBefore, subAccount: account, service: service).filter { $0.billingCurrency == currency }
        func sum(_ rows: [CostRecord]) -> Double { rows.reduce(0) { $0 + NSDecimalNumber(decimal: $1.billedCost).doubleValue } }
        let rise = sum(now) - sum(before)
        guard rise > 0 else { return nil }
        var best: (cut: String, value: String, impact: Double)?
        for cut in cuts {
            var deltas: [String: Double] = [:]
            for row in now { deltas[cut.key(row), default: 0] += NSDecimalNumber(decimal: row.billedCost).doubleValue }
            for row in before { deltas[cut.key(row), default: 0] -= NSDecimalNumber(decimal: row.billedCost).doubleValue }
            guard let top = deltas.max(by: { $0.value < $1.value }), top.value > 0 else { continue }
            // A cut counts only when its top value carries most of the rise; earlier cuts win ties.
            if top.value >= rise * 0.5, best == nil || top.value > best!.impact + 1e-9 { best = (cut.name, top.key, top.value) }
        }
        return best.map { ([$0.cut: $0.value], $0.impact) }
    }
}

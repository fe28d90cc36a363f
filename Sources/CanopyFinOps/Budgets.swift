import CanopyModel
import CanopyStore
import Foundation

/// Where a budget stands this month.
public struct BudgetStatus: Sendable, Codable {
    public var budget: Budget
    public var month: String
    public var actual: Decimal
    public var forecast: Decimal
    public var actualShare: Double
    public var forecastShare: Double
    /// Thresholds crossed, as `80% actual` / `100% forecast`.
    public var crossed: [String]
}

/// Checks budgets against the ledger: month-to-date cost and the month-end forecast of each
/// budget's scope. Each threshold crossed raises one finding per budget, month, threshold and
/// basis (`finops.budget`), so a crossing is reported once; new ones go to `onRaised` (the
/// webhooks' `finding.opened`). Severity grows with the threshold: below 80 % low, below 100 %
/// medium, at or over 100 % high.
public enum Budgets {
    public static let checkID = "finops.budget"

    /// - Parameter raise: record crossings as findings (false: only report, for read-only views).
    public static func check(
        store: any CanopyStore, month: String? = nil, raise: Bool = true, onRaised: (@Sendable ([Finding]) async -> Void)? = nil, now: Date = Date()
    ) async throws -> [BudgetStatus] {
        let budgets = try await store.budgets()
        guard !budgets.isEmpty else { return [] }
        let allDays = try await store.costDays(CostQuery())
        guard let lastDay = allDays.map(\.day).max() else { return [] }
        let current = month ?? String(lastDay.prefix(7))
        let ownership = try await store.ownership()
        let accounts = try await store.accounts()
        var statuses: [BudgetStatus] = []
        var findings: [Finding] = []
        for budget in budgets {
            // The scope's daily cost (usage and other charges apart, for the forecast).
            var usage: [String: Double] = [:]
            var other: [String: Double] = [:]
            var actual: Decimal = 0
            func add(day: String, category: String, cost: Decimal) {
                let value = NSDecimalNumber(decimal: cost).doubleValue
                if category == "Usage" { usage[day, default: 0] += value } else { other[day, default: 0] += value }
                if day.hasPrefix(current) { actual += cost }
            }
            switch budget.scope {
            case .account, .businessUnit:
                let scopeAccounts = budget.scope == .account ? [budget.target] : ownership.accounts(ofBusinessUnit: budget.target, among: accounts)
                let set = Set(scopeAccounts)
                for d in allDays where d.currency == budget.currency && set.contains(d.subAccountID) { add(day: d.day, category: d.chargeCategory, cost: d.billedCost) }
            case .application:
                // The application's rows over the last two months (enough for the run rate).
                let months = Set(allDays.map(\.period)).sorted().suffix(2)
                let providers = Set(allDays.map(\.provider))
                for period in months {
                    for provider in providers.sorted() {
                        for row in try await store.costRows(period: period, provider: provider) where row.billingCurrency == budget.currency {
                            let resource = Resource(
                                uid: row.resourceID ?? "", provider: .aws, account: row.subAccountID ?? "", region: row.regionID ?? "", type: row.resourceType ?? "",
                                name: "", tags: row.tags, properties: .object([:]), observedAt: row.chargePeriodStart)
                            if ownership.applicationID(of: resource) == budget.target {
                                add(day: CostCalendar.day(row.chargePeriodStart), category: row.chargeCategory, cost: row.billedCost)
                            }
                        }
                    }
                }
            }
            let forecastTotal = forecast(usage: usage, other: other, month: current, lastDay: lastDay) ?? NSDecimalNumber(decimal: actual).doubleValue
            let amount = NSDecimalNumber(decimal: budget.amount).doubleValue
            let actualShare = amount > 0 ? NSDecimalNumber(decimal: actual).doubleValue / amount : 0
            let forecastShare = amount > 0 ? forecastTotal / amount : 0
            var crossed: [String] = []
            for threshold in budget.thresholds.sorted() {
                for (basis, share) in [("actual", actualShare), ("forecast", forecastShare)] where share * 100 >= Double(threshold) {
                    crossed.append("\(threshold)% \(basis)")
                    let severity = threshold >= 100 ? 4 : threshold >= 80 ? 3 : 2
                    let account = budget.scope == .account ? budget.target : ownership.accounts(ofBusinessUnit: budget.target, among: accounts).first ?? ""
                    findings.append(
                        Finding(
                            uid: "budget-\(budget.id)-\(current)-\(threshold)-\(basis)", checkID: checkID,
                            title: "Budget '\(budget.name)' \(basis == "actual" ? "spent" : "forecast to reach") \(threshold)% in \(current)",
                            severityID: severity, status: .new, resourceUID: "budget:\(budget.id)", resourceType: "canopy.budget", resourceName: budget.name,
                            account: account, region: "global", application: budget.scope == .application ? budget.target : nil, firstSeen: now, lastSeen: now,
                            lastScanID: nil, resourceVersion: nil, policyHash: "budget:\(budget.amount):\(budget.thresholds)", requirements: []))
                }
            }
            statuses.append(
                BudgetStatus(
                    budget: budget, month: current, actual: actual, forecast: Decimal(forecastTotal), actualShare: actualShare, forecastShare: forecastShare,
                    crossed: crossed))
        }
        guard raise else { return statuses }
        let raised = try await store.raise(findings, actor: "canopy")
        if !raised.isEmpty, let onRaised { await onRaised(raised) }
        return statuses
    }

    /// The month's total forecast from the scope's daily cost (nil: no history).
    static func forecast(usage: [String: Double], other: [String: Double], month: String, lastDay: String) -> Double? {
        let days = Set(usage.keys).union(other.keys)
        guard let first = days.min(), let start = FinOpsCalendar.date(first), let end = FinOpsCalendar.date(lastDay), start <= end else { return nil }
        let count = Int((end.timeIntervalSince(start) / 86_400).rounded()) + 1
        var u = [Double](repeating: 0, count: count)
        var o = [Double](repeating: 0, count: count)
        for (day, value) in usage { if let d = FinOpsCalendar.date(day) { let i = Int((d.timeIntervalSince(start) / 86_400).rounded()); if i < count { u[i] += value } } }
        for (day, value) in other { if let d = FinOpsCalendar.date(day) { let i = Int((d.timeIntervalSince(start) / 86_400).rounded()); if i < count { o[i] += value } } }
        let result = CostForecast.make(DailySeries(start: first, values: u), other: DailySeries(start: first, values: o), ahead: 0)
        if let current = result.months.first(where: { $0.month == month }) { return current.total }
        // The month is complete: its forecast is what it cost.
        return zip(u, o).enumerated().filter { DailySeries(start: first, values: u).day($0.offset).hasPrefix(month) }.map { $0.element.0 + $0.element.1 }.reduce(0, +)
    }
}

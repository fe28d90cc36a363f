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
        let allocator = CostAllocator(rules: try await store.currentAllocation()?.rules ?? AllocationRules(), ownership: ownership, accounts: accounts)
        var allocated: [AllocatedCost]?
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
            case .account:
                for d in allDays where d.currency == budget.currency && d.subAccountID == budget.target { add(day: d.day, category: d.chargeCategory, cost: d.billedCost) }
            case .businessUnit, .application:
                // What allocation gives the unit or application (its accounts, tags, shared splits).
                if allocated == nil { allocated = allocator.allocate(try await store.costSlices(CostQuery())) }
                for piece in allocated! where piece.currency == budget.currency
                && (budget.scope == .businessUnit ? piece.unit : piece.application) == budget.target {
                    add(day: piece.day, category: piece.attributes.chargeCategory, cost: piece.billed)
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
        guard let first = Set(usage.keys).union(other.keys).min(), let u = DailySeries(byDay: usage, from: first, through: lastDay),
            let o = DailySeries(byDay: other, from: first, through: lastDay)
        else { return nil }
        let result = CostForecast.make(u, other: o, ahead: 0)
        if let current = result.months.first(where: { $0.month == month }) { return current.total }
        // The month is complete: its forecast is what it cost.
        return u.values.indices.filter { u.day($0).hasPrefix(month) }.map { u.values[$0] + o.values[$0] }.reduce(0, +)
    }
}

import CanopyModel
import CanopyStore
import Foundation

/// FinOps Foundation KPIs for one month: how much of the spend is allocatable to a business unit,
/// how much carries an application tag, commitment coverage where the data has commitments,
/// forecast accuracy from the backtest, and an optional unit cost the user defines.
public struct CostKPIs: Sendable, Codable {
    public var month: String
    public var currency: String
    public var total: Decimal
    /// Share of spend allocation gives a business unit.
    public var allocatable: Double?
    public var unallocated: Double?
    /// Share of usage spend on rows that carry an application tag (`App`, any spelling or alias).
    public var tagCoverage: Double?
    /// Share of usage spend covered by a commitment discount (nil: no commitment data at all).
    public var commitmentCoverage: Double?
    /// Mean absolute forecast variance over the backtested months.
    public var forecastVariance: Double?
    /// Cost ÷ the user's business metric, when given (e.g. per MWh delivered).
    public var unitCost: Decimal?
    public var unitName: String?

    /// - Parameter backtest: the forecast's backtest when the caller has it already (computed when nil).
    public static func build(
        month: String, currency: String = "USD", unit: (name: String, quantity: Decimal)? = nil,
        backtest given: [(month: String, forecast: Double, actual: Double, variance: Double)]? = nil, store: any CanopyStore
    ) async throws -> CostKPIs {
        guard let span = CostCalendar.monthSpan(month) else { throw CostViewError.badMonth(month) }
        var total: Decimal = 0
        var allocatable: Decimal = 0
        var usage: Decimal = 0
        var tagged: Decimal = 0
        // Allocatable: what allocation (ownership, tags, shared splits) gives some business unit.
        let allocator = try await CostAllocator.current(store: store)
        for piece in allocator.allocate(try await store.costSlices(CostQuery(from: span.from, to: span.to))) where piece.currency == currency {
            total += piece.billed
            if piece.unit != nil { allocatable += piece.billed }
            guard piece.attributes.chargeCategory == "Usage" else { continue }
            usage += piece.effective
            if piece.tags["app"] != nil || piece.tags["application"] != nil { tagged += piece.effective }
        }
        // Commitments are a property of single rows.
        var committed: Decimal = 0
        var sawCommitments = false
        for row in try await store.costRows(period: month, subAccounts: nil)
        where row.billingCurrency == currency && row.chargeCategory == "Usage" && row.commitmentDiscountID != nil {
            sawCommitments = true
            committed += row.effectiveCost
        }
        func share(_ part: Decimal, _ whole: Decimal) -> Double? {
            whole == 0 ? nil : NSDecimalNumber(decimal: part).doubleValue / NSDecimalNumber(decimal: whole).doubleValue
        }
        var backtest = given ?? []
        if given == nil { backtest = try await CostAnalysis.forecast(store: store, currency: currency).backtest }
        let variance = backtest.isEmpty ? nil : backtest.map { abs($0.variance) }.reduce(0, +) / Double(backtest.count)
        return CostKPIs(
            month: month, currency: currency, total: total, allocatable: share(allocatable, total),
            unallocated: share(allocatable, total).map { 1 - $0 }, tagCoverage: share(tagged, usage),
            commitmentCoverage: sawCommitments ? share(committed, usage) : nil, forecastVariance: variance,
            unitCost: unit.flatMap { $0.quantity == 0 ? nil : total / $0.quantity }, unitName: unit?.name)
    }
}

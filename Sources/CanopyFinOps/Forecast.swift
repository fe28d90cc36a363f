import CanopyModel
import Foundation

/// A daily cost series, oldest first, one value per calendar day (missing days are zero).
public struct DailySeries: Sendable, Hashable {
    /// The first day, `YYYY-MM-DD`.
    public var start: String
    public var values: [Double]

    public init(start: String, values: [Double]) {
        self.start = start
        self.values = values
    }

    public var startDate: Date { CostCalendar.date(start)! }

    /// A series over every day from `first` through `last` (`YYYY-MM-DD`), from day → cost;
    /// days outside the span are left out, days without cost are zero. Nil when the span is empty.
    public init?(byDay costs: [String: Double], from first: String, through last: String) {
        guard let start = CostCalendar.date(first), let end = CostCalendar.date(last), start <= end else { return nil }
        var values = [Double](repeating: 0, count: Int((end.timeIntervalSince(start) / 86_400).rounded()) + 1)
        for (day, cost) in costs {
            guard let date = CostCalendar.date(day) else { continue }
            let index = Int((date.timeIntervalSince(start) / 86_400).rounded())
            if values.indices.contains(index) { values[index] += cost }
        }
        self.init(start: first, values: values)
    }

    /// The mean cost of each weekday (indexed by `Calendar` weekday, 1 = Sunday) over the last
    /// `lastDays` days, and the overall mean; a weekday without data takes the overall mean.
    func weekdayMeans(lastDays: Int) -> (byWeekday: [Double], overall: Double) {
        var sums = [Double](repeating: 0, count: 8)
        var counts = [Int](repeating: 0, count: 8)
        for offset in 0..<min(lastDays, values.count) {
            let index = values.count - 1 - offset
            let weekday = CostCalendar.utc.component(.weekday, from: startDate.addingTimeInterval(Double(index) * 86_400))
            sums[weekday] += values[index]
            counts[weekday] += 1
        }
        let overall = sums.reduce(0, +) / Double(max(counts.reduce(0, +), 1))
        return ((0...7).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : overall }, overall)
    }
    public func day(_ index: Int) -> String { CostCalendar.day(startDate.addingTimeInterval(Double(index) * 86_400)) }
}

/// The forecast: the rest of the month a series ends in, and the next months.
///
/// Method (stated, so a reader can check it): usage and the month's other charges (purchases,
/// fees, support, tax) are forecast apart. For usage, the **daily run rate** is the mean of the
/// last 28 days by weekday (four of each), so weekday and weekend patterns carry over; the
/// **trend** is the least-squares slope of the last six complete months' totals, as a share of
/// their mean, capped at ±10 % a month; a day ahead costs its weekday's run rate, grown by the
/// trend for each month ahead. The **other charges** of a month are the mean of the last three
/// complete months' (less what the current month has already been charged). Short histories
/// fall back to the plain mean of what there is.
public struct CostForecast: Sendable, Codable, Hashable {
    public struct Month: Sendable, Codable, Hashable {
        public var month: String
        /// Cost already incurred in this month (the current month only).
        public var actual: Double
        /// Forecast for the days not yet incurred.
        public var remaining: Double
        public var total: Double { actual + remaining }
    }

    public var method: String
    public var dailyRunRate: Double
    public var monthlyTrend: Double
    public var months: [Month]

    public static let methodText =
        "usage: weekday-aware run rate (mean of the last 28 days by weekday) × days remaining, grown by the least-squares trend of the last six complete months (capped at ±10 %/month); other charges (purchases, fees, tax): mean of the last three complete months"

    /// - Parameters:
    ///   - series: daily cost up to and including the last day with data.
    ///   - ahead: months to forecast after the current one.
    ///   - other: the other charges, day by day over the same span (nil: none).
    public static func make(_ series: DailySeries, other: DailySeries? = nil, ahead: Int = 3) -> CostForecast {
        let values = series.values
        guard !values.isEmpty else { return CostForecast(method: methodText, dailyRunRate: 0, monthlyTrend: 0, months: []) }
        let lastDate = series.startDate.addingTimeInterval(Double(values.count - 1) * 86_400)
        let calendar = CostCalendar.utc
        // Run rate by weekday over the last 28 days (or what there is).
        let (rate, overall) = series.weekdayMeans(lastDays: 28)
        // Monthly totals of complete months for the trend.
        var monthTotals: [(String, Double)] = []
        for (index, value) in values.enumerated() {
            let month = String(series.day(index).prefix(7))
            if monthTotals.last?.0 == month { monthTotals[monthTotals.count - 1].1 += value } else { monthTotals.append((month, value)) }
        }
        let firstMonthComplete = series.start.hasSuffix("-01")
        let lastMonth = String(CostCalendar.day(lastDate).prefix(7))
        let lastIsComplete = CostCalendar.day(lastDate.addingTimeInterval(86_400)).hasSuffix("-01")
        var complete = monthTotals
        if !firstMonthComplete, !complete.isEmpty { complete.removeFirst() }
        if !lastIsComplete, complete.last?.0 == lastMonth { complete.removeLast() }
        // The trend is measured on weekday-adjusted daily means, so months of different lengths
        // and weekend counts do not read as growth or decline.
        let (longRate, weekdayMean) = series.weekdayMeans(lastDays: 84)
        let factor = longRate.map { weekdayMean > 0 ? max($0 / weekdayMean, 1e-6) : 1 }
        var adjusted: [String: (sum: Double, days: Int)] = [:]
        for (index, value) in values.enumerated() {
            let weekday = calendar.component(.weekday, from: series.startDate.addingTimeInterval(Double(index) * 86_400))
            let month = String(series.day(index).prefix(7))
            adjusted[month, default: (0, 0)].sum += value / factor[weekday]
            adjusted[month, default: (0, 0)].days += 1
        }
        let recent = Array(complete.suffix(6)).compactMap { month -> Double? in adjusted[month.0].map { $0.sum / Double(max($0.days, 1)) } }
        var trend = 0.0
        if recent.count >= 3 {
            let n = Double(recent.count)
            let meanX = (n - 1) / 2
            let meanY = recent.reduce(0, +) / n
            var num = 0.0
            var den = 0.0
            for (i, y) in recent.enumerated() {
                num += (Double(i) - meanX) * (y - meanY)
                den += (Double(i) - meanX) * (Double(i) - meanX)
            }
            if den > 0, meanY > 0 { trend = min(max(num / den / meanY, -0.1), 0.1) }
        }
        // Other charges: the mean of the last three complete months', and what this month has had.
        var fixed = 0.0
        var fixedIncurred = 0.0
        if let other, other.values.count == values.count {
            var totals: [String: Double] = [:]
            for (index, value) in other.values.enumerated() { totals[String(other.day(index).prefix(7)), default: 0] += value }
            let months = complete.map(\.0).suffix(3)
            if !months.isEmpty { fixed = months.map { totals[$0] ?? 0 }.reduce(0, +) / Double(months.count) }
            if !lastIsComplete { fixedIncurred = totals[lastMonth] ?? 0 }
        }
        func projected(_ date: Date, monthsAhead: Int) -> Double {
            rate[calendar.component(.weekday, from: date)] * pow(1 + trend, Double(monthsAhead))
        }
        var months: [Month] = []
        // The current month: what is incurred plus its remaining days.
        let (currentStart, currentEnd) = CostCalendar.monthBounds(lastDate)
        var remaining = 0.0
        var day = lastDate.addingTimeInterval(86_400)
        while day < currentEnd {
            remaining += projected(day, monthsAhead: 0)
            day = day.addingTimeInterval(86_400)
        }
        let incurred = values.enumerated().filter { series.day($0.offset) >= CostCalendar.day(currentStart) }.map(\.element).reduce(0, +)
        if !lastIsComplete {
            months.append(Month(month: lastMonth, actual: incurred + fixedIncurred, remaining: remaining + max(fixed - fixedIncurred, 0)))
        }
        var monthStart = currentEnd
        for step in 0..<ahead {
            let (_, end) = CostCalendar.monthBounds(monthStart)
            var total = 0.0
            var d = monthStart
            while d < end {
                total += projected(d, monthsAhead: step + 1)
                d = d.addingTimeInterval(86_400)
            }
            months.append(Month(month: String(CostCalendar.day(monthStart).prefix(7)), actual: 0, remaining: total + fixed))
            monthStart = end
        }
        return CostForecast(method: methodText, dailyRunRate: overall, monthlyTrend: trend, months: months)
    }

    /// Backtest: for each complete month after the first three, forecast it from everything before
    /// it and compare with what it cost. The error is the FinOps Foundation's forecast variance,
    /// (forecast − actual) ÷ actual.
    public static func backtest(_ series: DailySeries, other: DailySeries? = nil) -> [(month: String, forecast: Double, actual: Double, variance: Double)] {
        var results: [(String, Double, Double, Double)] = []
        var boundaries: [Int] = []
        for index in series.values.indices where series.day(index).hasSuffix("-01") { boundaries.append(index) }
        for (position, start) in boundaries.enumerated() where position >= 3 && position + 1 < boundaries.count {
            let end = boundaries[position + 1]
            let history = DailySeries(start: series.start, values: Array(series.values[..<start]))
            let otherHistory = other.map { DailySeries(start: $0.start, values: Array($0.values[..<start])) }
            guard let predicted = make(history, other: otherHistory, ahead: 1).months.first(where: { $0.month == String(series.day(start).prefix(7)) }) else { continue }
            let actual = series.values[start..<end].reduce(0, +) + (other.map { $0.values[start..<end].reduce(0, +) } ?? 0)
            guard actual > 0 else { continue }
            results.append((String(series.day(start).prefix(7)), predicted.total, actual, (predicted.total - actual) / actual))
        }
        return results
    }
}

import CanopyDemo
import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation
import Testing

/// Forecasts and anomaly detection on series whose answers are known.
@Suite struct ForecastAndAnomalyTests {
    /// 2025-01-01 is a Wednesday. Weekdays cost 100, weekends 40.
    static func weekly(days: Int, start: String = "2025-01-01", growthPerDay: Double = 0) -> DailySeries {
        let first = CostCalendar.date(start)!
        let values = (0..<days).map { index -> Double in
            let weekday = CostCalendar.utc.component(.weekday, from: first.addingTimeInterval(Double(index) * 86_400))
            return (weekday == 1 || weekday == 7 ? 40 : 100) * (1 + growthPerDay * Double(index))
        }
        return DailySeries(start: start, values: values)
    }

    static func expectedMonth(_ month: String) -> Double {
        let (start, end) = CostCalendar.monthBounds(CostCalendar.date(month + "-01")!)
        var total = 0.0
        var day = start
        while day < end {
            let weekday = CostCalendar.utc.component(.weekday, from: day)
            total += weekday == 1 || weekday == 7 ? 40 : 100
            day = day.addingTimeInterval(86_400)
        }
        return total
    }

    @Test func aSteadyWeeklyPatternIsForecastExactlyAndBacktestsToZero() {
        // Jan 1 … Jun 10, 2025: mid-June is the current month.
        let series = Self.weekly(days: 161)
        let forecast = CostForecast.make(series, ahead: 3)
        #expect(forecast.monthlyTrend == 0 || abs(forecast.monthlyTrend) < 0.01)
        #expect(forecast.months.map(\.month) == ["2025-06", "2025-07", "2025-08", "2025-09"])
        #expect(abs(forecast.months[0].total - Self.expectedMonth("2025-06")) < 1e-6, "incurred + remaining = the month")
        // Month lengths and weekends differ, so the trend must be about zero for these to hold.
        for month in forecast.months.dropFirst() {
            #expect(abs(month.total - Self.expectedMonth(month.month)) / Self.expectedMonth(month.month) < 0.02, "\(month.month)")
        }
        let backtest = CostForecast.backtest(series)
        #expect(!backtest.isEmpty && backtest.allSatisfy { abs($0.variance) < 0.02 })
    }

    @Test func growthIsFoundAsATrend() {
        let series = Self.weekly(days: 243, growthPerDay: 0.001)  // ≈ 3 % a month
        let forecast = CostForecast.make(series, ahead: 2)
        #expect(forecast.monthlyTrend > 0.02 && forecast.monthlyTrend < 0.04, "\(forecast.monthlyTrend)")
        #expect(forecast.months.last!.total > forecast.months.dropLast().last!.total * 0.97)
    }

    @Test func otherChargesAreForecastAsTheirMonthlyMean() throws {
        let usage = Self.weekly(days: 150)
        var fee = [Double](repeating: 0, count: 150)
        for index in fee.indices where usage.day(index).hasSuffix("-01") { fee[index] = 850 }
        let forecast = CostForecast.make(usage, other: DailySeries(start: usage.start, values: fee), ahead: 1)
        let june = try #require(forecast.months.first { $0.month == "2025-06" })
        #expect(abs(june.total - (Self.expectedMonth("2025-06") + 850)) < 1e-6)
    }

    @Test func aSpikeIsFoundOnItsDayAndNoiseIsNot() {
        var values = Self.weekly(days: 90).values
        // Deterministic ±5 % noise.
        var state: UInt64 = 42
        for index in values.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            values[index] *= 1 + (Double(state >> 33) / Double(UInt32.max) - 0.5) * 0.1
        }
        let detector = AnomalyDetector(relative: 0.5, minimumImpact: 5, deviations: 3)
        #expect(detector.scan(values).isEmpty, "noise is not an anomaly")
        values[60] *= 3
        let found = detector.scan(values)
        #expect(found.map(\.index) == [60])
        let base = Self.weekly(days: 90).values[60]  // a Sunday: 40
        #expect(abs(found[0].expected - base) / base < 0.1)
        // A lasting step up is news for four weeks, then it is the new normal.
        var stepped = Self.weekly(days: 120).values
        for index in 50..<120 { stepped[index] *= 2 }
        let steps = detector.scan(stepped).map(\.index)
        #expect(steps.first == 50 && steps.allSatisfy { $0 < 50 + 28 })
    }

    @Test func theDemosPlantedAnomalyIsFoundAndExplainedAndNothingElse() async throws {
        let store = try SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        try await store.replaceOwnership(try DemoGovernance.ownership(), actor: "t")
        let end = try await store.scans(limit: 1).first?.finishedAt ?? Date()
        _ = try await DemoCosts.load(into: store, end: end)
        let anomalies = try await CostAnalysis.anomalies(store: store)
        #expect(Set(anomalies.map(\.day)) == DemoCosts.anomalyDays)
        #expect(anomalies.allSatisfy { $0.dimensions == ["service": "AmazonEC2", "account": DemoCosts.anomalyAccount] })
        #expect(anomalies.allSatisfy { $0.explainedBy == ["application": "turbine-analytics"] })
        let (forecast, backtest) = try await CostAnalysis.forecast(store: store)
        #expect(forecast.months.count == 4 && backtest.count >= 6)
        #expect(backtest.map { abs($0.variance) }.reduce(0, +) / Double(backtest.count) < 0.05)

        // Chargeback is exhaustive: the units' statements add up to the month, to the last digit.
        let ownership = try await store.ownership()
        let accounts = try await store.accounts()
        var statements: Decimal = 0
        for unit in ownership.businessUnits {
            let statement = try await ChargebackStatement.build(unit: unit, month: "2026-10", store: store)
            #expect(statement.billedTotal == statement.lines.reduce(0) { $0 + $1.billed })
            statements += statement.billedTotal
        }
        let month = try await CostBreakdown.build(by: .month, metric: .billed, query: CostQuery(from: "2026-10-01", to: "2026-11-01"), store: store)
        #expect(statements == month.totals["USD"])
        let kpis = try await CostKPIs.build(month: "2026-10", unit: ("MWh", 1_000), store: store)
        #expect(kpis.allocatable == 1 && kpis.commitmentCoverage == nil && kpis.total == month.totals["USD"])
        #expect((kpis.tagCoverage ?? 0) > 0.5 && (kpis.tagCoverage ?? 1) < 1)
        #expect(kpis.unitCost == month.totals["USD"]! / 1_000)

        // A budget October's anomaly broke: crossings raise findings once, and only new ones are told.
        try await store.save(Budget(id: "gen", name: "Generation", scope: .businessUnit, target: "generation", amount: 2_050), actor: "t")
        let told = Told()
        let statuses = try await Budgets.check(store: store, month: "2026-10") { await told.add($0) }
        let october = try #require(statuses.first)
        #expect(october.crossed.contains("100% actual"))
        // The unit's cost row by row, as ownership places each (its application's unit, else its
        // account's): the allocator works on daily slices, this on single rows.
        let accountsByID = Dictionary(uniqueKeysWithValues: accounts.map { ($0.id, $0) })
        let unitCost = try await store.costRows(period: "2026-10", subAccounts: nil)
            .filter { ownership.businessUnitID(of: $0.asResource, account: accountsByID[$0.subAccountID ?? ""]) == "generation" }
            .reduce(Decimal(0)) { $0 + $1.billedCost }
        #expect(october.actual == unitCost)
        #expect(await told.count == 6, "50, 80 and 100 %, on actual and forecast")
        _ = try await Budgets.check(store: store, month: "2026-10") { await told.add($0) }
        #expect(await told.count == 6, "a crossing is reported once")
        #expect(try await store.findings(FindingQuery(checkIDs: [Budgets.checkID], statuses: [.new])).count == 6)
    }

    actor Told {
        var count = 0
        func add(_ findings: [Finding]) { count += findings.count }
    }
}

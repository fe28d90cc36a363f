import CanopyCarbon
import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation
import Hummingbird

/// Carbon from the cost ledger: a month's energy and emissions by one dimension, the trend, the
/// what-ifs and the ESG report, scoped like costs (a bu-owner sees their accounts').
extension ConsoleController {
    /// The months a carbon page shows at most (the trend and year-over-year need thirteen).
    static let carbonMonths = 13

    @Sendable func carbon(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        var body = "<h1>\(HTML.escape(t("carbon.title")))</h1>"
        let held = try await store.costPeriods()
        guard !held.isEmpty else {
            body += "<p>\(HTML.escape(t("costs.empty")))</p>"
            return render(p, context, title: t("carbon.title"), active: "/carbon", path: "/carbon", body)
        }
        let dimension = try q.get("by").flatMap { $0.isEmpty ? nil : $0 }.map { text in
            guard let known = CarbonDimension(rawValue: text) else { throw p.badRequest("by: \(text)") }
            return known
        } ?? .service
        let shown = Array(held.suffix(Self.carbonMonths))
        let selected = q.get("month").flatMap { $0.isEmpty ? nil : $0 } ?? shown.last!
        guard shown.contains(selected) else { throw p.badRequest("month: \(selected)") }
        let version = try await dependencies.cache.version(store)
        let scope = p.scope
        let ledger = try await dependencies.cache.carbonLedger(months: shown, scope: scope, store: store)
        body += "<form method=\"get\" action=\"/carbon\" class=\"filters\"><label>\(HTML.escape(t("costs.month"))) <select name=\"month\">"
        for month in shown.reversed() { body += "<option value=\"\(month)\"\(month == selected ? " selected" : "")>\(month)</option>" }
        body += "</select></label><label>\(HTML.escape(t("costs.by"))) <select name=\"by\">"
        for option in CarbonDimension.allCases where option != .month {
            body += "<option value=\"\(option.rawValue)\"\(option == dimension ? " selected" : "")>\(HTML.escape(t("carbon.dimension.\(option.rawValue)")))</option>"
        }
        body += "</select></label><button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form>"
        // Trend: location-based operational plus embodied, tonnes, per month.
        let monthly = CarbonBreakdown.build(ledger, by: .month)
        body += "<h2>\(HTML.escape(t("carbon.trend")))</h2>" + Chart.line(
            shown.map { (label: $0, value: monthly.monthTotals[$0].map { $0.totalKg / 1_000 }) }, title: t("carbon.trend"), maximum: nil
        ) { String(format: "%.3f t", $0) }
        let view = CarbonBreakdown.build(ledger, by: dimension)
        let total = view.monthTotals[selected] ?? CarbonTotals()
        body += "<h2>\(HTML.escape(selected)) — \(HTML.escape(t("carbon.dimension.\(dimension.rawValue)")))</h2>"
        body += "<p>\(HTML.escape(t("carbon.scope2location"))): <b>\(Self.tonnes(total.locationKg))</b> tCO2e · \(HTML.escape(t("carbon.scope2market"))): <b>\(Self.tonnes(total.marketKg))</b> tCO2e · "
            + "\(HTML.escape(t("carbon.scope3"))): <b>\(Self.tonnes(total.embodiedKg))</b> tCO2e · \(String(format: "%.1f", total.kWh)) kWh · "
            + "\(HTML.escape(t("carbon.intensity"))): \(total.gramsPerCurrency.map { String(format: "%.1f", $0) } ?? "–")</p>"
        let earlier = CarbonPeriod.yearEarlier([selected])[0]
        if let before = monthly.monthTotals[earlier], before.totalKg > 0 {
            body += "<p>\(HTML.escape(t("carbon.yoy"))) (\(HTML.escape(earlier))): \(Self.tonnes(before.totalKg)) t → \(Self.tonnes(total.totalKg)) t ("
                + String(format: "%+.1f%%", (total.totalKg - before.totalKg) / before.totalKg * 100) + ")</p>"
        }
        let ownership = try await dependencies.cache.ownership(store)
        func label(_ key: String) -> String {
            if key == CarbonBreakdown.unallocated { return t("costs.unallocated") }
            switch dimension {
            case .businessUnit: return ownership.businessUnit(key)?.displayName(zh: p.zh) ?? key
            case .application: return ownership.application(key)?.displayName(zh: p.zh) ?? key
            default: return key
            }
        }
        let lines = view.lines.filter { $0.month == selected }
        body += Chart.bars(
            lines.prefix(12).map { (label: label($0.key), value: $0.totals.totalKg, colour: String?.none) }, title: "\(selected) \(t("carbon.dimension.\(dimension.rawValue)"))"
        ) { String(format: "%.1f kg", $0) }
        body += HTML.table(
            [
                t("carbon.dimension.\(dimension.rawValue)"), "kWh", t("carbon.scope2location") + " (kgCO2e)", t("carbon.scope2market") + " (kgCO2e)",
                t("carbon.scope3") + " (kgCO2e)", t("costs.cost"), t("carbon.intensity"),
            ],
            lines.map { line in
                [
                    HTML.escape(label(line.key)), "<span class=\"num\">\(String(format: "%.2f", line.totals.kWh))</span>",
                    "<span class=\"num\">\(String(format: "%.3f", line.totals.locationKg))</span>", "<span class=\"num\">\(String(format: "%.3f", line.totals.marketKg))</span>",
                    "<span class=\"num\">\(String(format: "%.3f", line.totals.embodiedKg))</span>", "<span class=\"num\">\(String(format: "%.2f", line.totals.cost))</span>",
                    line.totals.gramsPerCurrency.map { String(format: "%.1f", $0) } ?? "–",
                ]
            })
        body += "<p class=\"note\">\(HTML.escape(t("carbon.units")))</p>"
        body += "<p class=\"note\">\(HTML.escape(Self.coverageText(view.coverage, t)))</p>"
        // What-ifs: each saving's CO2e next to its dollars, then a region move.
        let judged = try await Recommender.judgementTime(store: store)
        let savings = try await dependencies.cache.value("carbon-savings|\(scope.key)", version: version) {
            try await CarbonWhatIf.savings(try await Recommender().recommend(store: store, now: judged).filter { scope.allows($0.account) }, store: store, now: judged)
        }
        if !savings.isEmpty {
            let saved = savings.reduce(0) { $0 + $1.savedKg }
            body += "<h2>\(HTML.escape(t("carbon.whatif")))</h2><p>\(HTML.escape(t("carbon.whatifTotal"))): \(String(format: "%.1f", saved)) kgCO2e · "
                + "\(savings.reduce(Decimal(0)) { $0 + $1.recommendation.monthlySaving }.cents) USD</p>"
            body += HTML.table(
                [t("costs.kind"), t("col.resource"), t("costs.saving"), t("carbon.savedKg"), t("carbon.assumption")],
                savings.sorted { $0.savedKg > $1.savedKg }.prefix(20).map { s in
                    [
                        HTML.escape(t("costs.kind.\(s.recommendation.kind.rawValue)")),
                        "<a href=\"/resource\(HTML.escape(HTML.query([("uid", s.recommendation.resourceUID)])))\">\(HTML.escape(s.recommendation.resourceName))</a>",
                        "<span class=\"num\">\(s.recommendation.monthlySaving.cents)</span>", "<span class=\"num\">\(String(format: "%.2f", s.savedKg))</span>",
                        HTML.escape(
                            t("carbon.model.\(s.model)").replacingOccurrences(of: "{type}", with: s.afterType ?? "")
                                .replacingOccurrences(of: "{cpu}", with: Layout.percent(s.afterUtilisation))),
                    ]
                })
        }
        let applications = Set(ledger.placed.compactMap(\.application)).sorted()
        let moveApp = q.get("app").flatMap { applications.contains($0) ? $0 : nil }
        body += "<h2>\(HTML.escape(t("carbon.move")))</h2><form method=\"get\" action=\"/carbon\" class=\"filters\"><input type=\"hidden\" name=\"month\" value=\"\(HTML.escape(selected))\">"
            + "<input type=\"hidden\" name=\"by\" value=\"\(dimension.rawValue)\"><label>\(HTML.escape(t("col.application"))) <select name=\"app\">"
        for app in applications {
            body += "<option value=\"\(HTML.escape(app))\"\(app == moveApp ? " selected" : "")>\(HTML.escape(ownership.application(app)?.displayName(zh: p.zh) ?? app))</option>"
        }
        let regions = CarbonCoefficients.bundled.awsGridFactors.keys.sorted() + Array(CarbonCoefficients.taiwanRegions).sorted()
        let target = q.get("toRegion").flatMap { regions.contains($0) ? $0 : nil }
        body += "</select></label><label>\(HTML.escape(t("carbon.toRegion"))) <select name=\"toRegion\">"
        for region in regions { body += "<option value=\"\(region)\"\(region == (target ?? "eu-north-1") ? " selected" : "")>\(region)</option>" }
        body += "</select></label><button type=\"submit\">\(HTML.escape(t("carbon.compare")))</button></form>"
        if let moveApp, let target {
            let move = CarbonWhatIf.move(ledger, selecting: CarbonWhatIf.Selection(application: moveApp), to: target, month: selected)
            body += HTML.table(
                ["", "kWh", t("carbon.scope2location") + " (kgCO2e)", t("carbon.scope2market") + " (kgCO2e)", t("carbon.scope3") + " (kgCO2e)"],
                [("carbon.now", move.current), ("carbon.moved", move.moved)].map { key, totals in
                    [HTML.escape(t(key)), String(format: "%.2f", totals.kWh), String(format: "%.3f", totals.locationKg), String(format: "%.3f", totals.marketKg), String(format: "%.3f", totals.embodiedKg)]
                })
        }
        // The ESG report for the selected month's year, quarter and month.
        let year = String(selected.prefix(4))
        let quarter = "\(year)-Q\(((Int(selected.suffix(2)) ?? 1) - 1) / 3 + 1)"
        body += "<h2>\(HTML.escape(t("carbon.report")))</h2><ul>"
        for period in [year, quarter, selected] {
            let base = "/api/v1/carbon/report" + HTML.query([("period", period), ("lang", p.zh ? "zh-TW" : "en")])
            body += "<li>\(HTML.escape(period)): <a href=\"\(HTML.escape(base + "&format=html"))\">HTML</a> · <a href=\"\(HTML.escape(base + "&format=csv"))\">CSV</a> · "
                + "<a href=\"\(HTML.escape(base + "&format=json"))\">JSON</a></li>"
        }
        body += "</ul><p class=\"note\">\(HTML.escape(t("carbon.method")))</p>"
        return render(p, context, title: t("carbon.title"), active: "/carbon", path: "/carbon", body)
    }

    static func tonnes(_ kg: Double) -> String { String(format: "%.3f", kg / 1_000) }

    static func coverageText(_ coverage: CarbonCoverage, _ t: Localizer) -> String {
        var parts: [String] = []
        if let share = coverage.usageShare { parts.append("\(t("carbon.coverage.usage")) \(Layout.percent(share))") }
        if let share = coverage.measuredUtilisationShare { parts.append("\(t("carbon.coverage.measured")) \(Layout.percent(share))") }
        if !coverage.fallbackRegions.isEmpty { parts.append("\(t("carbon.coverage.fallback")) \(coverage.fallbackRegions.joined(separator: ", "))") }
        if coverage.provisionalFactors { parts.append(t("carbon.coverage.provisional")) }
        return "\(t("carbon.coverage")): " + parts.joined(separator: " · ")
    }
}

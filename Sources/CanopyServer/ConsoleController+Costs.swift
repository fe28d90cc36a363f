import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation
import Hummingbird

/// Costs from the FOCUS ledger, cut by one dimension, scoped like everything else: a
/// business-unit owner sees their accounts' cost only.
extension ConsoleController {
    /// The month (`YYYY-MM`) and its day bounds a cost view asks for, or the latest in the ledger.
    static func costMonth(_ text: String?, latest: String?) -> (month: String, from: String, to: String)? {
        guard let month = (text?.isEmpty == false ? text : nil) ?? latest else { return nil }
        guard let span = CostCalendar.monthSpan(month, years: 2000...2200) else { return nil }
        return (month, span.from, span.to)
    }

    @Sendable func costs(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        let dimension = try q.get("by").flatMap { $0.isEmpty ? nil : $0 }.map { text in
            guard let dimension = CostDimension(text: text), dimension != .day else { throw p.badRequest("by: \(text)") }
            return dimension
        } ?? .service
        let metric = try q.get("metric").flatMap { $0.isEmpty ? nil : $0 }.map { text in
            guard let metric = CostMetric(rawValue: text) else { throw p.badRequest("metric: \(text)") }
            return metric
        } ?? .billed
        let accounts = p.scope.accountList
        // The months the ledger holds (in scope), newest last.
        let monthly = try await CostBreakdown.build(by: .month, metric: metric, query: CostQuery(subAccounts: accounts), store: store)
        let months = Array(Set(monthly.lines.map(\.key))).sorted()
        var body = "<h1>\(HTML.escape(t("costs.title")))</h1>"
        guard !months.isEmpty else {
            body += "<p>\(HTML.escape(t("costs.empty")))</p>"
            return render(p, context, title: t("costs.title"), active: "/costs", path: "/costs", body)
        }
        guard let selected = Self.costMonth(q.get("month"), latest: months.last) else { throw p.badRequest("month: \(q.get("month") ?? "")") }
        body += "<form method=\"get\" action=\"/costs\" class=\"filters\"><label>\(HTML.escape(t("costs.month"))) <select name=\"month\">"
        for month in months.reversed() {
            body += "<option value=\"\(month)\"\(month == selected.month ? " selected" : "")>\(month)</option>"
        }
        body += "</select></label><label>\(HTML.escape(t("costs.by"))) <select name=\"by\">"
        // The ledger's columns, what allocation gives, and each cost category in force.
        let allocation = try await store.currentAllocation()
        let rules = allocation?.rules ?? AllocationRules()
        var options: [CostDimension] = [.service, .account, .region, .provider, .month, .charge, .businessUnit, .application]
        options += rules.categories.map { .category($0.name) }
        if !options.contains(dimension) { options.append(dimension) }
        func dimensionName(_ d: CostDimension) -> String {
            switch d {
            case .category(let name): name ?? rules.categories.first?.name ?? t("costs.dimension.category")
            case .tag(let key): "\(t("costs.dimension.tag")) \(key)"
            default: t("costs.dimension.\(d)")
            }
        }
        for option in options {
            body += "<option value=\"\(HTML.escape(option.description))\"\(option == dimension ? " selected" : "")>\(HTML.escape(dimensionName(option)))</option>"
        }
        body += "</select></label><label>\(HTML.escape(t("costs.metric"))) <select name=\"metric\">"
        for option in CostMetric.allCases {
            body += "<option value=\"\(option.rawValue)\"\(option == metric ? " selected" : "")>\(HTML.escape(t("costs.metric.\(option.rawValue)")))</option>"
        }
        body += "</select></label><button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form>"
        let currencies = Set(monthly.lines.map(\.currency))
        for currency in currencies.sorted() {
            let points = months.map { month in (label: month, value: monthly.lines.first { $0.key == month && $0.currency == currency }.map { Self.double($0.cost) }) }
            body += "<h2>\(HTML.escape(t("costs.trend"))) (\(HTML.escape(currency)))</h2>" + Chart.line(points, title: "\(t("costs.trend")) \(currency)", maximum: nil) { String(format: "%.0f", $0) }
        }
        let breakdown: CostBreakdown
        do {
            breakdown = try await CostBreakdown.build(
                by: dimension, metric: metric, query: CostQuery(from: selected.from, to: selected.to, subAccounts: accounts), store: store)
        } catch let error as CostViewError { throw p.badRequest("by: \(error)") }
        let ownership = try await dependencies.cache.ownership(store)
        func label(_ key: String) -> String {
            switch dimension {
            case .businessUnit: ownership.businessUnit(key)?.displayName(zh: p.zh) ?? (key == CostBreakdown.unallocated ? t("costs.unallocated") : key)
            case .application: ownership.application(key)?.displayName(zh: p.zh) ?? (key == CostBreakdown.unallocated ? t("costs.unallocated") : key)
            default: key == CostBreakdown.unallocated ? t("costs.unallocated") : key
            }
        }
        let totals = breakdown.totals.sorted { $0.key < $1.key }.map { "\($0.value.cents) \($0.key)" }.joined(separator: " · ")
        body += "<h2>\(HTML.escape(selected.month)) — \(HTML.escape(dimensionName(dimension)))</h2><p>\(HTML.escape(t("costs.total"))): \(HTML.escape(totals))</p>"
        if dimension.isAllocated {
            let text = allocation.map { "v\($0.version) · \(Timestamps.iso8601($0.appliedAt).prefix(10)) · \($0.actor)" } ?? t("costs.allocationNone")
            body += "<p class=\"muted\">\(HTML.escape(t("costs.allocationVersion"))): \(HTML.escape(text))</p>"
        }
        body += Chart.bars(
            breakdown.lines.prefix(12).map { (label: label($0.key), value: Self.double($0.cost), colour: String?.none) },
            title: "\(selected.month) \(dimensionName(dimension))"
        ) { String(format: "%.2f", $0) }
        body += HTML.table(
            [dimensionName(dimension), t("costs.cost"), t("costs.share"), t("costs.currency")],
            breakdown.lines.map { line in
                let total = breakdown.totals[line.currency] ?? 0
                let share = total == 0 ? nil : Self.double(line.cost) / Self.double(total)
                var name = HTML.escape(label(line.key))
                if dimension == .businessUnit, line.key != CostBreakdown.unallocated {
                    let link = "/costs/chargeback" + HTML.query([("unit", line.key), ("month", selected.month)])
                    name += " · <a href=\"\(HTML.escape(link))\">\(HTML.escape(t("costs.statement")))</a>"
                        + " <a href=\"\(HTML.escape(link + "&format=csv"))\">CSV</a>"
                }
                return [name, "<span class=\"num\">\(line.cost.cents)</span>", Layout.percent(share), HTML.escape(line.currency)]
            })
        let forecast = try await CostAnalysis.forecast(store: store, accounts: accounts)
        if accounts == nil {
            // Estate-wide measures: for those who see the whole estate.
            let kpis = try await CostKPIs.build(month: selected.month, backtest: forecast.backtest, store: store)
            body += "<h2>\(HTML.escape(t("costs.kpis")))</h2>" + HTML.table(
                [t("costs.kpi"), t("costs.value")],
                [
                    ("costs.kpi.allocatable", kpis.allocatable), ("costs.kpi.unallocated", kpis.unallocated), ("costs.kpi.tagCoverage", kpis.tagCoverage),
                    ("costs.kpi.commitmentCoverage", kpis.commitmentCoverage), ("costs.kpi.forecastVariance", kpis.forecastVariance),
                ].map { [HTML.escape(t($0.0)), $0.1.map { Layout.percent($0) } ?? HTML.escape(t("costs.noData"))] })
        }
        // Budgets in scope: a bu-owner sees their units' and accounts' budgets.
        let statuses = try await Budgets.check(store: store, month: selected.month, raise: false).filter { p.scope.mayRead($0.budget, ownership: ownership) }
        if !statuses.isEmpty {
            body += "<h2>\(HTML.escape(t("costs.budgets")))</h2>" + HTML.table(
                [t("col.name"), t("costs.budgetScope"), t("costs.amount"), t("costs.actual"), t("costs.forecast"), t("costs.crossed")],
                statuses.map { s in
                    [
                        HTML.escape(s.budget.name), HTML.escape("\(t("costs.scope.\(s.budget.scope.rawValue)")) \(s.budget.target)"),
                        "\(s.budget.amount.cents) \(HTML.escape(s.budget.currency))", "\(s.actual.cents) (\(Layout.percent(s.actualShare)))",
                        "\(s.forecast.cents) (\(Layout.percent(s.forecastShare)))", HTML.escape(s.crossed.joined(separator: ", ")),
                    ]
                })
        }
        body += try await forecastAndAnomalies(p, accounts: accounts, forecast: forecast)
        // Savings, judged as of the last scan (the window its metrics cover).
        let judged = try await Recommender.judgementTime(store: store)
        let savings = try await Recommender().recommend(store: store, now: judged).filter { p.scope.allows($0.account) }
        if !savings.isEmpty {
            let total = savings.reduce(Decimal(0)) { $0 + $1.monthlySaving }
            body += "<h2>\(HTML.escape(t("costs.recommendations")))</h2><p>\(savings.count) · \(HTML.escape(t("costs.savingTotal"))) \(total.cents) USD · \(HTML.escape(t("costs.prices"))) \(HTML.escape(PriceTable.source))</p>"
            body += HTML.table(
                [t("costs.kind"), t("col.resource"), t("col.application"), t("costs.saving"), t("col.details")],
                savings.prefix(25).map { r in
                    [
                        HTML.escape(t("costs.kind.\(r.kind.rawValue)")), "<a href=\"/resource\(HTML.escape(HTML.query([("uid", r.resourceUID)])))\">\(HTML.escape(r.resourceName))</a>",
                        HTML.escape(r.application.flatMap { ownership.application($0)?.displayName(zh: p.zh) } ?? r.application ?? ""), "\(r.monthlySaving.cents)",
                        HTML.escape(r.detail),
                    ]
                })
        }
        return render(p, context, title: t("costs.title"), active: "/costs", path: "/costs", body)
    }

    /// The forecast (with its method and backtest) and the anomalies of the last 90 days.
    func forecastAndAnomalies(
        _ p: Page, accounts: [String]?,
        forecast computed: (forecast: CostForecast, backtest: [(month: String, forecast: Double, actual: Double, variance: Double)])
    ) async throws -> String {
        let t = p.t
        let (forecast, backtest) = computed
        var body = "<h2>\(HTML.escape(t("costs.forecast")))</h2><p class=\"note\">\(HTML.escape(t("costs.forecastMethod")))</p>"
        body += HTML.table(
            [t("costs.month"), t("costs.incurred"), t("costs.remaining"), t("costs.forecastTotal")],
            forecast.months.map { [HTML.escape($0.month), String(format: "%.2f", $0.actual), String(format: "%.2f", $0.remaining), String(format: "%.2f", $0.total)] })
        if !backtest.isEmpty {
            let mean = backtest.map { abs($0.variance) }.reduce(0, +) / Double(backtest.count)
            body += "<p>\(HTML.escape(t("costs.backtest"))): \(String(format: "%.1f%%", mean * 100)) (\(backtest.count) \(HTML.escape(t("costs.months"))))</p>"
        }
        let since = CostCalendar.day(Date().addingTimeInterval(-90 * 86_400))
        let anomalies = try await CostAnalysis.anomalies(store: store, accounts: accounts, since: since)
        body += "<h2>\(HTML.escape(t("costs.anomalies")))</h2>"
        body += anomalies.isEmpty ? "<p>\(HTML.escape(t("costs.noAnomalies")))</p>" : HTML.table(
            [t("col.time"), t("costs.dimension.service"), t("costs.dimension.account"), t("costs.expected"), t("costs.actual"), t("costs.explainedBy")],
            anomalies.map { a in
                [
                    HTML.escape(a.day), HTML.escape(a.dimensions["service"] ?? ""), HTML.escape(a.dimensions["account"] ?? ""),
                    String(format: "%.2f", a.expected), String(format: "%.2f", a.actual),
                    HTML.escape(a.explainedBy.map { "\(t("costs.cut.\($0.key)")): \($0.value)" }.joined(separator: ", ")),
                ]
            })
        return body
    }

    static func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }

    /// A unit's printable statement (or its CSV) for a month; a bu-owner gets only their own units.
    @Sendable func chargeback(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let q = request.uri.queryParameters
        guard let month = Self.costMonth(q.get("month"), latest: nil)?.month else { throw p.badRequest("month") }
        let ownership = try await dependencies.cache.ownership(store)
        let accounts = try await store.accounts()
        guard let id = q.get("unit"), let unit = ownership.effectiveBusinessUnits(accounts: accounts).first(where: { $0.id == id }),
            p.scope.units?.contains(id) ?? true
        else { throw p.notFound() }
        // A unit's statement is all cost allocated to it (the unit is in the reader's scope).
        let statement = try await ChargebackStatement.build(unit: unit, month: month, store: store)
        if q.get("format") == "csv" {
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"chargeback-\(id)-\(month).csv\""],
                body: .init(byteBuffer: ByteBuffer(string: statement.csv)))
        }
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: statement.html(chinese: p.zh, unitNameZh: unit.nameZh, stylesheet: "/static/canopy.css"))))
    }
}

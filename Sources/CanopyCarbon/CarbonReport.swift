import CanopyFinOps
import CanopyModel
import CanopyStore
import Foundation

/// An ESG report an ESG team can file: a year, quarter or month of the estate's emissions by
/// scope, broken down by month, business unit, application, service and region, with the year
/// before for comparison, the method and every coefficient's source, the data coverage and the
/// assumptions. HTML (printable; Traditional Chinese or English), CSV and JSON.
public struct CarbonReport: Sendable, Codable {
    public enum Format: String, Sendable, CaseIterable { case html, csv, json }

    public struct Row: Sendable, Codable, Hashable {
        public var key: String
        public var totals: CarbonTotals
    }

    public var period: String
    public var months: [String]
    public var generatedAt: Date
    public var total: CarbonTotals
    /// The same months a year before, where the ledger has them.
    public var previousYear: CarbonTotals?
    public var byMonth: [Row]
    public var byBusinessUnit: [Row]
    public var byApplication: [Row]
    public var byService: [Row]
    public var byRegion: [Row]
    public var coverage: CarbonCoverage
    public var sources: [String]
    public var settingsSHA256: String?
    /// Emissions per unit of a business metric the user gives (e.g. per MWh delivered).
    public var unitIntensity: UnitIntensity?
    public var defaultUtilisation: Double
    public var assumptions: [String]

    public struct UnitIntensity: Sendable, Codable, Hashable {
        public var name: String
        public var quantity: Double
        /// Location-based operational plus embodied, kgCO2e per unit.
        public var kgPerUnit: Double
    }

    public static func build(
        period: String, store: any CanopyStore, allows: (@Sendable (String) -> Bool)? = nil, unit: (name: String, quantity: Double)? = nil, now: Date = Date()
    ) async throws -> CarbonReport {
        let months = try CarbonPeriod.months(period: period)
        let held = Set(try await store.costPeriods())
        let covered = months.filter(held.contains)
        guard !covered.isEmpty else { throw CarbonPeriod.Problem.noMonths }
        let ledger = try await CarbonLedger.build(months: covered, store: store, allows: allows)
        func rows(_ dimension: CarbonDimension) -> [Row] {
            CarbonBreakdown.build(ledger, by: dimension).overall.map { Row(key: $0.key, totals: $0.totals) }
        }
        let byMonth = CarbonBreakdown.build(ledger, by: .month)
        let earlier = CarbonPeriod.yearEarlier(covered).filter(held.contains)
        var previous: CarbonTotals?
        if earlier.count == covered.count {
            previous = CarbonBreakdown.build(try await CarbonLedger.build(months: earlier, store: store, allows: allows), by: .month).total
        }
        let settings = ledger.settingsUsed
        var assumptions = Self.assumptionKeys.map { Self.assumption($0, zh: false, utilisation: settings.defaultUtilisation) }
        if months.count != covered.count { assumptions.append("The ledger holds \(covered.count) of the period's \(months.count) months: \(covered.joined(separator: ", "))") }
        return CarbonReport(
            period: period, months: covered, generatedAt: now, total: byMonth.total, previousYear: previous,
            byMonth: byMonth.overall.map { Row(key: $0.key, totals: $0.totals) }.sorted { $0.key < $1.key },
            byBusinessUnit: rows(.businessUnit), byApplication: rows(.application), byService: rows(.service), byRegion: rows(.region),
            coverage: byMonth.coverage, sources: CarbonCoefficients.sources, settingsSHA256: ledger.settings?.sha256,
            unitIntensity: unit.flatMap { $0.quantity > 0 ? UnitIntensity(name: $0.name, quantity: $0.quantity, kgPerUnit: byMonth.total.totalKg / $0.quantity) : nil },
            defaultUtilisation: settings.defaultUtilisation,
            assumptions: assumptions)
    }

    static let assumptionKeys = ["utilisation", "fromCost", "scopes", "market", "memory", "embodied"]

    static func assumption(_ key: String, zh: Bool, utilisation: Double) -> String {
        let percent = String(format: "%.0f", utilisation * 100)
        switch (key, zh) {
        case ("utilisation", false): return "CPU utilisation \(percent) % where no CloudWatch series covers an instance-day"
        case ("utilisation", true): return "無 CloudWatch 資料的執行個體日，CPU 使用率以 \(percent)% 計"
        case ("fromCost", false): return "Usage without a usage model (NAT gateway hours, public addresses, keys, …) carries the month's kWh per dollar of modelled usage (Cloud Carbon Footprint's method)"
        case ("fromCost", true): return "無用量模型的用量（NAT 閘道時數、公用 IP、金鑰等）以當月已建模用量每元耗電度數估算（Cloud Carbon Footprint 方法）"
        case ("scopes", false): return "Operational emissions are reported as scope 2 (location- and market-based) and embodied emissions as scope 3; for cloud services the GHG Protocol places both in the customer's scope 3 (category 1), so a filing may need to move them"
        case ("scopes", true): return "營運排放列為範疇二（地點基礎與市場基礎），隱含排放列為範疇三；依溫室氣體盤查議定書，雲端服務的排放屬使用者的範疇三（類別一），申報時可能需要改列"
        case ("market", false): return "Market-based equals location-based wherever no market factor (certificates, green-power contracts) is configured"
        case ("market", true): return "未設定市場基礎係數（再生能源憑證、綠電契約）之處，市場基礎等於地點基礎"
        case ("memory", false): return "Memory beyond SPECpower's servers follows CCF: the family's largest type stands for a server of one chip per 96 vCPUs; burstable (t) families get none"
        case ("memory", true): return "超出 SPECpower 伺服器的記憶體依 CCF 方法估算：以同系列最大機型代表整台伺服器（每 96 vCPU 一顆晶片）；可爆量（t 系列）不計"
        case ("embodied", false): return "Embodied emissions are estimated for compute only, spread over a four-year server life"
        default: return "隱含排放僅估算運算資源，以伺服器四年使用年限攤提"
        }
    }

    public func render(_ format: Format, language: String) throws -> String {
        switch format {
        case .json:
            let encoder = CanopyJSON.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        case .csv: return csv()
        case .html: return html(zh: language == "zh-TW")
        }
    }

    /// One row per breakdown line, section first; tonnes with six decimals (grams).
    func csv() -> String {
        var lines = ["section,key,kWh,scope2_location_tCO2e,scope2_market_tCO2e,scope3_embodied_tCO2e,cost"]
        func add(_ section: String, _ key: String, _ t: CarbonTotals) {
            lines.append(
                [section, key, String(format: "%.3f", t.kWh), String(format: "%.6f", t.locationKg / 1_000), String(format: "%.6f", t.marketKg / 1_000),
                 String(format: "%.6f", t.embodiedKg / 1_000), String(format: "%.2f", t.cost)].map { CSVText.field($0) }.joined(separator: ","))
        }
        add("total", period, total)
        if let previousYear { add("previous-year", period, previousYear) }
        if let unitIntensity {
            // The totals per unit of the user's metric, in the same columns.
            var perUnit = CarbonTotals()
            perUnit.kWh = total.kWh / unitIntensity.quantity
            perUnit.locationKg = total.locationKg / unitIntensity.quantity
            perUnit.marketKg = total.marketKg / unitIntensity.quantity
            perUnit.embodiedKg = total.embodiedKg / unitIntensity.quantity
            perUnit.cost = total.cost / unitIntensity.quantity
            add("per-unit", unitIntensity.name, perUnit)
        }
        for (section, rows) in [("month", byMonth), ("business-unit", byBusinessUnit), ("application", byApplication), ("service", byService), ("region", byRegion)] {
            for row in rows { add(section, row.key, row.totals) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let labels: [String: (en: String, zh: String)] = [
        "title": ("Carbon and energy report", "碳排放與能源報告"),
        "period": ("Period", "期間"), "generated": ("Generated", "產生時間"), "months": ("Months in the ledger", "帳本涵蓋月份"),
        "summary": ("Totals by scope", "依範疇彙總"), "scope": ("Scope", "範疇"), "tco2e": ("tCO2e", "公噸 CO2e"),
        "s2l": ("Scope 2, location-based (operational)", "範疇二，地點基礎（營運）"),
        "s2m": ("Scope 2, market-based (operational)", "範疇二，市場基礎（營運）"),
        "s3": ("Scope 3, embodied (hardware manufacture)", "範疇三，隱含排放（硬體製造）"),
        "energy": ("Energy", "能源使用"), "kwh": ("kWh", "度（kWh）"), "cost": ("Cost", "費用"),
        "intensity": ("Intensity (gCO2e per currency unit)", "排放強度（每元 gCO2e）"),
        "perUnit": ("Intensity per business unit of measure", "每單位業務量排放強度"),
        "yoy": ("Same months a year before", "去年同期"), "change": ("Change", "變化"),
        "byMonth": ("By month", "依月份"), "byBU": ("By business unit", "依事業單位"), "byApp": ("By application", "依應用系統"),
        "byService": ("By service", "依服務"), "byRegion": ("By region or site", "依區域或機房"),
        "key": ("", ""), "total": ("Total, location-based + embodied", "合計（地點基礎＋隱含）"),
        "method": ("Methodology", "計算方法"), "sources": ("Coefficient sources", "係數來源"),
        "coverage": ("Data coverage", "資料涵蓋"), "assumptions": ("Assumptions", "假設"),
        "usageShare": ("Usage spend estimated from usage data", "以用量資料估算的用量費用比例"),
        "measured": ("vCPU-hours with measured CPU utilisation", "有實測 CPU 使用率的 vCPU 小時比例"),
        "basis": ("Spend by estimation basis", "依估算基礎區分的費用"),
        "fallback": ("Regions with a fallback grid factor", "使用替代電力係數的區域"),
        "provisional": ("A provisional Taiwan factor (2024) was used", "使用了暫定的台灣電力排碳係數（2024 年）"),
        "unestimated": ("Usage spend left unestimated", "未能估算的用量費用"),
        "settings": ("Carbon settings in force (sha256)", "適用中的碳排設定（sha256）"),
        "methodText": (
            "Energy follows the Cloud Carbon Footprint method: compute is vCPU-hours × (min W + utilisation × (max W − min W)) per microarchitecture, with GPUs where present, plus 0.000392 kWh per GB-hour of memory beyond SPECpower's servers; storage is TB-hours × 1.2 Wh (SSD) or 0.65 Wh (HDD) × the service's replication; network is 0.001 kWh/GB between regions; energy is multiplied by the provider's PUE (or the site's) and by the grid factor of the region and year. Embodied emissions are the platform's manufacturing emissions × hours ÷ 35,040 × vCPU ÷ the platform's vCPUs.",
            "能源依 Cloud Carbon Footprint 方法估算：運算為 vCPU 小時 ×（最低瓦數 + 使用率 ×（最高瓦數 − 最低瓦數）），依處理器微架構，含 GPU，另加超出 SPECpower 伺服器之記憶體每 GB 小時 0.000392 kWh；儲存為 TB 小時 × 1.2 Wh（SSD）或 0.65 Wh（HDD）× 服務的複寫倍數；網路為跨區域 0.001 kWh/GB；能源再乘以供應商（或機房）的 PUE 及該區域、該年度的電力排碳係數。隱含排放為平台製造排放 × 時數 ÷ 35,040 × vCPU ÷ 平台 vCPU 總數。"
        ),
    ]

    func html(zh: Bool) -> String {
        func t(_ key: String) -> String { escape(zh ? Self.labels[key]!.zh : Self.labels[key]!.en) }
        func tonnes(_ kg: Double) -> String { String(format: "%.3f", kg / 1_000) }
        func pct(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }
        var h = """
            <!DOCTYPE html>
            <html lang="\(zh ? "zh-Hant-TW" : "en")"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(t("title")) — \(escape(period))</title>
            <style>
            body{font-family:system-ui,"Noto Sans TC","Microsoft JhengHei",sans-serif;margin:2rem;color:#1b1b1b;line-height:1.4}
            h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
            table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem} th,td{border:1px solid #ccc;padding:.3rem .45rem;text-align:left;font-size:.88rem}
            th{background:#f2f2f2} td.n{text-align:right;font-variant-numeric:tabular-nums}
            section{page-break-inside:avoid} @media print{body{margin:0}}
            </style></head><body>
            <h1>\(t("title"))</h1>
            <p>\(t("period")): <b>\(escape(period))</b> · \(t("months")): \(escape(months.joined(separator: ", ")))<br>
            \(t("generated")): \(escape(Timestamps.iso8601(generatedAt)))</p>
            <section><h2>\(t("summary"))</h2>
            <table><tr><th>\(t("scope"))</th><th>\(t("tco2e"))</th>\(previousYear == nil ? "" : "<th>\(t("yoy"))</th><th>\(t("change"))</th>")</tr>

            """
        func change(_ now: Double, _ before: Double) -> String { before > 0 ? String(format: "%+.1f%%", (now - before) / before * 100) : "–" }
        for (label, now, before) in [
            ("s2l", total.locationKg, previousYear?.locationKg), ("s2m", total.marketKg, previousYear?.marketKg), ("s3", total.embodiedKg, previousYear?.embodiedKg),
            ("total", total.totalKg, previousYear?.totalKg),
        ] {
            h += "<tr><td>\(t(label))</td><td class=\"n\">\(tonnes(now))</td>"
            if let before { h += "<td class=\"n\">\(tonnes(before))</td><td class=\"n\">\(change(now, before))</td>" }
            h += "</tr>\n"
        }
        h += """
            </table>
            <p>\(t("energy")): <b>\(String(format: "%.1f", total.kWh))</b> \(t("kwh")) · \(t("cost")): \(String(format: "%.2f", total.cost)) · \(t("intensity")): \(total.gramsPerCurrency.map { String(format: "%.1f", $0) } ?? "–")\(unitIntensity.map { " · \(t("perUnit")): \(String(format: "%.3f", $0.kgPerUnit)) kgCO2e / \(escape($0.name)) (\(String(format: "%g", $0.quantity)) \(escape($0.name)))" } ?? "")</p></section>

            """
        for (title, rows) in [("byMonth", byMonth), ("byBU", byBusinessUnit), ("byApp", byApplication), ("byService", byService), ("byRegion", byRegion)] {
            h += "<section><h2>\(t(title))</h2><table><tr><th></th><th>\(t("kwh"))</th><th>\(t("s2l"))</th><th>\(t("s2m"))</th><th>\(t("s3"))</th><th>\(t("cost"))</th></tr>\n"
            for row in rows {
                h += "<tr><td>\(escape(row.key))</td><td class=\"n\">\(String(format: "%.1f", row.totals.kWh))</td><td class=\"n\">\(tonnes(row.totals.locationKg))</td><td class=\"n\">\(tonnes(row.totals.marketKg))</td><td class=\"n\">\(tonnes(row.totals.embodiedKg))</td><td class=\"n\">\(String(format: "%.2f", row.totals.cost))</td></tr>\n"
            }
            h += "</table></section>\n"
        }
        h += "<section><h2>\(t("coverage"))</h2><table>\n"
        h += "<tr><td>\(t("usageShare"))</td><td class=\"n\">\(pct(coverage.usageShare))</td></tr>\n"
        h += "<tr><td>\(t("measured"))</td><td class=\"n\">\(pct(coverage.measuredUtilisationShare))</td></tr>\n"
        h += "<tr><td>\(t("unestimated"))</td><td class=\"n\">\(String(format: "%.2f", coverage.unestimatedSpend))</td></tr>\n"
        for (basis, spend) in coverage.spendByBasis.sorted(by: { $0.key < $1.key }) {
            h += "<tr><td>\(t("basis")): \(escape(basis))</td><td class=\"n\">\(String(format: "%.2f", spend))</td></tr>\n"
        }
        if !coverage.fallbackRegions.isEmpty { h += "<tr><td>\(t("fallback"))</td><td>\(escape(coverage.fallbackRegions.joined(separator: ", ")))</td></tr>\n" }
        if coverage.provisionalFactors { h += "<tr><td colspan=\"2\">\(t("provisional"))</td></tr>\n" }
        h += "</table></section>\n"
        h += "<section><h2>\(t("method"))</h2><p>\(t("methodText"))</p>\n<h3>\(t("sources"))</h3><ul>\n"
        for source in sources { h += "<li>\(escape(source))</li>\n" }
        h += "</ul>\n"
        if let settingsSHA256 { h += "<p>\(t("settings")): <code>\(escape(settingsSHA256))</code></p>\n" }
        h += "<h3>\(t("assumptions"))</h3><ul>\n"
        // The stored list is English; the page shows the same assumptions in its language.
        let shown = zh ? Self.assumptionKeys.map { Self.assumption($0, zh: true, utilisation: defaultUtilisation) } + assumptions.dropFirst(Self.assumptionKeys.count) : assumptions
        for assumption in shown { h += "<li>\(escape(assumption))</li>\n" }
        h += "</ul></section>\n</body></html>\n"
        return h
    }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

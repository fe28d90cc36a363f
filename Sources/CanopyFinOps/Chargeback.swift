import CanopyModel
import CanopyStore
import Foundation

/// A business unit's monthly statement: its cost by application and service, billed and
/// effective, from the accounts it owns. What none of its applications claims is shown as
/// unassigned within the unit, never dropped.
public struct ChargebackStatement: Sendable, Codable {
    public struct Line: Sendable, Codable, Hashable {
        public var application: String
        public var service: String
        public var account: String
        public var billed: Decimal
        public var effective: Decimal
    }

    public var unit: String
    public var unitName: String
    public var costCenter: String?
    public var month: String
    public var currency: String
    public var lines: [Line]
    public var billedTotal: Decimal
    public var effectiveTotal: Decimal

    /// The unit's cost as allocation places it: from its accounts, from cost its applications and
    /// tags claim elsewhere, and its shares of shared costs (as `(shared: NAME)` lines).
    public static func build(
        unit: BusinessUnit, month: String, currency: String = "USD", store: any CanopyStore, allocator given: CostAllocator? = nil
    ) async throws -> ChargebackStatement {
        guard let span = CostCalendar.monthSpan(month) else { throw CostViewError.badMonth(month) }
        var allocator = given
        if allocator == nil { allocator = try await CostAllocator.current(store: store) }
        var sums: [Line: (Decimal, Decimal)] = [:]
        for piece in allocator!.allocate(try await store.costSlices(CostQuery(from: span.from, to: span.to))) where piece.unit == unit.id && piece.currency == currency {
            let application = piece.application ?? piece.shared.map { "(shared: \($0))" } ?? "(unassigned)"
            let key = Line(application: application, service: piece.attributes.service.isEmpty ? "(none)" : piece.attributes.service, account: piece.attributes.account, billed: 0, effective: 0)
            var sum = sums[key] ?? (0, 0)
            sum.0 += piece.billed
            sum.1 += piece.effective
            sums[key] = sum
        }
        let lines = sums.map { key, sum in Line(application: key.application, service: key.service, account: key.account, billed: sum.0, effective: sum.1) }
            .sorted { ($0.application, $0.service, $0.account) < ($1.application, $1.service, $1.account) }
        return ChargebackStatement(
            unit: unit.id, unitName: unit.name, costCenter: unit.costCenter, month: month, currency: currency, lines: lines,
            billedTotal: lines.reduce(0) { $0 + $1.billed }, effectiveTotal: lines.reduce(0) { $0 + $1.effective })
    }

    public var csv: String {
        var text = "business_unit,cost_center,month,currency,application,service,account,billed_cost,effective_cost\n"
        for line in lines {
            text += [unit, costCenter ?? "", month, currency, line.application, line.service, line.account, "\(line.billed)", "\(line.effective)"]
                .map { CSVText.field($0) }.joined(separator: ",") + "\n"
        }
        return text
    }


    static let style =
        "body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left}.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:700}@page{size:A4;margin:15mm}"

    /// A printable statement (A4, no script), in English or Traditional Chinese. Styled inline,
    /// or by `stylesheet` where a content security policy forbids inline styles.
    public func html(chinese: Bool, unitNameZh: String? = nil, stylesheet: String? = nil) -> String {
        let l: [String: (String, String)] = [
            "title": ("Chargeback statement", "成本分攤對帳單"), "unit": ("Business unit", "事業單位"), "cc": ("Cost centre", "成本中心"),
            "month": ("Month", "月份"), "app": ("Application", "應用系統"), "service": ("Service", "服務"), "account": ("Account", "帳號"),
            "billed": ("Billed", "帳單成本"), "effective": ("Effective", "有效成本"), "total": ("Total", "合計"),
            "note": ("Cost from the FOCUS ledger allocated to this unit: its accounts, what its applications and tags claim, and its shares of shared costs; effective cost spreads commitments over what used them.", "依分攤規則歸屬本單位的 FOCUS 成本帳本成本：所屬帳號、其應用系統與標籤所歸屬者，以及共用成本的分攤額；有效成本將承諾折扣攤銷至實際使用者。"),
        ]
        func t(_ key: String) -> String { chinese ? l[key]!.1 : l[key]!.0 }
        let name = chinese ? (unitNameZh ?? unitName) : unitName
        var rows = ""
        for line in lines {
            rows += "<tr><td>\(line.application.markupEscaped)</td><td>\(line.service.markupEscaped)</td><td>\(line.account.markupEscaped)</td>"
                + "<td class=\"n\">\(line.billed.cents)</td><td class=\"n\">\(line.effective.cents)</td></tr>"
        }
        return """
            <!DOCTYPE html><html lang="\(chinese ? "zh-Hant-TW" : "en")"><head><meta charset="utf-8"><title>\(t("title")) · \(name.markupEscaped) · \(month)</title>
            \(stylesheet.map { "<link rel=\"stylesheet\" href=\"\($0.markupEscaped)\">" } ?? "<style>\(Self.style)</style>")</head>
            <body class="statement"><h1>\(t("title"))</h1><p>\(t("unit")): <strong>\(name.markupEscaped)</strong> · \(t("cc")): \((costCenter ?? "–").markupEscaped) · \(t("month")): \(month) · \(currency)</p>
            <table><thead><tr><th>\(t("app"))</th><th>\(t("service"))</th><th>\(t("account"))</th><th class="n">\(t("billed"))</th><th class="n">\(t("effective"))</th></tr></thead>
            <tbody>\(rows)</tbody><tfoot><tr><td colspan="3">\(t("total"))</td><td class="n">\(billedTotal.cents)</td><td class="n">\(effectiveTotal.cents)</td></tr></tfoot></table>
            <p>\(t("note"))</p></body></html>
            """
    }
}

import CanopyCarbon
import CanopyFinOps
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

extension AccessScope {
    /// The scope as a predicate on accounts; nil when it allows every account.
    var accountFilter: (@Sendable (String) -> Bool)? {
        guard let accounts else { return nil }
        return { accounts.contains($0) }
    }
}

extension APIController {
    func addCarbonRoutes(to group: RouterGroup<CanopyRequestContext>) {
        group.get("carbon", use: carbon)
        group.get("carbon/whatif", use: carbonWhatIf)
        group.get("carbon/report", use: carbonReport)
        group.get("carbon/settings", use: carbonSettings)
        group.put("carbon/settings", use: applyCarbonSettings)
    }

    /// Months from `month` (repeatable), `from`/`to`, or the ledger's latest; 400 naming the parameter.
    func carbonMonths(_ q: Hummingbird.Parameters) async throws -> [String] {
        do {
            return try CarbonPeriod.months(month: q.getAll("month"), from: q.get("from"), to: q.get("to"), ledger: try await store.costPeriods())
        } catch let problem as CarbonPeriod.Problem {
            throw APIError.badParameter("month", "\(problem)")
        }
    }

    /// kWh and kgCO2e per month × one dimension, scoped to the caller's accounts.
    @Sendable func carbon(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let q = request.uri.queryParameters
        var dimension = CarbonDimension.service
        if let text = q.get("by") {
            guard let known = CarbonDimension(rawValue: text) else {
                throw APIError.badParameter("by", "'by' is one of \(CarbonDimension.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            dimension = known
        }
        let months = try await carbonMonths(q)
        let ledger = try await dependencies.cache.carbonLedger(months: months, scope: scope, store: store)
        return try Self.json(CarbonBreakdown.build(ledger, by: dimension))
    }

    /// The CO2e each savings recommendation saves; with `toRegion`, a selection's month moved there.
    @Sendable func carbonWhatIf(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let q = request.uri.queryParameters
        let months = try await carbonMonths(q)
        if let region = q.get("toRegion") {
            guard region.range(of: "^[a-z0-9-]{2,40}$", options: .regularExpression) != nil else { throw APIError.badParameter("toRegion", "'toRegion' is a region or site id") }
            guard !months.isEmpty else { throw APIError.notFound("cost ledger month to move (import cost first)") }
            guard months.count == 1 else { throw APIError.badParameter("month", "a what-if covers one month") }
            let ledger = try await dependencies.cache.carbonLedger(months: months, scope: scope, store: store)
            let selection = CarbonWhatIf.Selection(businessUnit: q.get("bu"), application: q.get("app"), account: q.get("account"))
            return try Self.json(CarbonWhatIf.move(ledger, selecting: selection, to: region, month: months[0]))
        }
        let judged = try await Recommender.judgementTime(store: store)
        let recommendations = try await Recommender().recommend(store: store, now: judged).filter { scope.allows($0.account) }
        return try Self.json(try await CarbonWhatIf.savings(recommendations, store: store, now: judged))
    }

    /// The ESG report for a year, quarter or month, scoped; HTML, CSV or JSON.
    @Sendable func carbonReport(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let scope = try await AccessScope.of(try context.apiUser(), store: store)
        let q = request.uri.queryParameters
        guard let period = q.get("period") else { throw APIError.badParameter("period", "'period' is required: 2026, 2026-Q3 or 2026-09") }
        let language = q.get("lang") ?? "en"
        guard ["en", "zh-TW"].contains(language) else { throw APIError.badParameter("lang", "'lang' is en or zh-TW") }
        guard let format = CarbonReport.Format(rawValue: q.get("format") ?? "json") else { throw APIError.badParameter("format", "'format' is html, csv or json") }
        // `unit=MWh:125000`: a business metric and how many of it the period had.
        var unit: (name: String, quantity: Double)?
        if let text = q.get("unit") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 40, let quantity = Double(parts[1]), quantity > 0, quantity.isFinite else {
                throw APIError.badParameter("unit", "'unit' is NAME:QUANTITY with a quantity above zero, e.g. MWh:125000")
            }
            unit = (String(parts[0]), quantity)
        }
        let report: CarbonReport
        do {
            report = try await CarbonReport.build(period: period, store: store, allows: scope.accountFilter, unit: unit)
        } catch CarbonPeriod.Problem.noMonths {
            throw APIError.notFound("cost for \(period) in the ledger (import cost first)")
        } catch let problem as CarbonPeriod.Problem {
            throw APIError.badParameter("period", "\(problem)")
        }
        let type = format == .html ? "text/html; charset=utf-8" : format == .csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8"
        return Response(
            status: .ok, headers: [.contentType: type, .contentDisposition: "inline; filename=\"canopy-carbon-\(period).\(format.rawValue)\""],
            body: .init(byteBuffer: ByteBuffer(string: try report.render(format, language: language))))
    }

    struct CarbonSettingsView: Encodable {
        var source: String?
        var settings: CarbonSettings
        var sha256: String?
        var appliedAt: Date?
        var actor: String?
    }

    @Sendable func carbonSettings(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        _ = try context.apiUser()
        let current = try await store.carbonSettings()
        return try Self.json(
            CarbonSettingsView(
                source: current?.source, settings: current?.settings ?? CarbonSettings(), sha256: current?.sha256, appliedAt: current?.appliedAt, actor: current?.actor))
    }

    /// Applies carbon settings from YAML (admin, ccoe; audited). 201 when they changed, 200 when in force already.
    @Sendable func applyCarbonSettings(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        try await applyYAMLDocument(
            request, context, allowed: \.canManageOwnership, parse: { try CarbonFile.parse($0, file: "source") },
            apply: { settings, source, actor in try await store.applyCarbonSettings(settings, source: source, actor: actor) != nil },
            view: { try await carbonSettings(request, context: context) })
    }

    struct YAMLDocumentBody: Decodable {
        /// The document's YAML, as the matching CLI command reads it from a file.
        var source: String
    }

    /// A settings document PUT as `{source}` YAML (carbon settings, the patch baseline): parsed
    /// with errors naming `source:line` and the field, applied (audited by the store), answered
    /// with its view: 201 when it changed what is in force, 200 when the same was in force already.
    func applyYAMLDocument<Document>(
        _ request: Request, _ context: CanopyRequestContext, allowed: (Role) -> Bool, parse: (String) throws -> Document,
        apply: (Document, String, String) async throws -> Bool, view: () async throws -> Response
    ) async throws -> Response {
        let user = try changer(request, context, allowed: allowed)
        let body = try await body(YAMLDocumentBody.self, request, context)
        let document: Document
        do { document = try parse(body.source) } catch { throw APIError.badParameter("source", "\(error)") }
        let changed = try await apply(document, body.source, user.name)
        var response = try await view()
        if changed { response.status = .created }
        return response
    }
}

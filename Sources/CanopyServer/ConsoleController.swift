import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// The console's pages. Every query runs with the user's scope, so a business-unit owner never
/// reads another unit's resources or findings, whatever id they put in the address.
struct ConsoleController {
    let dependencies: ServerDependencies
    var store: any CanopyStore { dependencies.store }

    func addRoutes(to router: Router<CanopyRequestContext>) {
        router.get("", use: overview)
        router.get("inventory", use: inventory)
        router.get("resource", use: resource)
        router.get("findings", use: findings)
        router.post("findings/triage", use: triage)
        router.get("compliance", use: compliance)
        router.get("compliance/:framework", use: framework)
        router.get("compliance/:framework/report", use: report)
        router.get("scans", use: scans)
        router.get("audit", use: audit)
    }

    struct Page {
        var user: User
        var scope: AccessScope
        var t: Localizer
    }

    func page(_ request: Request, _ context: CanopyRequestContext) async throws -> Page {
        let user = try context.consoleUser(request)
        return Page(user: user, scope: try await AccessScope.of(user, store: store), t: Localizer(language: context.language, catalogue: dependencies.catalogue))
    }

    func render(_ p: Page, _ context: CanopyRequestContext, title: String, active: String, path: String, _ body: String) -> Response {
        Layout.response(Layout.page(title: title, body: body, t: p.t, user: p.user, active: active, path: path, csrf: context.session?.csrfToken))
    }

    @Sendable func overview(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let open = try await store.findings(FindingQuery(accounts: p.scope.accountList, statuses: [.new, .inProgress]))
        let bySeverity = Dictionary(grouping: open, by: \.severityID).mapValues(\.count)
        var body = "<h1>\(HTML.escape(t("overview.title")))</h1><section class=\"tiles\">"
        let frameworks = dependencies.engine.frameworks
        let assessments = try await dependencies.cache.assessments(frameworks.map(\.id), level: nil, scope: p.scope, dependencies: dependencies)
        for (framework, a) in zip(frameworks, assessments) {
            let name = t.language == .zhTW ? (framework.nameZh ?? framework.name) : framework.name
            body += "<article class=\"tile\"><h2><a href=\"/compliance/\(HTML.escape(framework.id))\">\(HTML.escape(name))</a></h2>"
            body += Chart.gauge(a.summary.passRate, title: "\(name) — \(t("overview.passRate"))")
            body += "<p>\(HTML.escape(t("overview.passRate"))): \(Layout.percent(a.summary.passRate))</p>"
            body += Chart.sparkline(a.trend.compactMap(\.passRate), title: "\(name) — \(t("overview.trend"))") + "</article>"
        }
        body += "</section><section class=\"row\"><div><h2>\(HTML.escape(t("overview.openFindings"))) (\(open.count))</h2>"
        let severities = (1...5).reversed().map { (label: Layout.severityName($0, t), value: bySeverity[$0] ?? 0, colour: Chart.severityColours[$0]) }
        body += Chart.bars(severities, title: t("overview.openFindings"))
        var perCheck: [String: Int] = [:]
        for finding in open { perCheck[finding.checkID, default: 0] += 1 }
        let topChecks: [(check: String, count: Int)] = perCheck.map { (check: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.check < $1.check }
        body += "</div><div><h2>\(HTML.escape(t("overview.topChecks")))</h2>"
        let rows: [[String]] = topChecks.prefix(8).map { item in
            let link = "/findings" + HTML.query([("check", item.check)])
            return ["<a href=\"\(HTML.escape(link))\">\(HTML.escape(item.check))</a>", String(item.count)]
        }
        body += HTML.table([t("col.check"), t("col.count")], rows)
        body += "</div></section>"
        let units = try await dependencies.engine.scores(by: .businessUnit, store: store)
        let visibleUnits = p.user.role == .buOwner ? units.filter { p.user.businessUnits.contains($0.key) } : units
        body += "<h2>\(HTML.escape(t("overview.businessUnits")))</h2><section class=\"tiles\">"
        for unit in visibleUnits {
            body += "<article class=\"tile\"><h3>\(HTML.escape(unit.key))</h3>" + Chart.gauge(unit.passRate, title: "\(unit.key) — \(t("overview.passRate"))") + "</article>"
        }
        body += "</section>"
        let resources = try await dependencies.cache.resources(store).filter { p.scope.allows($0.account) }
        let byType = Dictionary(grouping: resources, by: \.type).map { (label: $0.key, value: $0.value.count, colour: String?.none) }.sorted { $0.value > $1.value }.prefix(10)
        body += "<h2>\(HTML.escape(t("overview.resources"))) (\(resources.count))</h2>" + Chart.bars(Array(byType), title: t("overview.resources"))
        return render(p, context, title: t("overview.title"), active: "/", path: "/", body)
    }

    @Sendable func inventory(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        let q = request.uri.queryParameters
        let type = q.get("type").flatMap { $0.isEmpty ? nil : ($0.contains(".") ? $0 : "aws.\($0)") }
        var accounts = p.scope.accountList
        if let account = q.get("account"), !account.isEmpty {
            accounts = p.scope.allows(account) ? [account] : []
        }
        var tags: [String: String?] = [:]
        if let tag = q.get("tag"), !tag.isEmpty {
            let pair = tag.split(separator: "=", maxSplits: 1).map(String.init)
            tags[pair[0]] = pair.count > 1 ? pair[1] : nil
        }
        let region = q.get("region").flatMap { $0.isEmpty ? nil : $0 }
        let allowed = accounts.map(Set.init)
        let resources = Array(
            try await dependencies.cache.resources(store).lazy.filter { r in
                (type == nil || r.type == type) && (allowed?.contains(r.account) ?? true) && (region == nil || r.region == region)
                    && tags.allSatisfy { key, value in value.map { r.tags[key] == $0 } ?? (r.tags[key] != nil) }
            }.prefix(500))
        var body = "<h1>\(HTML.escape(t("inventory.title")))</h1><form method=\"get\" action=\"/inventory\" class=\"filters\">"
        for (name, label) in [("type", "col.type"), ("account", "col.account"), ("region", "col.region"), ("tag", "col.tag")] {
            body += "<label>\(HTML.escape(t(label))) <input name=\"\(name)\" value=\"\(HTML.escape(q.get(name) ?? ""))\"></label>"
        }
        body += "<button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form>"
        body += "<p>\(resources.count) \(HTML.escape(t("inventory.shown")))</p>"
        body += HTML.table(
            [t("col.name"), t("col.type"), t("col.account"), t("col.region"), t("col.tags")],
            resources.map { r in
                [
                    "<a href=\"/resource\(HTML.escape(HTML.query([("uid", r.uid)])))\">\(HTML.escape(r.name))</a>", HTML.escape(r.type), HTML.escape(r.account),
                    HTML.escape(r.region), HTML.escape(r.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
                ]
            })
        return render(p, context, title: t("inventory.title"), active: "/inventory", path: "/inventory", body)
    }

    @Sendable func resource(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        guard let uid = request.uri.queryParameters.get("uid"),
            let resource = try await store.resource(uid: uid), p.scope.allows(resource.account)
        else {
            // Out of scope reads exactly like absent: nothing tells a guesser the id exists.
            throw PageError(status: .notFound, titleKey: "error.notFound", detail: t("error.notFoundDetail"), language: t.language)
        }
        let timeline = try await store.timeline(uid: uid)
        let findings = try await store.findings(FindingQuery(statuses: nil, resourceUID: uid))
        var body = "<h1>\(HTML.escape(resource.name))</h1><p><code>\(HTML.escape(resource.uid))</code><br>\(HTML.escape(resource.type)) · \(HTML.escape(resource.account)) · \(HTML.escape(resource.region))</p>"
        body += "<h2>\(HTML.escape(t("resource.findings")))</h2>" + HTML.table(
            [t("col.check"), t("col.severity"), t("col.status"), t("col.lastSeen")],
            findings.map { [HTML.escape($0.title), HTML.escape(Layout.severityName($0.severityID, t)), HTML.escape(t("status.\($0.status.rawValue)")), HTML.escape(Timestamps.iso8601($0.lastSeen))] })
        body += "<h2>\(HTML.escape(t("resource.tags")))</h2>" + HTML.table([t("col.key"), t("col.value")], resource.tags.sorted { $0.key < $1.key }.map { [HTML.escape($0.key), HTML.escape($0.value)] })
        body += "<h2>\(HTML.escape(t("resource.timeline")))</h2>" + HTML.table(
            [t("col.scan"), t("col.change"), t("col.details")],
            timeline.map { change in
                [String(change.scanID), HTML.escape(t("change.\(change.kind.rawValue)")), HTML.escape(change.differences.prefix(5).map { "\($0.path): \($0.before?.compactText ?? "∅") → \($0.after?.compactText ?? "∅")" }.joined(separator: "; "))]
            })
        body += "<h2>\(HTML.escape(t("resource.properties")))</h2><pre>\(HTML.escape(Self.pretty(resource.properties)))</pre>"
        return render(p, context, title: resource.name, active: "/inventory", path: "/resource", body)
    }

    static func pretty(_ value: JSONValue) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value.canonicalJSON().utf8)),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { return value.canonicalJSON() }
        return String(decoding: data, as: UTF8.self)
    }
}

import CanopyLake
import CanopyModel
import CanopyStore
import Foundation
import Hummingbird

/// The activity lake in the console: a filter, the matching events, and whether the lake is
/// intact. A business-unit owner sees their accounts' events; a viewer none.
extension ConsoleController {
    @Sendable func lake(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        let t = p.t
        guard p.user.role.canReadActivity else { throw p.notFound() }
        let text = request.formQuery("q") ?? ""
        var body = "<h1>\(HTML.escape(t("lake.title")))</h1>"
        body += "<form method=\"get\" action=\"/lake\" class=\"filters\"><label>\(HTML.escape(t("lake.filter"))) "
            + "<input type=\"text\" name=\"q\" size=\"60\" value=\"\(HTML.escape(text))\" placeholder=\"eventName=StopLogging and eventTime&gt;=2024-07-01\"></label>"
            + "<button type=\"submit\">\(HTML.escape(t("action.filter")))</button></form>"
        body += "<p class=\"note\">\(HTML.escape(t("lake.fields"))) \(HTML.escape(LakeQuery.fields.joined(separator: ", ")))</p>"
        var filter: LakeFilter
        do { filter = try LakeQuery.parse(text) } catch let problem as LakeQuery.Problem { throw p.badRequest(problem.description) }
        filter.accounts = p.scope.accountList
        let total = try await store.countLakeEvents(filter)
        let events = try await store.lakeEvents(filter, limit: 200)
        if p.user.role.canVerifyActivity {
            let verification = try await LakeVerifier.verifyStored(store: store)
            let status = verification.problem.map { "\(t("lake.broken")): \($0)" } ?? "\(t("lake.intact")): \(verification.events) · \(verification.digests) \(t("lake.digests"))"
            body += "<p class=\"\(verification.intact ? "passed" : "failed")\">\(HTML.escape(status))</p>"
        }
        body += "<h2>\(HTML.escape(t("lake.events"))) (\(total))</h2>"
        if events.isEmpty {
            body += "<p>\(HTML.escape(t("lake.none")))</p>"
        } else {
            body += HTML.table(
                [t("col.time"), t("costs.dimension.account"), t("lake.region"), t("lake.source"), t("lake.event"), t("lake.principal"), t("lake.ip"), t("lake.error")],
                events.map { e in
                    [
                        HTML.escape(Timestamps.iso8601(e.eventTime)), HTML.escape(e.account), HTML.escape(e.region), HTML.escape(e.eventSource), HTML.escape(e.eventName),
                        HTML.escape(e.userARN ?? e.userType ?? ""), HTML.escape(e.sourceIP ?? ""), HTML.escape(e.errorCode ?? ""),
                    ]
                })
            let export = "/api/v1/lake/events" + HTML.query([("q", text)])
            body += "<p><a href=\"\(HTML.escape(export + "&format=csv"))\">CSV</a> · <a href=\"\(HTML.escape(export))\">JSON</a></p>"
        }
        return render(p, context, title: t("lake.title"), active: "/lake", path: "/lake", body)
    }
}

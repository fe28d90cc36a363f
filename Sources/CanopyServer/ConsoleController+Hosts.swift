import CanopyHost
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import Hummingbird

/// On-prem hosts and their patch compliance in the console: per business unit (missing security
/// updates by age), per host (what is missing, what is not yet due), the baseline in force, and
/// for the CCoE the agent enrollments.
extension ConsoleController {
    @Sendable func hosts(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let p = try await page(request, context)
        return try await hostsPage(p, context, notice: nil, error: nil)
    }

    func hostsPage(_ p: Page, _ context: CanopyRequestContext, notice: String?, error: String?) async throws -> Response {
        let t = p.t
        let report = try await PatchReports.evaluate(store: store, accounts: p.scope.accountList, now: Date())
        let ownership = try await store.ownership()
        func unitName(_ id: String?) -> String { self.unitName(id, ownership, t) }
        var body = "<h1>\(HTML.escape(t("hosts.title")))</h1>"
        if let notice { body += "<p class=\"notice\" role=\"status\">\(HTML.escape(notice))</p>" }
        if let error { body += "<p class=\"error\" role=\"alert\">\(HTML.escape(error))</p>" }
        let nonCompliant = report.hosts.filter { $0.state == .nonCompliant }.count
        let unknown = report.hosts.filter { $0.state == .unknown }.count
        let missingSecurity = report.hosts.map(\.missingSecurity).reduce(0, +)
        let tiles: [(String, String, String)] = [
            (t("hosts.count"), String(report.hosts.count), ""), (t("hosts.nonCompliant"), String(nonCompliant), nonCompliant > 0 ? "failed" : ""),
            (t("hosts.unknown"), String(unknown), ""), (t("hosts.missingSecurity"), String(missingSecurity), missingSecurity > 0 ? "failed" : ""),
        ]
        body += "<div class=\"tiles\">" + tiles.map { "<div class=\"tile \($0.2)\"><span>\(HTML.escape($0.0))</span><strong>\(HTML.escape($0.1))</strong></div>" }.joined() + "</div>"
        if report.hosts.isEmpty { body += "<p>\(HTML.escape(t("hosts.none")))</p>" }

        body += "<h2>\(HTML.escape(t("hosts.byUnit")))</h2>"
        body += HTML.table(
            [t("col.businessUnit"), t("hosts.count"), t("hosts.compliant"), t("hosts.nonCompliant"), t("hosts.unknown"), t("hosts.compliance"), t("hosts.missingSecurity")]
                + PatchCompliance.ageBands.map { "\($0) \(t("hosts.days"))" },
            report.businessUnits.map { unit in
                [
                    HTML.escape(unit.businessUnit == "unassigned" ? t("units.none") : unitName(unit.businessUnit)), "\(unit.hosts)", "\(unit.compliant)",
                    unit.nonCompliant > 0 ? "<strong class=\"failed\">\(unit.nonCompliant)</strong>" : "0", "\(unit.unknown)",
                    unit.compliancePercent.map { String(format: "%.1f%%", $0) } ?? "–", "\(unit.missingSecurity)",
                ] + PatchCompliance.ageBands.map { band in
                    let count = unit.securityByAge[band] ?? 0
                    return count > 0 && band != "0-7" ? "<strong class=\"failed\">\(count)</strong>" : "\(count)"
                }
            })

        body += "<h2>\(HTML.escape(t("hosts.byHost")))</h2>"
        body += HTML.table(
            [t("hosts.host"), t("hosts.site"), t("col.businessUnit"), t("hosts.environment"), t("hosts.os"), t("col.status"), t("hosts.missing"),
             t("hosts.oldest"), t("hosts.highest"), t("hosts.notYetDue"), t("hosts.lastPatch"), t("hosts.lastInventory")],
            report.hosts.map { host in
                let state = "<span class=\"\(host.state == .nonCompliant ? "failed" : host.state == .compliant ? "passed" : "")\">\(HTML.escape(t("hosts.state.\(host.state.rawValue)")))</span>"
                let missing = host.missing.isEmpty ? "0" : "<details><summary>\(host.missing.count) (\(host.missingSecurity) \(HTML.escape(t("hosts.security"))))</summary>"
                    + host.missing.prefix(50).map { "<div>\(HTML.escape($0.name)) \(HTML.escape($0.installedVersion)) → \(HTML.escape($0.candidateVersion))\($0.security ? " <small>\(HTML.escape(t("hosts.security")))</small>" : "") <small>\($0.ageDays) \(HTML.escape(t("hosts.days")))</small></div>" }.joined()
                    + "</details>"
                return [
                    "<a href=\"/resource\(HTML.escape(HTML.query([("uid", host.uid)])))\">\(HTML.escape(host.hostname))</a>", HTML.escape(host.site),
                    HTML.escape(unitName(host.businessUnit)), HTML.escape(host.environment ?? ""), HTML.escape(host.os), state, missing,
                    host.oldestMissingDays.map { "\($0)" } ?? "", HTML.escape(host.highestSeverity ?? ""), "\(host.pending.count)",
                    HTML.escape(host.lastPatchTime.map { String(Timestamps.iso8601($0).prefix(10)) } ?? ""),
                    HTML.escape(String(Timestamps.iso8601(host.observedAt).prefix(16)).replacingOccurrences(of: "T", with: " ")),
                ]
            })

        let baseline = try await store.patchBaseline()
        body += "<h2>\(HTML.escape(t("hosts.baseline")))</h2>"
        body += "<p>\(HTML.escape(baseline.map { "\(t("hosts.baselineApplied")) \(String(Timestamps.iso8601($0.appliedAt).prefix(10))) · \($0.actor) · sha256 \($0.sha256.prefix(12))" } ?? t("hosts.baselineStandard")))</p>"
        body += HTML.table(
            [t("hosts.environment"), t("hosts.classification"), t("col.severity"), t("hosts.approveAfter")],
            (baseline?.baseline ?? .standard).rules.map {
                [HTML.escape($0.environment), HTML.escape($0.classification), HTML.escape($0.severities.isEmpty ? "*" : $0.severities.joined(separator: ", ")), "\($0.approveAfterDays)"]
            })
        if p.user.role.canManageHosts {
            body += "<form method=\"post\" action=\"/hosts/baseline\">\(Self.csrfField(context))<label>\(HTML.escape(t("hosts.baselineYAML")))<br>"
                + "<textarea name=\"yaml\" rows=\"8\" cols=\"70\" required>\(HTML.escape(baseline?.source ?? PatchReports.describe(.standard)))</textarea></label><br>"
                + "<button type=\"submit\">\(HTML.escape(t("hosts.applyBaseline")))</button></form>"
            body += try await enrollmentSection(p, context)
        }
        body += "<p><a href=\"/api/v1/patch/compliance\">JSON</a> · <a href=\"/api/v1/patch/compliance?by=bu\">JSON (\(HTML.escape(t("col.businessUnit"))))</a></p>"
        return render(p, context, title: t("hosts.title"), active: "/hosts", path: "/hosts", body)
    }

    private func enrollmentSection(_ p: Page, _ context: CanopyRequestContext) async throws -> String {
        let t = p.t
        let now = Date()
        var body = "<h2>\(HTML.escape(t("hosts.enrollments")))</h2>"
        body += HTML.table(
            ["#", t("hosts.host"), t("hosts.site"), t("hosts.hostID"), t("hosts.lastUpload"), t("security.expires"), t("col.status"), ""],
            try await store.hostEnrollments().map { e in
                let state = t("hosts.state.\(e.state(at: now).rawValue)")
                let revoke = e.revokedAt == nil
                    ? "<form method=\"post\" action=\"/hosts/enrollments/revoke\" class=\"inline\">\(Self.csrfField(context))<input type=\"hidden\" name=\"id\" value=\"\(e.id)\"><button type=\"submit\">\(HTML.escape(t("hosts.revoke")))</button></form>"
                    : ""
                return [
                    "\(e.id)", HTML.escape(e.name), HTML.escape(e.site), HTML.escape(e.hostID ?? t("hosts.notBound")),
                    HTML.escape(e.lastUploadAt.map { String(Timestamps.iso8601($0).prefix(16)) } ?? "–"), HTML.escape(String(Timestamps.iso8601(e.expiresAt).prefix(10))),
                    HTML.escape(state), revoke,
                ]
            })
        body += "<form method=\"post\" action=\"/hosts/enrollments\" class=\"filters\">\(Self.csrfField(context))"
        body += "<label>\(HTML.escape(t("hosts.host"))) <input name=\"name\" required maxlength=\"100\"></label>"
        body += "<label>\(HTML.escape(t("hosts.site"))) <input name=\"site\" required pattern=\"[A-Za-z0-9._-]{1,64}\"></label>"
        body += "<label>\(HTML.escape(t("hosts.tags"))) <input name=\"tags\" placeholder=\"App=scada-historian, Env=production\" size=\"36\"></label>"
        body += "<label>\(HTML.escape(t("security.days"))) <input name=\"days\" type=\"number\" min=\"1\" max=\"730\" value=\"365\" required></label>"
        body += "<button type=\"submit\">\(HTML.escape(t("hosts.enroll")))</button></form>"
        return body
    }

    @Sendable func applyHostBaseline(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageHosts }
        let text = form["yaml"] ?? ""
        do {
            let baseline = try PatchBaselineFile.parse(text, file: "baseline")
            let changed = try await store.applyPatchBaseline(baseline, source: text, actor: p.user.name) != nil
            return try await hostsPage(p, context, notice: p.t(changed ? "hosts.baselineSaved" : "hosts.baselineUnchanged"), error: nil)
        } catch let error as PolicyError {
            return try await hostsPage(p, context, notice: nil, error: "\(error)")
        }
    }

    @Sendable func enrollHost(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageHosts }
        do {
            let tags = try HostTags.parse((form["tags"] ?? "").split(separator: ",").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            let (enrollment, secret) = try await Administration.enrollHost(
                name: form["name"] ?? "", site: form["site"] ?? "", tags: tags, days: Int(form["days"] ?? "") ?? 0, actor: p.user.name, store: store)
            return try await hostsPage(p, context, notice: "\(enrollment.name): \(p.t("settings.tokenShownOnce")) \(secret)", error: nil)
        } catch let error as AdministrationError {
            return try await hostsPage(p, context, notice: nil, error: "\(error.field): \(error)")
        } catch let problem as HostInventoryProblem {
            return try await hostsPage(p, context, notice: nil, error: problem.description)
        }
    }

    @Sendable func revokeHostEnrollment(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let (p, form) = try await formPost(request, context) { $0.canManageHosts }
        guard let id = Int64(form["id"] ?? "") else { throw p.badRequest("id") }
        do { try await store.revokeHostEnrollment(id: id, actor: p.user.name) } catch StoreError.unknownHostEnrollment { throw p.notFound() }
        return Layout.redirect("/hosts")
    }
}

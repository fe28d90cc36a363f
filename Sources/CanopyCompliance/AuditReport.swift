import CanopyModel
import Foundation

/// Renders a framework assessment as an audit-ready report: per requirement its status, the
/// checks behind it, the evidence (resource state address, scan time, policy hash), waivers and
/// attestations.
public enum AuditReport {
    public enum Format: String, Sendable, CaseIterable { case html, csv, json }
    public enum Language: String, Sendable, CaseIterable {
        case en
        case zhTW = "zh-TW"
    }

    public static func render(_ a: FrameworkAssessment, format: Format, language: Language = .en) throws -> String {
        switch format {
        case .json: return try json(a)
        case .csv: return csv(a)
        case .html: return html(a, language: language)
        }
    }

    static func json(_ a: FrameworkAssessment) throws -> String {
        let encoder = CanopyJSON.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(a), as: UTF8.self)
    }

    /// One row per requirement and check (requirements without checks get one row); evidence
    /// columns list the failing resources with their state addresses.
    static func csv(_ a: FrameworkAssessment) -> String {
        var lines = [
            [
                "framework", "requirement", "title", "section", "mode", "status", "check", "check_title", "severity", "passed",
                "failed", "waived", "policy_sha256", "failing_resources", "resource_versions", "waivers", "attestation",
                "evidence_sha256", "evaluated_at", "scan_finished_at",
            ].joined(separator: ","),
        ]
        let evaluated = a.evaluation.map { Timestamps.iso8601($0.evaluatedAt) } ?? ""
        let scanned = a.scanFinishedAt.map(Timestamps.iso8601) ?? ""
        for r in a.requirements {
            let waivers = r.waivers.map { "#\($0.id) \($0.state.rawValue) \($0.checkID) \($0.selector) until \(Timestamps.iso8601($0.expiresAt)): \($0.reason)" }
                .joined(separator: "; ")
            let attestation = r.attestation.map { "\($0.satisfied ? "met" : "not met") by \($0.attestedBy) \(Timestamps.iso8601($0.attestedAt)): \($0.statement)" } ?? ""
            let base = [a.frameworkID, r.requirement.id, r.requirement.title, r.requirement.section ?? "", r.requirement.mode.rawValue, r.status.rawValue]
            let tail = [waivers, attestation, r.attestation?.evidenceSHA256 ?? "", evaluated, scanned]
            if r.checks.isEmpty {
                lines.append((base + Array(repeating: "", count: 8) + tail).map(field).joined(separator: ","))
            }
            for c in r.checks {
                let failing = c.findings.map(\.resourceUID).joined(separator: " ")
                let versions = c.findings.map { $0.resourceVersion ?? "" }.joined(separator: " ")
                let row = base + [c.id, c.title, c.severity, String(c.passed), String(c.failed), String(c.waived), c.policyHash, failing, versions] + tail
                lines.append(row.map(field).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it.
    public static func field(_ text: String) -> String { CSVText.field(text, formulaSafe: true) }

    static func escape(_ text: String) -> String { text.markupEscaped }

    static let labels: [String: (en: String, zh: String)] = [
        "title": ("Audit report", "稽核報告"), "generated": ("Generated", "產生時間"), "evaluation": ("Evaluation", "評估"),
        "scan": ("Inventory scan finished", "盤點掃描完成時間"), "level": ("Level", "等級"), "summary": ("Summary", "摘要"),
        "passRate": ("Pass rate of assessed requirements", "已評估要求之通過率"), "resourcePassRate": ("Resource pass rate", "資源通過率"),
        "requirement": ("Requirement", "要求"), "status": ("Status", "狀態"), "mode": ("Assessment", "評估方式"),
        "checks": ("Checks", "檢查項目"), "evidence": ("Evidence", "證據"), "waivers": ("Waivers", "例外核准"),
        "attestation": ("Attestation", "聲明"), "passed": ("passed", "通過"), "failed": ("failed", "未通過"),
        "waived": ("waived", "已核准例外"), "policy": ("policy SHA-256", "政策雜湊 SHA-256"), "source": ("Source", "來源"),
        "resource": ("Resource", "資源"), "state": ("State address (SHA-256)", "狀態位址 (SHA-256)"), "lastSeen": ("Last seen", "最後發現"),
        "trend": ("Trend (pass rate per evaluation)", "趨勢（各次評估通過率）"), "reason": ("Reason", "理由"),
        "none": ("No failing resources.", "無未通過資源。"),
    ]

    static let statusNames: [RequirementStatus: (en: String, zh: String)] = [
        .passed: ("Passed", "通過"), .failed: ("Failed", "未通過"), .waived: ("Waived", "例外核准"),
        .noResources: ("No resources", "無適用資源"), .attested: ("Attested", "已聲明符合"),
        .attestedFailed: ("Attested not met", "已聲明未符合"), .manual: ("Manual — awaiting attestation", "人工評估 — 待聲明"),
        .notApplicable: ("Not applicable", "不適用"),
    ]

    static func html(_ a: FrameworkAssessment, language: Language) -> String {
        let zh = language == .zhTW
        func t(_ key: String) -> String { escape(zh ? labels[key]!.zh : labels[key]!.en) }
        func status(_ s: RequirementStatus) -> String { escape(zh ? statusNames[s]!.zh : statusNames[s]!.en) }
        func time(_ d: Date?) -> String { d.map { escape(Timestamps.iso8601($0)) } ?? "–" }
        func pct(_ r: Double?) -> String { r.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }
        let name = zh ? (a.nameZh ?? a.name) : a.name
        var h = """
            <!DOCTYPE html>
            <html lang="\(zh ? "zh-Hant-TW" : "en")"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(t("title")) — \(escape(name))</title>
            <style>
            body{font-family:system-ui,"Noto Sans TC","Microsoft JhengHei",sans-serif;margin:2rem;color:#1b1b1b;line-height:1.4}
            h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
            table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem} th,td{border:1px solid #ccc;padding:.3rem .45rem;text-align:left;vertical-align:top;font-size:.88rem}
            th{background:#f2f2f2} code{font-size:.78rem;word-break:break-all}
            .s{font-weight:600;white-space:nowrap} .passed,.attested{color:#1a7f37} .failed,.attested-failed{color:#b3261e}
            .waived{color:#8a5a00} .manual,.no-resources,.not-applicable{color:#555}
            .req{page-break-inside:avoid;border:1px solid #ddd;padding:.6rem .8rem;margin:.8rem 0}
            @media print{body{margin:0} .req{border:none;border-top:1px solid #999}}
            </style></head><body>
            <h1>\(t("title")): \(escape(name))</h1>
            <p>\(escape(a.version.map { "v\($0)" } ?? ""))\(a.level.map { " · \(t("level")) \(escape($0))" } ?? "")<br>
            \(t("source")): \(escape(a.source ?? ""))<br>
            \(t("generated")): \(time(a.generatedAt)) · \(t("evaluation")): \(a.evaluation.map { "#\($0.id) \(escape(Timestamps.iso8601($0.evaluatedAt)))" } ?? "–") · \(t("scan")): \(time(a.scanFinishedAt))</p>
            <h2>\(t("summary"))</h2>
            <table><tr><th>\(t("status"))</th><th>#</th></tr>

            """
        for s in [RequirementStatus.passed, .failed, .waived, .noResources, .attested, .attestedFailed, .manual, .notApplicable] {
            h += "<tr><td class=\"s \(s.rawValue)\">\(status(s))</td><td>\(a.summary.counts[s.rawValue] ?? 0)</td></tr>\n"
        }
        h += "</table>\n<p>\(t("passRate")): <b>\(pct(a.summary.passRate))</b> · \(t("resourcePassRate")): <b>\(pct(a.summary.resourcePassRate))</b></p>\n"
        if !a.trend.isEmpty {
            h += "<p>\(t("trend")): " + a.trend.map { "\(escape(Timestamps.iso8601($0.evaluatedAt).prefix(16).description)) \(pct($0.passRate))" }.joined(separator: " → ") + "</p>\n"
        }
        h += "<h2>\(t("requirement"))</h2>\n<table><tr><th>\(t("requirement"))</th><th>\(t("status"))</th><th>\(t("mode"))</th><th>\(t("checks"))</th></tr>\n"
        for r in a.requirements {
            let title = zh ? (r.requirement.titleZh ?? r.requirement.title) : r.requirement.title
            h += "<tr><td><a href=\"#r-\(escape(r.requirement.id))\">\(escape(r.requirement.id))</a> \(escape(title))</td><td class=\"s \(r.status.rawValue)\">\(status(r.status))</td><td>\(escape(r.requirement.mode.rawValue))</td><td>\(r.checks.map { escape($0.id) }.joined(separator: "<br>"))</td></tr>\n"
        }
        h += "</table>\n"
        for r in a.requirements {
            let title = zh ? (r.requirement.titleZh ?? r.requirement.title) : r.requirement.title
            h += "<div class=\"req\" id=\"r-\(escape(r.requirement.id))\"><h3>\(escape(r.requirement.id)) — \(escape(title))</h3>\n"
            h += "<p class=\"s \(r.status.rawValue)\">\(status(r.status))</p>\n"
            if let section = r.requirement.section { h += "<p>\(escape(section))" + (r.requirement.references.isEmpty ? "" : " · NIST SP 800-53: \(escape(r.requirement.references.joined(separator: ", ")))") + "</p>\n" }
            if let reason = r.requirement.reason { h += "<p>\(t("reason")): \(escape(reason))</p>\n" }
            for c in r.checks {
                h += "<p><b>\(escape(c.id))</b> — \(escape(c.title)) (\(escape(c.severity)), \(escape(c.resource))): \(c.passed) \(t("passed")), \(c.failed) \(t("failed")), \(c.waived) \(t("waived"))<br>\(t("policy")): <code>\(escape(c.policyHash))</code></p>\n"
                if c.findings.isEmpty {
                    h += "<p>\(t("none"))</p>\n"
                } else {
                    h += "<table><tr><th>\(t("resource"))</th><th>\(t("status"))</th><th>\(t("lastSeen"))</th><th>\(t("state"))</th></tr>\n"
                    for f in c.findings {
                        h += "<tr><td>\(escape(f.resourceName))<br><code>\(escape(f.resourceUID))</code><br>\(escape(f.account)) · \(escape(f.region))</td><td>\(escape(f.status.rawValue))\(f.waiverID.map { " (#\($0))" } ?? "")</td><td>\(time(f.lastSeen))</td><td><code>\(escape(f.resourceVersion ?? "–"))</code></td></tr>\n"
                    }
                    h += "</table>\n"
                }
            }
            if !r.waivers.isEmpty {
                h += "<p><b>\(t("waivers"))</b></p><ul>\n"
                for w in r.waivers {
                    h += "<li>#\(w.id) \(escape(w.state.rawValue)) · \(escape(w.checkID)) · \(escape(w.selector)) · \(escape(w.requestedBy)) → \(escape(w.approvedBy ?? "–")) · \(time(w.expiresAt)): \(escape(w.reason))</li>\n"
                }
                h += "</ul>\n"
            }
            if let at = r.attestation {
                h += "<p><b>\(t("attestation"))</b>: \(at.satisfied ? "✓" : "✗") \(escape(at.statement)) — \(escape(at.attestedBy)), \(time(at.attestedAt))"
                if let name = at.evidenceName { h += "<br>\(t("evidence")): \(escape(name)) <code>\(escape(at.evidenceSHA256 ?? ""))</code>" }
                h += "</p>\n"
            }
            h += "</div>\n"
        }
        h += "</body></html>\n"
        return h
    }
}

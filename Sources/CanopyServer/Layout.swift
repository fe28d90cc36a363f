import CanopyModel
import Foundation
import Hummingbird

/// The console's page chrome: navigation, language switch, sign-out form.
enum Layout {
    static let sections: [(key: String, path: String)] = [
        ("nav.overview", "/"), ("nav.units", "/business-units"), ("nav.inventory", "/inventory"), ("nav.hosts", "/hosts"), ("nav.findings", "/findings"),
        ("nav.security", "/security"), ("nav.exceptions", "/exceptions"), ("nav.compliance", "/compliance"), ("nav.costs", "/costs"), ("nav.carbon", "/carbon"), ("nav.lake", "/lake"), ("nav.scans", "/scans"), ("nav.audit", "/audit"),
        ("nav.settings", "/settings"),
    ]

    static func page(title: String, body: String, t: Localizer, user: User?, active: String?, path: String, csrf: String? = nil) -> String {
        let other: Language = t.language == .en ? .zhTW : .en
        var nav = ""
        if let user {
            nav = sections.filter { ($0.path != "/audit" || user.role.canReadAuditLog) && ($0.path != "/lake" || user.role.canReadActivity) }.map { section in
                let current = section.path == active ? " aria-current=\"page\"" : ""
                return "<a href=\"\(section.path)\"\(current)>\(HTML.escape(t(section.key)))</a>"
            }.joined()
            nav += "<span class=\"who\">\(HTML.escape(user.name)) · \(HTML.escape(t("role.\(user.role.rawValue)")))</span>"
            if let csrf {
                nav += "<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(csrf))\"><button type=\"submit\">\(HTML.escape(t("nav.logout")))</button></form>"
            }
        }
        let switchLink = "<a href=\"\(HTML.escape(path))?lang=\(other.rawValue)\" lang=\"\(other.htmlTag)\">\(HTML.escape(t("lang.switch")))</a>"
        return """
            <!DOCTYPE html>
            <html lang="\(t.language.htmlTag)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Canopy</title><link rel="stylesheet" href="/static/canopy.css"><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
            <body><header><strong class="brand">Canopy</strong><nav aria-label="\(HTML.escape(t("nav.label")))">\(nav)</nav><span class="lang">\(switchLink)</span></header>
            <main>\(body)</main><footer>\(HTML.escape(t("footer.text")))</footer></body></html>
            """
    }

    static func response(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }

    static func severityName(_ id: Int, _ t: Localizer) -> String { t("severity.\(id)") }
}

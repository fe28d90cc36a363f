import CanopyModel
import Foundation

/// Builds HTML as text. Every value that did not come from our own templates goes through
/// `escape`.
enum HTML {
    static func escape(_ text: String) -> String { text.markupEscaped }

    /// A query string from pairs (values percent-encoded).
    static func query(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#")
        let parts = pairs.filter { !$0.1.isEmpty }.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    /// A message a form page shows above the form: an error (announced at once) or a notice.
    static func alert(_ error: String?) -> String { error.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? "" }
    static func notice(_ notice: String?) -> String { notice.map { "<p class=\"notice\" role=\"status\">\(escape($0))</p>" } ?? "" }

    static func table(_ headers: [String], _ rows: [[String]], caption: String? = nil) -> String {
        var h = "<table>"
        if let caption { h += "<caption>\(escape(caption))</caption>" }
        h += "<thead><tr>" + headers.map { "<th scope=\"col\">\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        // Row cells are already HTML (they may hold links or badges).
        h += rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined()
        return h + "</tbody></table>"
    }
}

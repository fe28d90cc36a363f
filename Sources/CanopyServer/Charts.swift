import Foundation

/// Charts rendered as inline SVG: each has a `<title>` and `<desc>` and a text equivalent
/// beside it, uses the Okabe–Ito colour-blind-safe palette, and prints as it shows.
enum Chart {
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
    /// OCSF severities 1…5, light to dark.
    static let severityColours = [1: "#56B4E9", 2: "#009E73", 3: "#E69F00", 4: "#D55E00", 5: "#882255"]

    private static func open(_ width: Int, _ height: Int, title: String, desc: String) -> String {
        let id = "c\(abs(title.hashValue % 1_000_000))"
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-labelledby=\"\(id)t \(id)d\" class=\"chart\">"
            + "<title id=\"\(id)t\">\(HTML.escape(title))</title><desc id=\"\(id)d\">\(HTML.escape(desc))</desc>"
    }

    /// A half-circle gauge for a share 0…1 (nil: no data).
    static func gauge(_ value: Double?, title: String) -> String {
        let shown = value.map { String(format: "%.0f%%", $0 * 100) } ?? "–"
        var s = open(180, 110, title: title, desc: "\(title): \(shown)")
        s += "<path d=\"M 20 95 A 70 70 0 0 1 160 95\" fill=\"none\" stroke=\"#ddd\" stroke-width=\"16\"/>"
        if let value {
            let angle = Double.pi * (1 - min(max(value, 0), 1))
            let x = 90 + 70 * cos(angle)
            let y = 95 - 70 * sin(angle)
            let colour = value >= 0.8 ? palette[2] : value >= 0.5 ? palette[1] : palette[5]
            s += "<path d=\"M 20 95 A 70 70 0 0 1 \(String(format: "%.1f", x)) \(String(format: "%.1f", y))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"16\"/>"
        }
        s += "<text x=\"90\" y=\"90\" text-anchor=\"middle\" font-size=\"24\" font-weight=\"600\">\(shown)</text></svg>"
        return s
    }

    /// Horizontal bars with their values written beside them.
    static func bars(_ items: [(label: String, value: Int, colour: String?)], title: String) -> String {
        bars(items.map { (label: $0.label, value: Double($0.value), colour: $0.colour) }, title: title) { String(Int($0)) }
    }

    /// Horizontal bars of amounts, each written beside its bar as `text` makes it.
    static func bars(_ items: [(label: String, value: Double, colour: String?)], title: String, text: (Double) -> String) -> String {
        let maximum = max(items.map(\.value).max() ?? 0, 1e-9)
        let height = 26 * max(items.count, 1) + 8
        var s = open(420, height, title: title, desc: items.map { "\($0.label): \(text($0.value))" }.joined(separator: "; "))
        for (index, item) in items.enumerated() {
            let y = 4 + index * 26
            let width = Int(Double(200) * max(item.value, 0) / maximum)
            s += "<text x=\"0\" y=\"\(y + 16)\" font-size=\"12\">\(HTML.escape(String(item.label.prefix(22))))</text>"
            s += "<rect x=\"150\" y=\"\(y + 3)\" width=\"\(max(width, 1))\" height=\"18\" fill=\"\(item.colour ?? palette[index % palette.count])\"/>"
            s += "<text x=\"\(156 + width)\" y=\"\(y + 16)\" font-size=\"12\">\(HTML.escape(text(item.value)))</text>"
        }
        return s + "</svg>"
    }

    /// A line over time of shares 0…1, as percentages.
    static func line(_ points: [(label: String, value: Double?)], title: String) -> String {
        line(points, title: title, maximum: 1) { String(format: "%.1f%%", $0 * 100) }
    }

    /// A line over time from 0 to `maximum` (the largest point when nil), labelled by `text`.
    static func line(_ points: [(label: String, value: Double?)], title: String, maximum: Double?, text: (Double) -> String) -> String {
        let width = 420
        let height = 140
        let top = max(maximum ?? points.compactMap(\.value).max() ?? 1, 1e-9)
        var s = open(width, height, title: title, desc: points.map { "\($0.label): \($0.value.map(text) ?? "–")" }.joined(separator: "; "))
        s += "<line x1=\"40\" y1=\"110\" x2=\"410\" y2=\"110\" stroke=\"#999\"/><line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"110\" stroke=\"#999\"/>"
        s += "<text x=\"34\" y=\"14\" font-size=\"10\" text-anchor=\"end\">\(HTML.escape(text(top)))</text><text x=\"34\" y=\"112\" font-size=\"10\" text-anchor=\"end\">\(HTML.escape(text(0)))</text>"
        let step = points.count > 1 ? 370.0 / Double(points.count - 1) : 0
        let coordinates = points.enumerated().compactMap { index, point -> (Double, Double)? in
            point.value.map { (40 + step * Double(index), 110 - 100 * min(max($0 / top, 0), 1)) }
        }
        if coordinates.count > 1 {
            s += "<polyline fill=\"none\" stroke=\"\(palette[0])\" stroke-width=\"2\" points=\"" + coordinates.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ") + "\"/>"
        }
        for (x, y) in coordinates { s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>", x, y, palette[0]) }
        for (index, point) in points.enumerated() where index == 0 || index == points.count - 1 {
            let anchor = index == 0 ? "start" : "end"
            s += "<text x=\"\(String(format: "%.0f", 40 + step * Double(index)))\" y=\"128\" font-size=\"10\" text-anchor=\"\(anchor)\">\(HTML.escape(point.label))</text>"
        }
        return s + "</svg>"
    }

    /// A small inline trend for tables.
    static func sparkline(_ values: [Double], title: String) -> String {
        guard values.count > 1, let low = values.min(), let high = values.max() else { return "" }
        let span = max(high - low, 1e-9)
        var s = open(80, 20, title: title, desc: values.map { String(format: "%.1f", $0) }.joined(separator: ", "))
        let step = 78.0 / Double(values.count - 1)
        s += "<polyline fill=\"none\" stroke=\"\(palette[0])\" stroke-width=\"1.5\" points=\"" + values.enumerated().map {
            String(format: "%.1f,%.1f", 1 + step * Double($0.offset), 19 - 18 * ($0.element - low) / span)
        }.joined(separator: " ") + "\"/>"
        return s + "</svg>"
    }
}

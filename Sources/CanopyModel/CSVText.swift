/// One field of a CSV line, RFC 4180 quoted when it must be.
public enum CSVText {
    /// - Parameter formulaSafe: for files people open in a spreadsheet: a leading `=`, `+`, `-`
    ///   or `@` is prefixed with `'` so the cell is text, not a formula. Off for machine formats
    ///   (FOCUS), where `-1.25` is a number.
    public static func field(_ text: String, formulaSafe: Bool = false) -> String {
        var value = text
        if formulaSafe, let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

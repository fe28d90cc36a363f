import Foundation

/// Timestamps are kept as ISO 8601 text in UTC, the form Custodian's JSON output uses.
public enum Timestamps {
    public static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)
            .timeSeparator(.colon).dateSeparator(.dash))
    }

    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = try? Date(trimmed, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) {
            return date
        }
        if let date = try? Date(trimmed, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: trimmed) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: trimmed) { return date }
        if let seconds = Double(trimmed) { return Date(timeIntervalSince1970: seconds) }
        // RFC 1123, as S3 and Route 53 headers use.
        let http = DateFormatter()
        http.locale = Locale(identifier: "en_US_POSIX")
        http.timeZone = TimeZone(identifier: "GMT")
        http.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return http.date(from: trimmed)
    }

    public static func normalize(_ text: String) -> String {
        parse(text).map(iso8601) ?? text
    }
}

import Foundation

/// The ledger's calendar, in UTC: `YYYY-MM` months and `YYYY-MM-DD` days as keys, and the
/// bounds between them. One place for the importers, the store, the analyses and the views.
public enum CostCalendar {
    public static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `YYYY-MM`.
    public static func month(_ date: Date) -> String {
        let (y, m, _) = civil(date)
        return digits(y, 4) + "-" + digits(m, 2)
    }

    /// `YYYY-MM-DD`.
    public static func day(_ date: Date) -> String {
        let (y, m, d) = civil(date)
        return digits(y, 4) + "-" + digits(m, 2) + "-" + digits(d, 2)
    }

    /// The UTC year, month and day of an instant, by arithmetic on days since 1970 (Howard
    /// Hinnant's civil-from-days): an import asks this of every row, and `Calendar` with
    /// `String(format:)` cost more than the rest of the row.
    static func civil(_ date: Date) -> (Int, Int, Int) {
        let z = Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// The start of a `YYYY-MM-DD` day.
    public static func date(_ day: String) -> Date? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        return utc.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    }

    /// Whether `text` is exactly a `YYYY-MM-DD` day.
    public static func isDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return false }
        return parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2 && (1...12).contains(m) && (1...31).contains(d) && y > 0
    }

    /// The first instant of the month `date` falls in, and of the next.
    public static func monthBounds(_ date: Date) -> (Date, Date) {
        let start = utc.date(from: utc.dateComponents([.year, .month], from: date))!
        return (start, utc.date(byAdding: .month, value: 1, to: start)!)
    }

    /// `2024-09` → (`2024-09-01`, `2024-10-01`): a month as the days a cost query spans; nil
    /// when `month` is not `YYYY-MM` with a year in `years`.
    public static func monthSpan(_ month: String, years: ClosedRange<Int> = 1...9_999) -> (from: String, to: String)? {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard month.count == 7, parts.count == 2, (1...12).contains(parts[1]), years.contains(parts[0]) else { return nil }
        let next = parts[1] == 12 ? (parts[0] + 1, 1) : (parts[0], parts[1] + 1)
        return (String(format: "%04d-%02d-01", parts[0], parts[1]), String(format: "%04d-%02d-01", next.0, next.1))
    }

    /// Hours in the month `date` falls in (a GB-month of storage is this many GB-hours).
    public static func hours(inMonthOf date: Date) -> Double {
        let (start, end) = monthBounds(date)
        return end.timeIntervalSince(start) / 3_600
    }
}

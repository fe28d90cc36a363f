import CanopyModel
import Foundation

/// Custodian's `metrics` filter over the series the scan stored (no CloudWatch call at evaluation
/// time). The window is the last `days` days ending at the next minute; it is cut into `period`
/// buckets (one bucket by default) and the resource matches when every bucket with data satisfies
/// `op value` (`missing-value` stands in when there is no data at all; without it, no match).
struct MetricsFilter: ResourceFilter {
    /// Namespace, metric and statistic combinations the scan collects, by Custodian resource type.
    static let collected: [String: (namespace: String, metrics: Set<String>)] = [
        "aws.ec2": ("AWS/EC2", ["CPUUtilization"]),
    ]
    let metric: String
    let days: Double
    let period: TimeInterval?
    let op: FilterOperator
    let value: PyValue
    let missingValue: PyValue?

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["name", "namespace", "statistics", "days", "period", "value", "op", "missing-value", "percent-attr", "attr-multiplier", "dimensions", "period-start"])
        guard let name = try data.string("name") else { throw PolicyError.field("name", "a metrics filter needs the metric 'name'") }
        let statistic = try data.string("statistics") ?? "Average"
        guard statistic == "Average" else {
            throw PolicyError.field("statistics", "the scan stores hourly Average series; statistics '\(statistic)' cannot be computed from them")
        }
        for unsupported in ["percent-attr", "dimensions"] where data[unsupported] != nil {
            throw PolicyError.field(unsupported, "'\(unsupported)' is not supported over stored series")
        }
        guard let collected = Self.collected[data.resource] else {
            throw PolicyError.field("name", "the scan stores no metric series for \(data.resource) (it does for \(Self.collected.keys.sorted().joined(separator: ", ")))")
        }
        let namespace = try data.string("namespace") ?? collected.namespace
        guard namespace == collected.namespace, collected.metrics.contains(name) else {
            throw PolicyError.field("name", "the scan stores \(collected.metrics.sorted().joined(separator: ", ")) in \(collected.namespace) for \(data.resource), not \(namespace) \(name)")
        }
        metric = "\(namespace):\(name):Average"
        days = try data.number("days") ?? 14
        guard days > 0, days <= 455 else { throw PolicyError.field("days", "days must be between 0 and 455") }
        period = try data.number("period")
        let opName = try data.string("op") ?? "less-than"
        guard let op = FilterOperator(name: opName) else { throw PolicyError.field("op", "unknown op '\(opName)'") }
        self.op = op
        guard let value = data["value"] else { throw PolicyError.field("value", "a metrics filter needs a 'value'") }
        self.value = PyValue(value)
        missingValue = data["missing-value"].map(PyValue.init)
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        var end = context.now.timeIntervalSince1970
        end = (end / 60).rounded(.down) * 60 + 60
        let start = end - days * 86_400
        let points = context.series(for: resource.uid, metric: metric)?.points ?? []
        guard let period else {
            // One bucket over the whole window (Custodian's default period): a plain average.
            var sum = 0.0
            var count = 0
            for point in points {
                let t = point.timestamp.timeIntervalSince1970
                if t >= start, t < end {
                    sum += point.value
                    count += 1
                }
            }
            let value = count > 0 ? PyValue.float(sum / Double(count)) : missingValue
            guard let value else { return false }
            return PyValue.apply(op, value, self.value, pattern: nil) ?? false
        }
        let width = period
        var buckets: [Int: (sum: Double, count: Int)] = [:]
        for point in points {
            let t = point.timestamp.timeIntervalSince1970
            guard t >= start, t < end else { continue }
            let index = Int((t - start) / width)
            buckets[index, default: (0, 0)].sum += point.value
            buckets[index, default: (0, 0)].count += 1
        }
        let values: [PyValue] = buckets.isEmpty
            ? (missingValue.map { [$0] } ?? [])
            : buckets.values.map { .float($0.sum / Double($0.count)) }
        guard !values.isEmpty else { return false }
        return values.allSatisfy { PyValue.apply(op, $0, value, pattern: nil) ?? false }
    }
}

/// `marked-for-op`: the resource carries the tag `mark-for-op` wrote ("…: stop@2026/12/01") for
/// this `op`, and its date (less `skew` days and `skew_hours`) has come.
public struct MarkedForOpFilter: ResourceFilter {
    static let defaultTag = "maid_status"
    let tag: String
    let op: String
    let skew: TimeInterval

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["tag", "op", "skew", "skew_hours", "tz"])
        tag = try data.string("tag") ?? Self.defaultTag
        op = try data.string("op") ?? "stop"
        skew = (try data.number("skew") ?? 0) * 86_400 + (try data.number("skew_hours") ?? 0) * 3_600
        if let zone = try data.string("tz"), zone.lowercased() != "utc" {
            throw PolicyError.field("tz", "only UTC marks are supported")
        }
    }

    public func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        guard let value = resource.tags[tag], let (action, date) = Self.parse(value), action == op else { return false }
        return context.now >= date.addingTimeInterval(-skew)
    }

    /// "Resource does not meet policy: stop@2026/12/01" → ("stop", date).
    static func parse(_ value: String) -> (String, Date)? {
        guard let colon = value.lastIndex(of: ":") else { return nil }
        let target = value[value.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard let at = target.firstIndex(of: "@") else { return nil }
        let action = String(target[..<at])
        let dateText = String(target[target.index(after: at)...])
        for format in ["yyyy/MM/dd HHmm 'UTC'", "yyyy/MM/dd HHmm", "yyyy/MM/dd", "yyyy-MM-dd"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            if let date = formatter.date(from: dateText) { return (action, date) }
        }
        return nil
    }

    /// The tag value `mark-for-op` writes, in Custodian's format.
    public static func mark(op: String, at date: Date, message: String = "Resource does not meet policy") -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy/MM/dd"
        return "\(message): \(op)@\(formatter.string(from: date))"
    }
}

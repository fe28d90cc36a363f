import Foundation
import Logging

/// One JSON object per line on standard error — what log shippers (Fluent Bit, Vector, the
/// CloudWatch agent) parse without a grammar: `{"ts","level","label","message",…metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Self.timestamp(), "level": event.level.rawValue, "label": label, "message": "\(event.message)",
            "source": event.source,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) where object[key] == nil {
            object[key] = Self.plain(value)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        FileHandle.standardError.write(data + Data("\n".utf8))
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let items): items.map(plain)
        case .dictionary(let members): members.mapValues(plain)
        }
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

/// Prometheus text for a histogram.
enum PrometheusText {
    static func histogram(name: String, help: String, buckets: [Double], counts: [Int], total: Int, sum: Double) -> String {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (bound, count) in zip(buckets, counts) { text += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
        text += "\(name)_bucket{le=\"+Inf\"} \(total)\n"
        return text + "\(name)_sum \(String(format: "%.6f", sum))\n\(name)_count \(total)\n"
    }

    /// Cumulative bucket counts of `values`.
    static func histogram(name: String, help: String, buckets: [Double], values: [Double]) -> String {
        histogram(
            name: name, help: help, buckets: buckets, counts: buckets.map { bound in values.filter { $0 <= bound }.count }, total: values.count,
            sum: values.reduce(0, +))
    }
}

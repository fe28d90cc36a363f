import CanopyModel
import Foundation

/// One CloudWatch metric a collector keeps per resource: which metric, which statistic, at what
/// period. Stored series are keyed `Namespace:MetricName:Stat` (`MetricSeries.Key`), the key savings
/// recommendations and guardrail filters read them by.
public struct CloudWatchMetric: Sendable {
    public var namespace: String
    public var name: String
    public var stat: String
    public var periodSeconds: Int
    /// The dimension that names the resource (`InstanceId`, `NatGatewayId`, …).
    public var dimension: String
    /// Dimensions every query adds, e.g. S3's `StorageType`.
    public var fixedDimensions: [(name: String, value: String)]

    /// The metric stored under `key` (`MetricSeries.Key`, `Namespace:MetricName:Stat`).
    public init(key: String, periodSeconds: Int, dimension: String, fixedDimensions: [(name: String, value: String)] = []) {
        let parts = key.split(separator: ":").map(String.init)
        precondition(parts.count == 3, "a metric key is Namespace:MetricName:Stat")
        self.namespace = parts[0]
        self.name = parts[1]
        self.stat = parts[2]
        self.periodSeconds = periodSeconds
        self.dimension = dimension
        self.fixedDimensions = fixedDimensions
    }

    public var key: String { "\(namespace):\(name):\(stat)" }

    /// Hourly average CPU of an EC2 instance.
    public static let ec2CPU = CloudWatchMetric(key: MetricSeries.Key.ec2CPU, periodSeconds: 3_600, dimension: "InstanceId")
    /// Bytes a NAT gateway sent towards destinations, summed per day: zero for two weeks is an idle gateway.
    public static let natBytesOut = CloudWatchMetric(key: MetricSeries.Key.natBytesOut, periodSeconds: 86_400, dimension: "NatGatewayId")
    /// The most connections an RDS instance held in each day.
    public static let rdsConnections = CloudWatchMetric(key: MetricSeries.Key.rdsConnections, periodSeconds: 86_400, dimension: "DBInstanceIdentifier")
    /// A bucket's S3 Standard bytes (S3 reports storage metrics once a day).
    public static let s3StandardBytes = CloudWatchMetric(
        key: MetricSeries.Key.s3StandardBytes, periodSeconds: 86_400, dimension: "BucketName", fixedDimensions: [("StorageType", "StandardStorage")])
    /// A bucket's object count (all storage classes).
    public static let s3Objects = CloudWatchMetric(
        key: MetricSeries.Key.s3Objects, periodSeconds: 86_400, dimension: "BucketName", fixedDimensions: [("StorageType", "AllStorageTypes")])
}

/// Fetches metric history for many resources with `GetMetricData` (500 queries a call), asking only
/// for resources CloudWatch lists the metric for.
enum CloudWatchSeries {
    /// `targets` pairs a resource's uid with the value of `metric.dimension` that names it.
    static func collect(_ metric: CloudWatchMetric, targets: [(uid: String, id: String)], region: String, context: CollectorContext) async throws
        -> [MetricSeries]
    {
        guard !targets.isEmpty else { return [] }
        // ListMetrics covers the last two weeks: a resource idle for longer than CloudWatch keeps
        // listing it, or created a minute ago, would cost a query and return nothing.
        let listed = try await context.client.queryPages(
            "cloudwatch", "ListMetrics", region: region,
            parameters: ["Namespace": metric.namespace, "MetricName": metric.name, "Dimensions.member.1.Name": metric.dimension],
            itemsKey: "Metrics")
        var withData: Set<String> = []
        for entry in listed {
            for dimension in entry["Dimensions"]?.arrayValue ?? [] where dimension["Name"]?.stringValue == metric.dimension {
                if let id = dimension["Value"]?.stringValue { withData.insert(id) }
            }
        }
        let targets = targets.filter { withData.contains($0.id) }
        guard !targets.isEmpty else { return [] }
        let end = context.observedAt
        let start = end.addingTimeInterval(-context.metricWindow)
        var series: [MetricSeries] = []
        for offset in stride(from: 0, to: targets.count, by: 500) {
            let batch = Array(targets[offset..<min(offset + 500, targets.count)])
            var parameters = ["StartTime": Timestamps.iso8601(start), "EndTime": Timestamps.iso8601(end), "ScanBy": "TimestampAscending"]
            for (index, target) in batch.enumerated() {
                let prefix = "MetricDataQueries.member.\(index + 1)"
                parameters["\(prefix).Id"] = "m\(index)"
                parameters["\(prefix).MetricStat.Metric.Namespace"] = metric.namespace
                parameters["\(prefix).MetricStat.Metric.MetricName"] = metric.name
                let dimensions = [(metric.dimension, target.id)] + metric.fixedDimensions.map { ($0.name, $0.value) }
                for (position, dimension) in dimensions.enumerated() {
                    parameters["\(prefix).MetricStat.Metric.Dimensions.member.\(position + 1).Name"] = dimension.0
                    parameters["\(prefix).MetricStat.Metric.Dimensions.member.\(position + 1).Value"] = dimension.1
                }
                parameters["\(prefix).MetricStat.Period"] = String(metric.periodSeconds)
                parameters["\(prefix).MetricStat.Stat"] = metric.stat
            }
            let results = try await context.client.queryPages(
                "cloudwatch", "GetMetricData", region: region, parameters: parameters, itemsKey: "MetricDataResults")
            var points: [String: [MetricSeries.Point]] = [:]
            for result in results {
                guard let id = result["Id"]?.stringValue, let index = Int(id.dropFirst()), index < batch.count else { continue }
                let times = result["Timestamps"]?.arrayValue ?? []
                let values = result["Values"]?.arrayValue ?? []
                for (time, value) in zip(times, values) {
                    if let date = time.stringValue.flatMap(Timestamps.parse), let number = value.doubleValue {
                        points[batch[index].uid, default: []].append(.init(timestamp: date, value: number))
                    }
                }
            }
            for target in batch {
                guard let found = points[target.uid], !found.isEmpty else { continue }
                series.append(
                    MetricSeries(resourceUID: target.uid, metric: metric.key, periodSeconds: metric.periodSeconds, points: found.sorted { $0.timestamp < $1.timestamp }))
            }
        }
        return series
    }

    /// Series of `metric` for `resources`, each named by the property `idKey`.
    static func collect(_ metric: CloudWatchMetric, for resources: [Resource], idKey: String, context: CollectorContext) async throws -> [MetricSeries] {
        try await collect(
            metric, targets: resources.compactMap { r in r.properties[idKey]?.stringValue.map { (r.uid, $0) } }, region: context.region, context: context)
    }
}

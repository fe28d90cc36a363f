import Foundation

/// How a resource differs between two scans.
public struct ResourceChange: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case added
        case removed
        case modified
    }

    public var uid: String
    public var type: String
    public var account: String
    public var region: String
    public var name: String
    public var kind: Kind
    /// The scan that saw the change.
    public var scanID: Int64
    public var observedAt: Date
    /// Property-level differences; empty for `added` and `removed`.
    public var differences: [PropertyDifference]

    public init(
        uid: String, type: String, account: String, region: String, name: String, kind: Kind, scanID: Int64,
        observedAt: Date, differences: [PropertyDifference] = []
    ) {
        self.uid = uid
        self.type = type
        self.account = account
        self.region = region
        self.name = name
        self.kind = kind
        self.scanID = scanID
        self.observedAt = observedAt
        self.differences = differences
    }
}

/// One changed value, addressed by a path a user can read: `State.Name`, `IpPermissions[1].FromPort`,
/// `tag:Owner`, `name`.
public struct PropertyDifference: Sendable, Hashable, Codable {
    public var path: String
    public var before: JSONValue?
    public var after: JSONValue?

    public init(path: String, before: JSONValue?, after: JSONValue?) {
        self.path = path
        self.before = before
        self.after = after
    }
}

public enum StateDiff {
    /// Members whose value moves with the clock rather than with configuration: a new value is kept
    /// as the latest observation but is not a change (AWS Config leaves these out of its timeline too).
    public static let volatileKeys: Set<String> = [
        "LatestRestorableTime", "LatestDeliveryTime", "LatestDeliveryAttemptTime", "LatestDeliveryAttemptSucceeded",
        "LatestNotificationTime", "LatestNotificationAttemptTime", "LatestNotificationAttemptSucceeded",
        "LatestDigestDeliveryTime", "LatestCloudWatchLogsDeliveryTime", "lastStatusChangeTime", "LastUsedDate",
        "password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date",
        "access_key_1_last_used_region", "access_key_2_last_used_region", "access_key_1_last_used_service",
        "access_key_2_last_used_service",
    ]

    /// The differences between two observations of one resource, in a stable order.
    public static func differences(from old: ObservedState, to new: ObservedState) -> [PropertyDifference] {
        var result: [PropertyDifference] = []
        if old.name != new.name {
            result.append(PropertyDifference(path: "name", before: .string(old.name), after: .string(new.name)))
        }
        for key in Set(old.tags.keys).union(new.tags.keys).sorted() where old.tags[key] != new.tags[key] {
            result.append(
                PropertyDifference(
                    path: "tag:\(key)", before: old.tags[key].map(JSONValue.string),
                    after: new.tags[key].map(JSONValue.string)))
        }
        collect(old.properties, new.properties, path: "", into: &result)
        return result
    }

    private static func collect(_ old: JSONValue?, _ new: JSONValue?, path: String, into result: inout [PropertyDifference]) {
        if old == new { return }
        switch (old, new) {
        case (.object(let a)?, .object(let b)?):
            for key in Set(a.keys).union(b.keys).sorted() where !volatileKeys.contains(key) {
                collect(a[key], b[key], path: path.isEmpty ? key : "\(path).\(key)", into: &result)
            }
        case (.array(let a)?, .array(let b)?) where a.count == b.count:
            for index in a.indices {
                collect(a[index], b[index], path: "\(path)[\(index)]", into: &result)
            }
        default:
            result.append(PropertyDifference(path: path.isEmpty ? "properties" : path, before: old, after: new))
        }
    }
}

/// A time series of one metric for one resource (CloudWatch `CPUUtilization`, for rightsizing).
public struct MetricSeries: Sendable, Hashable, Codable {
    /// The series collectors keep, by the key they are stored under.
    public enum Key {
        public static let ec2CPU = "AWS/EC2:CPUUtilization:Average"
        public static let natBytesOut = "AWS/NATGateway:BytesOutToDestination:Sum"
        public static let rdsConnections = "AWS/RDS:DatabaseConnections:Maximum"
        public static let s3StandardBytes = "AWS/S3:BucketSizeBytes:Average"
        public static let s3Objects = "AWS/S3:NumberOfObjects:Average"
    }

    public struct Point: Sendable, Hashable, Codable {
        public var timestamp: Date
        public var value: Double

        public init(timestamp: Date, value: Double) {
            self.timestamp = timestamp
            self.value = value
        }
    }

    public var resourceUID: String
    /// `AWS/EC2:CPUUtilization:Average`: namespace, metric name and statistic.
    public var metric: String
    public var periodSeconds: Int
    public var points: [Point]

    public init(resourceUID: String, metric: String, periodSeconds: Int, points: [Point]) {
        self.resourceUID = resourceUID
        self.metric = metric
        self.periodSeconds = periodSeconds
        self.points = points
    }
}

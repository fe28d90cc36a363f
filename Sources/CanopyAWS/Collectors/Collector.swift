import CanopyModel
import Foundation

/// What a collector unit runs with: a client acting in one account, the region, and the account's
/// metadata (name, organisational unit) for resources that describe the account itself.
public struct CollectorContext: Sendable {
    public var client: AWSClient
    public var account: Account
    /// The region, or `global` for services that are not regional (IAM, S3 listing, Route 53).
    public var region: String
    public var observedAt: Date
    /// How far back metric series are read.
    public var metricWindow: TimeInterval
    /// How many calls one unit may have in flight at once (per-resource detail calls).
    public var detailConcurrency: Int

    public init(
        client: AWSClient, account: Account, region: String, observedAt: Date, metricWindow: TimeInterval = 14 * 86_400,
        detailConcurrency: Int = 8
    ) {
        self.client = client
        self.account = account
        self.region = region
        self.observedAt = observedAt
        self.metricWindow = metricWindow
        self.detailConcurrency = detailConcurrency
    }

    /// A resource of this context's account, named after its `Name` tag when it has one.
    func resource(
        type: String, uid: String, id: String, region: String? = nil, tags: [String: String] = [:],
        properties: JSONValue
    ) -> Resource {
        Resource(
            uid: uid, provider: .aws, account: account.id, region: region ?? self.region, type: type,
            name: tags["Name"].flatMap { $0.isEmpty ? nil : $0 } ?? id, tags: tags, properties: properties,
            observedAt: observedAt)
    }

    func arn(_ service: String, _ resource: String, region: String? = nil, account: String? = nil) -> String {
        "arn:aws:\(service):\(region ?? self.region):\(account ?? self.account.id):\(resource)"
    }
}

public struct CollectorOutput: Sendable {
    public var resources: [Resource]
    public var metrics: [MetricSeries]

    public init(resources: [Resource] = [], metrics: [MetricSeries] = []) {
        self.resources = resources
        self.metrics = metrics
    }
}

/// One service's inventory in one account and region: the unit a scan schedules, retries and
/// reports on. Collectors only read; they never evaluate.
public protocol Collector: Sendable {
    /// The unit name shown in scan summaries (`ec2`, `s3`, `iam`).
    var service: String { get }
    /// Global collectors run once per account (region `global`); regional ones once per region.
    var isGlobal: Bool { get }
    /// The Custodian resource types this collector produces.
    var resourceTypes: [String] { get }
    func collect(_ context: CollectorContext) async throws -> CollectorOutput
}

/// Every collector Canopy ships, in the order summaries list them.
public enum Collectors {
    public static let all: [any Collector] = [
        AccountCollector(), VPCCollector(), EC2Collector(), EBSCollector(), S3Collector(), IAMCollector(),
        RDSCollector(), DynamoDBCollector(), KMSCollector(), LambdaCollector(), ELBv2Collector(),
        AutoScalingCollector(), CloudTrailCollector(), ConfigCollector(), BackupCollector(), Route53Collector(),
        GuardDutyCollector(),
    ]

    /// The collectors named (by service or by resource type); all when `names` is empty.
    public static func select(_ names: [String]) throws -> [any Collector] {
        guard !names.isEmpty else { return all }
        return try names.map { name in
            let bare = name.hasPrefix("aws.") ? String(name.dropFirst(4)) : name
            guard
                let found = all.first(where: {
                    $0.service == bare || $0.resourceTypes.contains("aws.\(bare)") || $0.resourceTypes.contains(name)
                })
            else {
                throw CollectorError.unknownService(name, known: all.map(\.service))
            }
            return found
        }.reduce(into: [any Collector]()) { result, next in
            if !result.contains(where: { $0.service == next.service }) { result.append(next) }
        }
    }
}

public enum CollectorError: Error, CustomStringConvertible, Sendable {
    case unknownService(String, known: [String])

    public var description: String {
        switch self {
        case .unknownService(let name, let known):
            "unknown service or resource type '\(name)'; known services: \(known.joined(separator: ", "))"
        }
    }
}

/// Runs `transform` over `items` with at most `limit` in flight, keeping the input order.
func concurrentMap<T: Sendable, R: Sendable>(
    _ items: [T], limit: Int, _ transform: @escaping @Sendable (T) async throws -> R
) async throws -> [R] {
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var results = [R?](repeating: nil, count: items.count)
        var next = 0
        for _ in 0..<min(max(1, limit), items.count) {
            let index = next
            group.addTask { (index, try await transform(items[index])) }
            next += 1
        }
        while let (index, value) = try await group.next() {
            results[index] = value
            if next < items.count {
                let index = next
                group.addTask { (index, try await transform(items[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// Calls whose "not found" answer means "not configured" (no bucket policy, no login profile).
func optional(_ codes: Set<String>, _ call: () async throws -> JSONValue) async throws -> JSONValue? {
    do {
        return try await call()
    } catch let error as AWSServiceError where codes.contains(error.code) || error.status == 404 {
        return nil
    }
}

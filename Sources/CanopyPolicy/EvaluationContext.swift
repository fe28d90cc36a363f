import CanopyModel
import Foundation

/// What a filter may consult beyond the resource it judges: the clock, the rest of the inventory
/// (an account's trails, which security groups are in use) and the stored metric series. Built
/// once per evaluation, so cross-resource filters cost a dictionary lookup per resource.
public struct EvaluationContext: Sendable {
    public var now: Date
    /// Every resource, as given.
    public let inventory: [Resource]
    /// The inventory by Custodian type, grouped once for every policy of the evaluation.
    public let byType: [String: [Resource]]
    private let byAccountAndType: [AccountType: [Resource]]
    private let series: [String: [String: MetricSeries]]
    /// Security group ids some instance, database, load balancer or function refers to, per account.
    let securityGroupsInUse: Set<String>
    /// VPC ids that are the default VPC of their region.
    let defaultVPCs: Set<String>
    /// Credential report rows in Custodian's processed shape, by resource uid (built once: every
    /// `credential` filter reads them).
    let credentialRecords: [String: JSONValue]
    /// S3 bucket policies parsed from their JSON text, by resource uid.
    let bucketPolicies: [String: JSONValue]

    private struct AccountType: Hashable {
        var account: String
        var type: String
    }

    public init(now: Date = Date(), inventory: [Resource] = [], metrics: [MetricSeries] = []) {
        self.now = now
        self.inventory = inventory
        byType = Dictionary(grouping: inventory, by: \.type)
        byAccountAndType = Dictionary(grouping: inventory) { AccountType(account: $0.account, type: $0.type) }
        var series: [String: [String: MetricSeries]] = [:]
        for item in metrics { series[item.resourceUID, default: [:]][item.metric] = item }
        self.series = series
        var inUse: Set<String> = []
        var defaults: Set<String> = []
        var records: [String: JSONValue] = [:]
        var policies: [String: JSONValue] = [:]
        for resource in inventory {
            let p = resource.properties
            if resource.type == "aws.s3", let text = p["Policy"]?.stringValue, let parsed = try? JSONValue.parse(Data(text.utf8)) {
                policies[resource.uid] = parsed
            }
            if resource.type == "aws.iam-user" || resource.type == "aws.account",
                let row = p["c7n:credential-report"], case .object = row
            {
                records[resource.uid] = CredentialReportFilter.record(row)
            }
            switch resource.type {
            case "aws.ec2", "aws.app-elb":
                for group in p["SecurityGroups"]?.arrayValue ?? [] {
                    if let id = group["GroupId"]?.stringValue ?? group.stringValue { inUse.insert(id) }
                }
                for interface in p["NetworkInterfaces"]?.arrayValue ?? [] {
                    for group in interface["Groups"]?.arrayValue ?? [] {
                        if let id = group["GroupId"]?.stringValue { inUse.insert(id) }
                    }
                }
            case "aws.rds":
                for group in p["VpcSecurityGroups"]?.arrayValue ?? [] {
                    if let id = group["VpcSecurityGroupId"]?.stringValue { inUse.insert(id) }
                }
            case "aws.lambda":
                for id in p["VpcConfig"]?["SecurityGroupIds"]?.arrayValue ?? [] {
                    if let id = id.stringValue { inUse.insert(id) }
                }
            case "aws.vpc":
                if p["IsDefault"] == .bool(true), let id = p["VpcId"]?.stringValue { defaults.insert(id) }
            default:
                break
            }
        }
        securityGroupsInUse = inUse
        defaultVPCs = defaults
        credentialRecords = records
        bucketPolicies = policies
    }

    /// The resources of `type` in `account` (any region).
    public func related(_ type: String, account: String) -> [Resource] {
        byAccountAndType[AccountType(account: account, type: type)] ?? []
    }

    public func series(for uid: String, metric: String) -> MetricSeries? {
        series[uid]?[metric]
    }
}

/// The metric series the `metrics` filter can read (`namespace:name:statistic`), so whoever loads
/// a context knows which to fetch.
public enum MetricsFilterCatalogue {
    public static var storedMetrics: [String] {
        MetricsFilter.collected.values.flatMap { entry in entry.metrics.map { "\(entry.namespace):\($0):Average" } }.sorted()
    }
}

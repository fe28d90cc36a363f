import CanopyModel
import Foundation

/// VPCs, subnets, security groups and NAT gateways.
struct VPCCollector: Collector {
    let service = "vpc"
    let isGlobal = false
    let resourceTypes = ["aws.vpc", "aws.subnet", "aws.security-group", "aws.nat-gateway"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        async let vpcs = client.queryPages("ec2", "DescribeVpcs", region: region, itemsKey: "Vpcs")
        async let subnets = client.queryPages("ec2", "DescribeSubnets", region: region, itemsKey: "Subnets")
        async let groups = client.queryPages(
            "ec2", "DescribeSecurityGroups", region: region, itemsKey: "SecurityGroups")
        async let nats = client.queryPages("ec2", "DescribeNatGateways", region: region, itemsKey: "NatGateways")
        var resources: [Resource] = []
        for vpc in try await vpcs {
            let id = vpc["VpcId"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.vpc", uid: context.arn("ec2", "vpc/\(id)"), id: id, tags: tagDictionary(vpc["Tags"]),
                    properties: vpc))
        }
        for subnet in try await subnets {
            let id = subnet["SubnetId"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.subnet", uid: subnet["SubnetArn"]?.stringValue ?? context.arn("ec2", "subnet/\(id)"),
                    id: id, tags: tagDictionary(subnet["Tags"]), properties: subnet))
        }
        for group in try await groups {
            let id = group["GroupId"]?.stringValue ?? ""
            let tags = tagDictionary(group["Tags"])
            var resource = context.resource(
                type: "aws.security-group", uid: context.arn("ec2", "security-group/\(id)"), id: id, tags: tags,
                properties: group)
            if tags["Name"] == nil, let name = group["GroupName"]?.stringValue { resource.name = name }
            resources.append(resource)
        }
        for nat in try await nats {
            let id = nat["NatGatewayId"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.nat-gateway", uid: context.arn("ec2", "natgateway/\(id)"), id: id,
                    tags: tagDictionary(nat["Tags"]), properties: nat))
        }
        return CollectorOutput(resources: resources)
    }
}

/// EC2 instances and their CloudWatch `CPUUtilization` history.
struct EC2Collector: Collector {
    let service = "ec2"
    let isGlobal = false
    let resourceTypes = ["aws.ec2"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let reservations = try await context.client.queryPages(
            "ec2", "DescribeInstances", region: context.region, parameters: ["MaxResults": "1000"],
            itemsKey: "Reservations")
        var resources: [Resource] = []
        for reservation in reservations {
            for instance in reservation["Instances"]?.arrayValue ?? [] {
                let id = instance["InstanceId"]?.stringValue ?? ""
                resources.append(
                    context.resource(
                        type: "aws.ec2", uid: context.arn("ec2", "instance/\(id)"), id: id,
                        tags: tagDictionary(instance["Tags"]), properties: instance))
            }
        }
        let metrics = try await CPUMetrics.collect(
            instances: resources.compactMap { resource in
                resource.properties["InstanceId"]?.stringValue.map { (resource.uid, $0) }
            }, context: context)
        return CollectorOutput(resources: resources, metrics: metrics)
    }
}

/// Hourly average CPU per instance over the metric window, via `GetMetricData` (500 queries a call).
enum CPUMetrics {
    static let metric = "AWS/EC2:CPUUtilization:Average"
    static let period = 3600

    static func collect(instances: [(uid: String, instanceID: String)], context: CollectorContext) async throws
        -> [MetricSeries]
    {
        guard !instances.isEmpty else { return [] }
        // Ask only for instances CloudWatch has the metric for (ListMetrics covers the last two weeks):
        // an instance stopped for longer, or launched a minute ago, would cost a query and return nothing.
        let listed = try await context.client.queryPages(
            "cloudwatch", "ListMetrics", region: context.region,
            parameters: ["Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Dimensions.member.1.Name": "InstanceId"],
            itemsKey: "Metrics")
        var withData: Set<String> = []
        for metric in listed {
            for dimension in metric["Dimensions"]?.arrayValue ?? [] where dimension["Name"] == "InstanceId" {
                if let id = dimension["Value"]?.stringValue { withData.insert(id) }
            }
        }
        let instances = instances.filter { withData.contains($0.instanceID) }
        guard !instances.isEmpty else { return [] }
        let end = context.observedAt
        let start = end.addingTimeInterval(-context.metricWindow)
        let batches = stride(from: 0, to: instances.count, by: 500).map {
            Array(instances[$0..<min($0 + 500, instances.count)])
        }
        var series: [MetricSeries] = []
        for batch in batches {
            var parameters = [
                "StartTime": Timestamps.iso8601(start), "EndTime": Timestamps.iso8601(end), "ScanBy": "TimestampAscending",
            ]
            for (index, instance) in batch.enumerated() {
                let prefix = "MetricDataQueries.member.\(index + 1)"
                parameters["\(prefix).Id"] = "m\(index)"
                parameters["\(prefix).MetricStat.Metric.Namespace"] = "AWS/EC2"
                parameters["\(prefix).MetricStat.Metric.MetricName"] = "CPUUtilization"
                parameters["\(prefix).MetricStat.Metric.Dimensions.member.1.Name"] = "InstanceId"
                parameters["\(prefix).MetricStat.Metric.Dimensions.member.1.Value"] = instance.instanceID
                parameters["\(prefix).MetricStat.Period"] = String(period)
                parameters["\(prefix).MetricStat.Stat"] = "Average"
            }
            let results = try await context.client.queryPages(
                "cloudwatch", "GetMetricData", region: context.region, parameters: parameters,
                itemsKey: "MetricDataResults")
            var points: [String: [MetricSeries.Point]] = [:]
            for result in results {
                guard let id = result["Id"]?.stringValue, let index = Int(id.dropFirst()), index < batch.count else {
                    continue
                }
                let times = result["Timestamps"]?.arrayValue ?? []
                let values = result["Values"]?.arrayValue ?? []
                for (time, value) in zip(times, values) {
                    if let date = time.stringValue.flatMap(Timestamps.parse), let number = value.doubleValue {
                        points[batch[index].uid, default: []].append(.init(timestamp: date, value: number))
                    }
                }
            }
            for instance in batch {
                guard let found = points[instance.uid], !found.isEmpty else { continue }
                series.append(
                    MetricSeries(
                        resourceUID: instance.uid, metric: metric, periodSeconds: period,
                        points: found.sorted { $0.timestamp < $1.timestamp }))
            }
        }
        return series
    }
}

/// EBS volumes, the account's own snapshots and AMIs, and Elastic IPs.
struct EBSCollector: Collector {
    let service = "ebs"
    let isGlobal = false
    let resourceTypes = ["aws.ebs", "aws.ebs-snapshot", "aws.ami", "aws.elastic-ip"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        async let volumes = client.queryPages("ec2", "DescribeVolumes", region: region, itemsKey: "Volumes")
        // `owner-id` repeats `Owner=self` as a filter: identical on AWS, and it spares an emulator that
        // ignores `Owner` (moto) from rendering its ~1,200-snapshot public catalogue on every call.
        async let snapshots = client.queryPages(
            "ec2", "DescribeSnapshots", region: region,
            parameters: ["Owner.1": "self", "Filter.1.Name": "owner-id", "Filter.1.Value.1": context.account.id],
            itemsKey: "Snapshots")
        async let images = client.queryPages(
            "ec2", "DescribeImages", region: region, parameters: ["Owner.1": "self"], itemsKey: "Images")
        async let addresses = client.query("ec2", "DescribeAddresses", region: region)
        var resources: [Resource] = []
        for volume in try await volumes {
            let id = volume["VolumeId"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.ebs", uid: context.arn("ec2", "volume/\(id)"), id: id, tags: tagDictionary(volume["Tags"]),
                    properties: volume))
        }
        // Only what the account owns, whatever the API answered.
        let accountID = context.account.id
        let ownSnapshots = try await snapshots.filter { $0["OwnerId"]?.stringValue == accountID }
        // Whether a snapshot is shared publicly is an attribute, not part of DescribeSnapshots.
        let permissions = try await concurrentMap(ownSnapshots, limit: context.detailConcurrency) { snapshot in
            let id = snapshot["SnapshotId"]?.stringValue ?? ""
            let answer = try await optional(["InvalidSnapshot.NotFound"]) {
                try await client.query(
                    "ec2", "DescribeSnapshotAttribute", region: region,
                    parameters: ["SnapshotId": id, "Attribute": "createVolumePermission"])
            }
            return answer?["CreateVolumePermissions"] ?? []
        }
        for (snapshot, permission) in zip(ownSnapshots, permissions) {
            let id = snapshot["SnapshotId"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.ebs-snapshot", uid: context.arn("ec2", "snapshot/\(id)", account: ""), id: id,
                    tags: tagDictionary(snapshot["Tags"]),
                    properties: snapshot.merging(["CreateVolumePermissions": permission])))
        }
        for image in try await images where image["OwnerId"]?.stringValue == accountID {
            let id = image["ImageId"]?.stringValue ?? ""
            var resource = context.resource(
                type: "aws.ami", uid: context.arn("ec2", "image/\(id)", account: ""), id: id,
                tags: tagDictionary(image["Tags"]), properties: image)
            if resource.tags["Name"] == nil, let name = image["Name"]?.stringValue { resource.name = name }
            resources.append(resource)
        }
        for address in try await addresses["Addresses"]?.arrayValue ?? [] {
            let id = address["AllocationId"]?.stringValue ?? address["PublicIp"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.elastic-ip", uid: context.arn("ec2", "elastic-ip/\(id)"), id: id,
                    tags: tagDictionary(address["Tags"]), properties: address))
        }
        return CollectorOutput(resources: resources)
    }
}

import CanopyModel
import Foundation

/// VPCs, subnets, security groups and NAT gateways (with the bytes each gateway sent, per day).
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
        var gateways: [Resource] = []
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
            gateways.append(
                context.resource(
                    type: "aws.nat-gateway", uid: context.arn("ec2", "natgateway/\(id)"), id: id,
                    tags: tagDictionary(nat["Tags"]), properties: nat))
        }
        let traffic = try await CloudWatchSeries.collect(
            .natBytesOut, for: gateways.filter { $0.properties["State"]?.stringValue == "available" }, idKey: "NatGatewayId", context: context)
        return CollectorOutput(resources: resources + gateways, metrics: traffic)
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
        let metrics = try await CloudWatchSeries.collect(.ec2CPU, for: resources, idKey: "InstanceId", context: context)
        return CollectorOutput(resources: resources, metrics: metrics)
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

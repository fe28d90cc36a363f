import CanopyModel
import Foundation

/// Application and network load balancers with listeners, attributes and tags.
struct ELBv2Collector: Collector {
    let service = "elbv2"
    let isGlobal = false
    let resourceTypes = ["aws.app-elb"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        let balancers = try await client.queryPages(
            "elbv2", "DescribeLoadBalancers", region: region, itemsKey: "LoadBalancers", inputToken: "Marker",
            outputToken: "NextMarker")
        let resources = try await concurrentMap(balancers, limit: context.detailConcurrency) { balancer -> Resource in
            let arn = balancer["LoadBalancerArn"]?.stringValue ?? ""
            async let listeners = client.queryPages(
                "elbv2", "DescribeListeners", region: region, parameters: ["LoadBalancerArn": arn], itemsKey: "Listeners",
                inputToken: "Marker", outputToken: "NextMarker")
            async let attributes = client.query(
                "elbv2", "DescribeLoadBalancerAttributes", region: region, parameters: ["LoadBalancerArn": arn])
            async let tags = client.query(
                "elbv2", "DescribeTags", region: region, parameters: ["ResourceArns.member.1": arn])
            let tagList = try await tags["TagDescriptions"]?.arrayValue?.first?["Tags"] ?? []
            return context.resource(
                type: "aws.app-elb", uid: arn, id: balancer["LoadBalancerName"]?.stringValue ?? arn,
                tags: tagDictionary(tagList),
                properties: balancer.merging([
                    "Listeners": .array(try await listeners), "Attributes": try await attributes["Attributes"] ?? [],
                    "Tags": tagList,
                ]))
        }
        return CollectorOutput(resources: resources)
    }
}

/// Auto Scaling groups.
struct AutoScalingCollector: Collector {
    let service = "autoscaling"
    let isGlobal = false
    let resourceTypes = ["aws.asg"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let groups = try await context.client.queryPages(
            "autoscaling", "DescribeAutoScalingGroups", region: context.region, itemsKey: "AutoScalingGroups")
        return CollectorOutput(
            resources: groups.map { group in
                let name = group["AutoScalingGroupName"]?.stringValue ?? ""
                var resource = context.resource(
                    type: "aws.asg",
                    uid: group["AutoScalingGroupARN"]?.stringValue ?? context.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/\(name)"),
                    id: name, tags: tagDictionary(group["Tags"]), properties: group)
                resource.name = name
                return resource
            })
    }
}

/// Route 53 hosted zones and health checks.
struct Route53Collector: Collector {
    let service = "route53"
    let isGlobal = true
    let resourceTypes = ["aws.hostedzone", "aws.healthcheck"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        async let zones = client.restPages(
            "route53", "ListHostedZones", region: "global", path: "/2013-04-01/hostedzone", itemsKey: "HostedZones",
            inputToken: "marker", outputToken: "NextMarker")
        async let checks = client.restPages(
            "route53", "ListHealthChecks", region: "global", path: "/2013-04-01/healthcheck", itemsKey: "HealthChecks",
            inputToken: "marker", outputToken: "NextMarker")
        var resources: [Resource] = []
        for zone in try await zones {
            let id = (zone["Id"]?.stringValue ?? "").replacingOccurrences(of: "/hostedzone/", with: "")
            var resource = context.resource(
                type: "aws.hostedzone", uid: "arn:aws:route53:::hostedzone/\(id)", id: id, properties: zone)
            resource.name = zone["Name"]?.stringValue ?? id
            resources.append(resource)
        }
        for check in try await checks {
            let id = check["Id"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.healthcheck", uid: "arn:aws:route53:::healthcheck/\(id)", id: id, properties: check))
        }
        return CollectorOutput(resources: resources)
    }
}

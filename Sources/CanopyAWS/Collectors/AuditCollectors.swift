import CanopyModel
import Foundation

/// CloudTrail trails in their home region, with logging status and event selectors.
struct CloudTrailCollector: Collector {
    let service = "cloudtrail"
    let isGlobal = false
    let resourceTypes = ["aws.cloudtrail"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        // Multi-region trails are listed in every region as "shadow" copies; each is kept once, at home.
        let trails = try await client.json(
            "cloudtrail", "DescribeTrails", region: region, body: ["includeShadowTrails": false]
        )["trailList"]?.arrayValue ?? []
        let home = trails.filter { ($0["HomeRegion"]?.stringValue ?? region) == region }
        let resources = try await concurrentMap(home, limit: context.detailConcurrency) { trail -> Resource in
            let arn = trail["TrailARN"]?.stringValue ?? ""
            let name = trail["Name"]?.stringValue ?? arn
            async let status = client.json("cloudtrail", "GetTrailStatus", region: region, body: ["Name": .string(arn)])
            async let selectors = optional(["TrailNotFoundException", "NotImplemented"]) {
                try await client.json("cloudtrail", "GetEventSelectors", region: region, body: ["TrailName": .string(arn)])
            }
            async let tags = optional(["NotImplemented"]) {
                try await client.json("cloudtrail", "ListTags", region: region, body: ["ResourceIdList": [.string(arn)]])
            }
            let tagList = try await tags?["ResourceTagList"]?.arrayValue?.first?["TagsList"] ?? []
            var statusFields = try await status.objectValue ?? [:]
            statusFields.removeValue(forKey: "ResponseMetadata")
            var properties = trail.merging(["Status": .object(statusFields), "Tags": tagList])
            if let selectors = try await selectors {
                properties = properties.merging([
                    "EventSelectors": selectors["EventSelectors"] ?? [],
                    "AdvancedEventSelectors": selectors["AdvancedEventSelectors"] ?? [],
                ])
            }
            return context.resource(
                type: "aws.cloudtrail", uid: arn, id: name, tags: tagDictionary(tagList), properties: properties)
        }
        return CollectorOutput(resources: resources)
    }
}

/// AWS Config recorders with their recording status.
struct ConfigCollector: Collector {
    let service = "config"
    let isGlobal = false
    let resourceTypes = ["aws.config-recorder"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        async let recorders = client.json("config", "DescribeConfigurationRecorders", region: region)
        async let statuses = client.json("config", "DescribeConfigurationRecorderStatus", region: region)
        async let channels = client.json("config", "DescribeDeliveryChannels", region: region)
        var statusByName: [String: JSONValue] = [:]
        for status in try await statuses["ConfigurationRecordersStatus"]?.arrayValue ?? [] {
            if let name = status["name"]?.stringValue { statusByName[name] = status }
        }
        let deliveryChannels = try await channels["DeliveryChannels"] ?? []
        let resources = try await recorders["ConfigurationRecorders"]?.arrayValue?.map { recorder -> Resource in
            let name = recorder["name"]?.stringValue ?? "default"
            return context.resource(
                type: "aws.config-recorder", uid: context.arn("config", "config-recorder/\(name)"), id: name,
                properties: recorder.merging([
                    "status": statusByName[name] ?? .null, "DeliveryChannels": deliveryChannels,
                ]))
        } ?? []
        return CollectorOutput(resources: resources)
    }
}

/// AWS Backup plans (with their rules) and vaults.
struct BackupCollector: Collector {
    let service = "backup"
    let isGlobal = false
    let resourceTypes = ["aws.backup-plan", "aws.backup-vault"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        async let plans = client.restPages(
            "backup", "ListBackupPlans", region: region, path: "/backup/plans/", itemsKey: "BackupPlansList",
            inputToken: "nextToken", outputToken: "NextToken")
        async let vaults = client.restPages(
            "backup", "ListBackupVaults", region: region, path: "/backup-vaults/", itemsKey: "BackupVaultList",
            inputToken: "nextToken", outputToken: "NextToken")
        var resources = try await concurrentMap(try await plans, limit: context.detailConcurrency) { plan -> Resource in
            let id = plan["BackupPlanId"]?.stringValue ?? ""
            let detail = try await optional(["ResourceNotFoundException"]) {
                try await client.rest("backup", "GetBackupPlan", region: region, path: "/backup/plans/\(id)/")
            }
            var resource = context.resource(
                type: "aws.backup-plan", uid: plan["BackupPlanArn"]?.stringValue ?? context.arn("backup", "backup-plan:\(id)"),
                id: id, properties: plan.merging(["Rules": detail?.value(atPath: "BackupPlan.Rules") ?? []]))
            resource.name = plan["BackupPlanName"]?.stringValue ?? id
            return resource
        }
        for vault in try await vaults {
            let name = vault["BackupVaultName"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.backup-vault",
                    uid: vault["BackupVaultArn"]?.stringValue ?? context.arn("backup", "backup-vault:\(name)"), id: name,
                    properties: vault))
        }
        return CollectorOutput(resources: resources)
    }
}

/// GuardDuty detectors: whether threat detection is on in each account and region.
struct GuardDutyCollector: Collector {
    let service = "guardduty"
    let isGlobal = false
    let resourceTypes = ["aws.guardduty-detector"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        let ids = try await client.restPages(
            "guardduty", "ListDetectors", region: region, path: "/detector", itemsKey: "DetectorIds",
            inputToken: "nextToken", outputToken: "NextToken")
        let resources = try await concurrentMap(ids.compactMap(\.stringValue), limit: context.detailConcurrency) {
            id -> Resource in
            let detector = try await client.rest("guardduty", "GetDetector", region: region, path: "/detector/\(id)")
            var tags: [String: String] = [:]
            for (key, value) in detector["Tags"]?.objectValue ?? [:] { tags[key] = value.stringValue ?? "" }
            return context.resource(
                type: "aws.guardduty-detector", uid: context.arn("guardduty", "detector/\(id)"), id: id, tags: tags,
                properties: detector.merging(["DetectorId": .string(id)]))
        }
        return CollectorOutput(resources: resources)
    }
}

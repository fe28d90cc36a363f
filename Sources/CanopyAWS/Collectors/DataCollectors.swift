import CanopyModel
import Foundation

/// RDS instances (with their daily peak connections) and manual/automated snapshots (with whether a
/// snapshot is shared publicly).
struct RDSCollector: Collector {
    let service = "rds"
    let isGlobal = false
    let resourceTypes = ["aws.rds", "aws.rds-snapshot"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        async let instances = client.queryPages(
            "rds", "DescribeDBInstances", region: region, itemsKey: "DBInstances", inputToken: "Marker",
            outputToken: "Marker")
        async let snapshots = client.queryPages(
            "rds", "DescribeDBSnapshots", region: region, itemsKey: "DBSnapshots", inputToken: "Marker",
            outputToken: "Marker")
        var resources: [Resource] = []
        for db in try await instances {
            let id = db["DBInstanceIdentifier"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.rds", uid: db["DBInstanceArn"]?.stringValue ?? context.arn("rds", "db:\(id)"), id: id,
                    tags: tagDictionary(db["TagList"]), properties: db))
        }
        let found = try await snapshots
        let attributes = try await concurrentMap(found, limit: context.detailConcurrency) { snapshot -> JSONValue in
            let id = snapshot["DBSnapshotIdentifier"]?.stringValue ?? ""
            let answer = try await optional(["DBSnapshotNotFound", "DBSnapshotNotFoundFault"]) {
                try await client.query(
                    "rds", "DescribeDBSnapshotAttributes", region: region, parameters: ["DBSnapshotIdentifier": id])
            }
            return answer?.value(atPath: "DBSnapshotAttributesResult.DBSnapshotAttributes") ?? []
        }
        for (snapshot, attribute) in zip(found, attributes) {
            let id = snapshot["DBSnapshotIdentifier"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.rds-snapshot",
                    uid: snapshot["DBSnapshotArn"]?.stringValue ?? context.arn("rds", "snapshot:\(id)"), id: id,
                    tags: tagDictionary(snapshot["TagList"]), properties: snapshot.merging(["DBSnapshotAttributes": attribute])))
        }
        let connections = try await CloudWatchSeries.collect(
            .rdsConnections, for: resources.filter { $0.type == "aws.rds" }, idKey: "DBInstanceIdentifier", context: context)
        return CollectorOutput(resources: resources, metrics: connections)
    }
}

/// DynamoDB tables with point-in-time recovery status and tags.
struct DynamoDBCollector: Collector {
    let service = "dynamodb"
    let isGlobal = false
    let resourceTypes = ["aws.dynamodb-table"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        let names = try await client.jsonPages(
            "dynamodb", "ListTables", region: region, itemsKey: "TableNames", inputToken: "ExclusiveStartTableName",
            outputToken: "LastEvaluatedTableName")
        let resources = try await concurrentMap(names.compactMap(\.stringValue), limit: context.detailConcurrency) {
            name -> Resource in
            let table = try await client.json("dynamodb", "DescribeTable", region: region, body: ["TableName": .string(name)])["Table"] ?? [:]
            async let backups = client.json(
                "dynamodb", "DescribeContinuousBackups", region: region, body: ["TableName": .string(name)])
            let arn = table["TableArn"]?.stringValue ?? context.arn("dynamodb", "table/\(name)")
            async let tags = client.jsonPages(
                "dynamodb", "ListTagsOfResource", region: region, body: ["ResourceArn": .string(arn)], itemsKey: "Tags")
            let tagList = try await tags
            let properties = table.merging([
                "ContinuousBackupsDescription": try await backups["ContinuousBackupsDescription"] ?? .null,
                "Tags": .array(tagList),
            ])
            return context.resource(
                type: "aws.dynamodb-table", uid: arn, id: name, tags: tagDictionary(.array(tagList)), properties: properties)
        }
        return CollectorOutput(resources: resources)
    }
}

/// KMS keys with rotation status, aliases and tags.
struct KMSCollector: Collector {
    let service = "kms"
    let isGlobal = false
    let resourceTypes = ["aws.kms-key"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        async let keyList = client.jsonPages(
            "kms", "ListKeys", region: region, itemsKey: "Keys", inputToken: "Marker", outputToken: "NextMarker")
        async let aliasList = client.jsonPages(
            "kms", "ListAliases", region: region, itemsKey: "Aliases", inputToken: "Marker", outputToken: "NextMarker")
        var aliasesByKey: [String: [JSONValue]] = [:]
        for alias in try await aliasList {
            if let key = alias["TargetKeyId"]?.stringValue { aliasesByKey[key, default: []].append(alias) }
        }
        let aliases = aliasesByKey
        let resources = try await concurrentMap(try await keyList, limit: context.detailConcurrency) { key -> Resource in
            let id = key["KeyId"]?.stringValue ?? ""
            let metadata = try await client.json("kms", "DescribeKey", region: region, body: ["KeyId": .string(id)])["KeyMetadata"] ?? [:]
            // Rotation cannot be queried on AWS-managed or asymmetric keys; absent is the honest answer.
            async let rotation = optional(["AccessDeniedException", "UnsupportedOperationException"]) {
                try await client.json("kms", "GetKeyRotationStatus", region: region, body: ["KeyId": .string(id)])
            }
            async let tags = optional(["AccessDeniedException"]) {
                try await client.json("kms", "ListResourceTags", region: region, body: ["KeyId": .string(id)])
            }
            let tagList = try await tags?["Tags"] ?? []
            let keyAliases = aliases[id] ?? []
            var resource = context.resource(
                type: "aws.kms-key", uid: metadata["Arn"]?.stringValue ?? context.arn("kms", "key/\(id)"), id: id,
                tags: tagDictionary(tagList, keyField: "TagKey", valueField: "TagValue"),
                properties: metadata.merging([
                    "KeyRotationEnabled": try await rotation?["KeyRotationEnabled"] ?? .null,
                    "Aliases": .array(keyAliases), "Tags": tagList,
                ]))
            if resource.tags["Name"] == nil, let alias = keyAliases.first?["AliasName"]?.stringValue {
                resource.name = alias
            }
            return resource
        }
        return CollectorOutput(resources: resources)
    }
}

/// Lambda functions with their tags.
struct LambdaCollector: Collector {
    let service = "lambda"
    let isGlobal = false
    let resourceTypes = ["aws.lambda"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let region = context.region
        let functions = try await client.restPages(
            "lambda", "ListFunctions", region: region, path: "/2015-03-31/functions/", itemsKey: "Functions",
            inputToken: "Marker", outputToken: "NextMarker")
        let resources = try await concurrentMap(functions, limit: context.detailConcurrency) { function -> Resource in
            let name = function["FunctionName"]?.stringValue ?? ""
            let arn = function["FunctionArn"]?.stringValue ?? context.arn("lambda", "function:\(name)")
            let tags = try await client.rest(
                "lambda", "ListTags", region: region, path: "/2017-03-31/tags/\(SigV4Signer.uriEncode(arn))")
            var tagMap: [String: String] = [:]
            for (key, value) in tags["Tags"]?.objectValue ?? [:] { tagMap[key] = value.stringValue ?? "" }
            return context.resource(
                type: "aws.lambda", uid: arn, id: name, tags: tagMap,
                properties: function.merging(["Tags": tags["Tags"] ?? [:]]))
        }
        return CollectorOutput(resources: resources)
    }
}

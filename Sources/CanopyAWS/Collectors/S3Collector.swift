import CanopyModel
import Foundation

/// S3 buckets with the settings guardrails ask about: location, encryption, versioning, public
/// access block, policy, ACL, tags, logging and lifecycle rules (keys as Custodian's s3 resource has
/// them); and, for savings, each bucket's daily S3 Standard bytes and object count.
struct S3Collector: Collector {
    let service = "s3"
    let isGlobal = true
    let resourceTypes = ["aws.s3"]

    /// S3 answers "not configured" with these codes instead of an empty document.
    static let notConfigured: Set<String> = [
        "NoSuchBucketPolicy", "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
        "NoSuchTagSet", "NoSuchTagSetError", "NotImplemented", "NoSuchLifecycleConfiguration",
    ]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        let listing = try await client.rest("s3", "ListBuckets", region: "us-east-1", path: "/")
        let buckets = listing["Buckets"]?.arrayValue ?? []
        let resources = try await concurrentMap(buckets, limit: context.detailConcurrency) { bucket -> Resource in
            let name = bucket["Name"]?.stringValue ?? ""
            let location = try await client.rest(
                "s3", "GetBucketLocation", region: "us-east-1", path: "/", query: [("location", "")], bucket: name)
            let constraint = location["LocationConstraint"]?.stringValue ?? ""
            // An empty constraint is us-east-1; "EU" is the historical name of eu-west-1.
            let region = constraint.isEmpty ? "us-east-1" : constraint == "EU" ? "eu-west-1" : constraint
            func get(_ operation: String, _ subresource: String) async throws -> JSONValue? {
                try await optional(Self.notConfigured) {
                    try await client.rest(
                        "s3", operation, region: region, path: "/", query: [(subresource, "")], bucket: name)
                }
            }
            async let encryption = get("GetBucketEncryption", "encryption")
            async let versioning = get("GetBucketVersioning", "versioning")
            async let publicAccess = get("GetPublicAccessBlock", "publicAccessBlock")
            async let policy = get("GetBucketPolicy", "policy")
            async let tagging = get("GetBucketTagging", "tagging")
            async let logging = get("GetBucketLogging", "logging")
            async let acl = get("GetBucketAcl", "acl")
            async let lifecycle = get("GetBucketLifecycleConfiguration", "lifecycle")
            var properties = bucket.objectValue ?? [:]
            properties["Location"] = ["LocationConstraint": constraint.isEmpty ? .null : .string(constraint)]
            properties["BucketRegion"] = .string(region)
            properties["ServerSideEncryptionConfiguration"] =
                try await encryption?["ServerSideEncryptionConfiguration"] ?? .null
            properties["Versioning"] = try await versioning ?? [:]
            properties["PublicAccessBlockConfiguration"] =
                try await publicAccess?["PublicAccessBlockConfiguration"] ?? .null
            properties["Policy"] = try await policy?["Policy"] ?? .null
            let tagSet = try await tagging?["TagSet"] ?? []
            properties["Tags"] = tagSet
            properties["Logging"] = try await logging?["LoggingEnabled"] ?? [:]
            properties["Acl"] = try await acl ?? .null
            // Custodian's key; an empty list is a bucket with no lifecycle rules.
            properties["Lifecycle"] = ["Rules": try await lifecycle?["Rules"] ?? []]
            return context.resource(
                type: "aws.s3", uid: "arn:aws:s3:::\(name)", id: name, region: region, tags: tagDictionary(tagSet),
                properties: .object(properties))
        }
        // Storage metrics live in the bucket's own region.
        var metrics: [MetricSeries] = []
        for (region, buckets) in Dictionary(grouping: resources, by: \.region).sorted(by: { $0.key < $1.key }) {
            let targets = buckets.compactMap { bucket in bucket.properties["Name"]?.stringValue.map { (uid: bucket.uid, id: $0) } }
            metrics += try await CloudWatchSeries.collect(.s3StandardBytes, targets: targets, region: region, context: context)
            metrics += try await CloudWatchSeries.collect(.s3Objects, targets: targets, region: region, context: context)
        }
        return CollectorOutput(resources: resources, metrics: metrics)
    }
}

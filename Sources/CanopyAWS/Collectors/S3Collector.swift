import CanopyModel
import Foundation

/// S3 buckets with the settings guardrails ask about: location, encryption, versioning, public
/// access block, policy, ACL, tags and logging (keys as Custodian's s3 resource has them).
struct S3Collector: Collector {
    let service = "s3"
    let isGlobal = true
    let resourceTypes = ["aws.s3"]

    /// S3 answers "not configured" with these codes instead of an empty document.
    static let notConfigured: Set<String> = [
        "NoSuchBucketPolicy", "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
        "NoSuchTagSet", "NoSuchTagSetError", "NotImplemented",
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
            return context.resource(
                type: "aws.s3", uid: "arn:aws:s3:::\(name)", id: name, region: region, tags: tagDictionary(tagSet),
                properties: .object(properties))
        }
        return CollectorOutput(resources: resources)
    }
}

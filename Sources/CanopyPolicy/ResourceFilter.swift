import CanopyModel
import Foundation

/// A Custodian filter other than `value`: one that reads a part of the resource with its own
/// rules (security-group permissions, the credential report) or looks across the inventory (an
/// account's trails, the metric series).
public protocol ResourceFilter: Sendable {
    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool
}

/// The filter types Canopy knows, with the resource types each applies to (as Custodian
/// registers them per resource), so that a misplaced filter is a load error.
enum FilterRegistry {
    struct Entry: Sendable {
        /// `nil`: any resource type.
        var resources: Set<String>?
        var build: @Sendable (FilterData) throws -> any ResourceFilter
    }

    static let entries: [String: Entry] = [
        "ingress": Entry(resources: ["aws.security-group"]) { try SecurityGroupPermissionFilter($0, key: "IpPermissions") },
        "egress": Entry(resources: ["aws.security-group"]) { try SecurityGroupPermissionFilter($0, key: "IpPermissionsEgress") },
        "unused": Entry(resources: ["aws.security-group"]) { try SecurityGroupUsageFilter($0, used: false) },
        "used": Entry(resources: ["aws.security-group"]) { try SecurityGroupUsageFilter($0, used: true) },
        "default-vpc": Entry(resources: ["aws.security-group", "aws.ec2", "aws.rds", "aws.app-elb", "aws.lambda"]) { try DefaultVPCFilter($0) },
        "credential": Entry(resources: ["aws.iam-user", "aws.account"]) { try CredentialReportFilter($0) },
        "access-key": Entry(resources: ["aws.iam-user"]) { try AnyElementFilter($0, list: "AccessKeys") },
        "mfa-device": Entry(resources: ["aws.iam-user"]) { try MemberValueFilter($0, member: nil, key: "MFADevices") },
        "has-inline-policy": Entry(resources: ["aws.iam-user", "aws.iam-role"]) { try InlinePolicyFilter($0) },
        "password-policy": Entry(resources: ["aws.account"]) { try PasswordPolicyFilter($0) },
        "iam-summary": Entry(resources: ["aws.account"]) { try MemberValueFilter($0, member: "c7n:iam_summary") },
        "check-cloudtrail": Entry(resources: ["aws.account"]) { try AccountCloudTrailFilter($0) },
        "check-config": Entry(resources: ["aws.account"]) { try AccountConfigFilter($0) },
        "guard-duty": Entry(resources: ["aws.account"]) { try AccountGuardDutyFilter($0) },
        "bucket-encryption": Entry(resources: ["aws.s3"]) { try BucketEncryptionFilter($0) },
        "check-public-block": Entry(resources: ["aws.s3"]) { try PublicAccessBlockFilter($0) },
        "global-grants": Entry(resources: ["aws.s3"]) { try GlobalGrantsFilter($0) },
        "has-statement": Entry(resources: ["aws.s3"]) { try HasStatementFilter($0) },
        "key-rotation-status": Entry(resources: ["aws.kms-key"]) { try MemberValueFilter($0, member: nil) },
        "status": Entry(resources: ["aws.cloudtrail"]) { try MemberValueFilter($0, member: "Status") },
        "is-shadow": Entry(resources: ["aws.cloudtrail"]) { try ShadowTrailFilter($0) },
        "continuous-backup": Entry(resources: ["aws.dynamodb-table"]) { try MemberValueFilter($0, member: "ContinuousBackupsDescription") },
        "listener": Entry(resources: ["aws.app-elb"]) { try AnyElementFilter($0, list: "Listeners") },
        "cross-account": Entry(resources: ["aws.ebs-snapshot", "aws.rds-snapshot", "aws.ami"]) { try CrossAccountFilter($0) },
        "metrics": Entry(resources: nil) { try MetricsFilter($0) },
        "marked-for-op": Entry(resources: nil) { try MarkedForOpFilter($0) },
    ]
}

// MARK: - Filters that are value filters over one member of the resource

/// Custodian filters that are a value filter applied to one document: `iam-summary` (the
/// account's IAM summary), `status` (a trail's GetTrailStatus), `key-rotation-status`,
/// `continuous-backup`, `mfa-device`. A missing document never matches (Custodian's
/// `if i is None: return False`).
struct MemberValueFilter: ResourceFilter {
    let member: String?
    let filter: ValueFilter

    init(_ data: FilterData, member: String?, key: String? = nil) throws {
        self.member = member
        filter = try data.asValueFilter(key: key)
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        guard let member else { return filter.matches(resource.properties, now: context.now) }
        guard let document = resource.properties[member], document != .null else { return false }
        return filter.matches(document, now: context.now)
    }
}

/// A value filter that matches when any element of a list member matches (app-elb `listener`).
struct AnyElementFilter: ResourceFilter {
    let list: String
    let filter: ValueFilter

    init(_ data: FilterData, list: String) throws {
        self.list = list
        if let op = data["match-operator"], op != .string("or") {
            // Custodian's `and` intersects with keys an earlier filter matched; Canopy does not track those.
            throw PolicyError.field("match-operator", "only match-operator: or is supported here")
        }
        filter = try data.asValueFilter(ignoring: ["matched", "match-operator"])
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        (resource.properties[list]?.arrayValue ?? []).contains { filter.matches($0, now: context.now) }
    }
}

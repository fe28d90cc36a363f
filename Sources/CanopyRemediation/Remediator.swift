import CanopyAWS
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// What happened to one action on one resource.
public struct ActionOutcome: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Dry run: what `--apply` would do.
        case planned
        case applied
        /// Not applicable to this resource as it is (e.g. deleting a volume that is attached).
        case skipped
        case failed
    }

    public var policy: String
    public var action: String
    public var resource: String
    public var status: Status
    public var detail: String
}

/// Carries out policy actions on the resources the policies matched. Without `apply` it only
/// plans; with it, each call's outcome is written to the audit log under the actor.
public struct Remediator: Sendable {
    /// The client acting in an account (the caller's, or an assumed role in a member account).
    public var client: @Sendable (String) async throws -> AWSClient
    public var audit: any AuditRepository
    /// For webhooks; the same transport the AWS client uses.
    public var transport: any HTTPTransport

    public init(client: @escaping @Sendable (String) async throws -> AWSClient, audit: any AuditRepository, transport: any HTTPTransport) {
        self.client = client
        self.audit = audit
        self.transport = transport
    }

    public func run(
        _ plans: [ActionPlan], results: [PolicyResult], context: EvaluationContext, apply: Bool, actor: String
    ) async -> [ActionOutcome] {
        var outcomes: [ActionOutcome] = []
        for (plan, result) in zip(plans, results) where !plan.actions.isEmpty {
            for resource in result.matched {
                for action in plan.actions {
                    var outcome = ActionOutcome(
                        policy: plan.policy.name, action: action.name, resource: resource.uid, status: .planned,
                        detail: describe(action, resource, plan.policy, context))
                    if let reason = skipReason(action, resource) {
                        outcome.status = .skipped
                        outcome.detail = reason
                    } else if apply {
                        do {
                            try await perform(action, on: resource, policy: plan.policy, context: context)
                            outcome.status = .applied
                        } catch {
                            outcome.status = .failed
                            outcome.detail = "\(error)"
                        }
                        let details: JSONValue = [
                            "policy": .string(plan.policy.name), "action": .string(action.name), "status": .string(outcome.status.rawValue),
                            "detail": .string(outcome.detail), "account": .string(resource.account), "region": .string(resource.region),
                        ]
                        _ = try? await audit.appendAudit(actor: actor, action: "remediation.\(action.name)", target: resource.uid, details: details, at: Date())
                    }
                    outcomes.append(outcome)
                }
            }
        }
        return outcomes
    }

    func skipReason(_ action: RemediationAction, _ resource: Resource) -> String? {
        let p = resource.properties
        switch action {
        case .delete where resource.type == "aws.ebs" && p["State"]?.stringValue != "available":
            return "volume is \(p["State"]?.stringValue ?? "in an unknown state"), not available: only unattached volumes are deleted"
        case .stop where resource.type == "aws.ec2" && p["State"]?["Name"]?.stringValue != "running":
            return "instance is \(p["State"]?["Name"]?.stringValue ?? "?"), not running"
        case .modifyVolume(let type) where p["VolumeType"]?.stringValue == type:
            return "volume is already \(type)"
        case .release where !(p["AssociationId"]?.stringValue ?? "").isEmpty || !(p["NetworkInterfaceId"]?.stringValue ?? "").isEmpty:
            return "address is in use (\(p["AssociationId"]?.stringValue ?? p["NetworkInterfaceId"]?.stringValue ?? "")): only unassociated addresses are released"
        default:
            return nil
        }
    }

    /// What an action will do, for dry runs and the audit log. Webhook URLs are reduced to their
    /// host: they often carry tokens.
    func describe(_ action: RemediationAction, _ resource: Resource, _ policy: Policy, _ context: EvaluationContext) -> String {
        switch action {
        case .tag(let tags): "tag " + tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        case .removeTag(let keys): "remove tags " + keys.joined(separator: ",")
        case .markForOp(let tag, let op, let days, let message):
            "tag \(tag)=\(MarkedForOpFilter.mark(op: op, at: context.now.addingTimeInterval(days * 86_400), message: message))"
        case .webhook(let url): "POST to \(url.host ?? "?")"
        case .stop: "stop"
        case .terminate: "terminate"
        case .delete: "delete"
        case .setBucketEncryption(let crypto, let key): "default encryption \(crypto)" + (key.map { " with \($0)" } ?? "")
        case .setPublicBlock(let settings): "block public access: " + settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        case .enableKeyRotation: "enable key rotation"
        case .removePermissions(let ingress, let egress):
            "revoke " + [
                ingress.map { "\($0.rawValue) ingress (\(permissions(ingress: true, $0, resource, policy, context).count))" },
                egress.map { "\($0.rawValue) egress (\(permissions(ingress: false, $0, resource, policy, context).count))" },
            ].compactMap { $0 }.joined(separator: ", ")
        case .modifyVolume(let type): "change volume type to \(type)"
        case .release: "release address \(resource.properties["PublicIp"]?.stringValue ?? resource.name)"
        }
    }

    func permissions(ingress: Bool, _ scope: RemediationAction.PermissionScope, _ resource: Resource, _ policy: Policy, _ context: EvaluationContext) -> [JSONValue] {
        let key = ingress ? "IpPermissions" : "IpPermissionsEgress"
        switch scope {
        case .all: return resource.properties[key]?.arrayValue ?? []
        case .matched: return policy.matchedPermissions(resource, key: key, in: context)
        }
    }

    func perform(_ action: RemediationAction, on resource: Resource, policy: Policy, context: EvaluationContext) async throws {
        let p = resource.properties
        let region = resource.region
        func id(_ key: String) throws -> String {
            guard let value = p[key]?.stringValue else { throw RemediationError.missing(key, resource.uid) }
            return value
        }
        if case .webhook(let url) = action {
            let body: JSONValue = ["policy": .string(policy.name), "resource": p, "uid": .string(resource.uid), "account": .string(resource.account), "region": .string(region)]
            let status = try await WebhookPost.send(body, to: url, transport: transport)
            guard (200..<300).contains(status) else { throw RemediationError.webhook(status) }
            return
        }
        let aws = try await client(resource.account)
        switch (action, resource.type) {
        case (.tag(let tags), _):
            try await setTags(tags, remove: [], resource, aws)
        case (.removeTag(let keys), _):
            try await setTags([:], remove: keys, resource, aws)
        case (.markForOp(let tag, let op, let days, let message), _):
            try await setTags([tag: MarkedForOpFilter.mark(op: op, at: context.now.addingTimeInterval(days * 86_400), message: message)], remove: [], resource, aws)
        case (.stop, "aws.ec2"):
            _ = try await aws.query("ec2", "StopInstances", region: region, parameters: ["InstanceId.1": try id("InstanceId")])
        case (.stop, "aws.rds"):
            _ = try await aws.query("rds", "StopDBInstance", region: region, parameters: ["DBInstanceIdentifier": try id("DBInstanceIdentifier")])
        case (.terminate, _):
            _ = try await aws.query("ec2", "TerminateInstances", region: region, parameters: ["InstanceId.1": try id("InstanceId")])
        case (.delete, "aws.ebs"):
            _ = try await aws.query("ec2", "DeleteVolume", region: region, parameters: ["VolumeId": try id("VolumeId")])
        case (.delete, "aws.ebs-snapshot"):
            _ = try await aws.query("ec2", "DeleteSnapshot", region: region, parameters: ["SnapshotId": try id("SnapshotId")])
        case (.release, _):
            _ = try await aws.query("ec2", "ReleaseAddress", region: region, parameters: ["AllocationId": try id("AllocationId")])
        case (.modifyVolume(let type), _):
            _ = try await aws.query("ec2", "ModifyVolume", region: region, parameters: ["VolumeId": try id("VolumeId"), "VolumeType": type])
        case (.enableKeyRotation, _):
            _ = try await aws.json("kms", "EnableKeyRotation", region: region, body: ["KeyId": .string(try id("KeyId"))])
        case (.setBucketEncryption(let crypto, let key), _):
            var rule = "<SSEAlgorithm>\(crypto)</SSEAlgorithm>"
            if let key { rule += "<KMSMasterKeyID>\(key.markupEscaped)</KMSMasterKeyID>" }
            let xml = "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ApplyServerSideEncryptionByDefault>\(rule)</ApplyServerSideEncryptionByDefault>\(crypto == "aws:kms" ? "<BucketKeyEnabled>true</BucketKeyEnabled>" : "")</Rule></ServerSideEncryptionConfiguration>"
            _ = try await aws.rest("s3", "PutBucketEncryption", region: region, path: "/", query: [("encryption", "")], bucket: try id("Name"), body: Data(xml.utf8), contentType: "application/xml")
        case (.setPublicBlock(let settings), _):
            let inner = settings.sorted { $0.key < $1.key }.map { "<\($0.key)>\($0.value)</\($0.key)>" }.joined()
            let xml = "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(inner)</PublicAccessBlockConfiguration>"
            _ = try await aws.rest("s3", "PutPublicAccessBlock", region: region, path: "/", query: [("publicAccessBlock", "")], bucket: try id("Name"), body: Data(xml.utf8), contentType: "application/xml")
        case (.removePermissions(let ingress, let egress), _):
            let group = try id("GroupId")
            for (scope, isIngress) in [(ingress, true), (egress, false)] {
                guard let scope else { continue }
                let revoke = permissions(ingress: isIngress, scope, resource, policy, context)
                guard !revoke.isEmpty else { continue }
                var parameters = ["GroupId": group]
                for (index, permission) in revoke.enumerated() { Self.encode(permission, prefix: "IpPermissions.\(index + 1)", into: &parameters) }
                _ = try await aws.query("ec2", isIngress ? "RevokeSecurityGroupIngress" : "RevokeSecurityGroupEgress", region: region, parameters: parameters)
            }
        default:
            throw RemediationError.unsupported(action.name, resource.type)
        }
    }

    /// Tags by the service's own API: EC2 CreateTags/DeleteTags, RDS Add/RemoveTags, S3 replaces
    /// the whole tag set (so the current tags are kept and merged).
    func setTags(_ tags: [String: String], remove: [String], _ resource: Resource, _ aws: AWSClient) async throws {
        let region = resource.region
        if let idKey = RemediationAction.ec2Taggable[resource.type] {
            guard let id = resource.properties[idKey]?.stringValue else { throw RemediationError.missing(idKey, resource.uid) }
            if !tags.isEmpty {
                let parameters = Self.tagParameters(tags, list: "Tag", into: ["ResourceId.1": id])
                _ = try await aws.query("ec2", "CreateTags", region: region, parameters: parameters)
            }
            if !remove.isEmpty {
                var parameters = ["ResourceId.1": id]
                for (index, key) in remove.enumerated() { parameters["Tag.\(index + 1).Key"] = key }
                _ = try await aws.query("ec2", "DeleteTags", region: region, parameters: parameters)
            }
            return
        }
        switch resource.type {
        case "aws.rds":
            // RDS's query protocol names list members after their shape: Tags.Tag.N, TagKeys.member.N.
            guard let arn = resource.properties["DBInstanceArn"]?.stringValue else { throw RemediationError.missing("DBInstanceArn", resource.uid) }
            if !tags.isEmpty {
                let parameters = Self.tagParameters(tags, list: "Tags.Tag", into: ["ResourceName": arn])
                _ = try await aws.query("rds", "AddTagsToResource", region: region, parameters: parameters)
            }
            if !remove.isEmpty {
                var parameters = ["ResourceName": arn]
                for (index, key) in remove.enumerated() { parameters["TagKeys.member.\(index + 1)"] = key }
                _ = try await aws.query("rds", "RemoveTagsFromResource", region: region, parameters: parameters)
            }
        case "aws.s3":
            guard let bucket = resource.properties["Name"]?.stringValue else { throw RemediationError.missing("Name", resource.uid) }
            var merged = resource.tags
            for key in remove { merged[key] = nil }
            for (key, value) in tags { merged[key] = value }
            let tagSet = merged.sorted { $0.key < $1.key }.map { "<Tag><Key>\($0.key.markupEscaped)</Key><Value>\($0.value.markupEscaped)</Value></Tag>" }.joined()
            let xml = "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>\(tagSet)</TagSet></Tagging>"
            _ = try await aws.rest("s3", "PutBucketTagging", region: region, path: "/", query: [("tagging", "")], bucket: bucket, body: Data(xml.utf8), contentType: "application/xml")
        default:
            throw RemediationError.unsupported("tag", resource.type)
        }
    }

    /// `LIST.N.Key` / `LIST.N.Value` query parameters for tags, in a stable order.
    static func tagParameters(_ tags: [String: String], list: String, into base: [String: String]) -> [String: String] {
        var parameters = base
        for (index, tag) in tags.sorted(by: { $0.key < $1.key }).enumerated() {
            parameters["\(list).\(index + 1).Key"] = tag.key
            parameters["\(list).\(index + 1).Value"] = tag.value
        }
        return parameters
    }

    /// An EC2 query-protocol encoding of one IpPermission (`IpPermissions.1.IpRanges.1.CidrIp`).
    static func encode(_ permission: JSONValue, prefix: String, into parameters: inout [String: String]) {
        for key in ["IpProtocol", "FromPort", "ToPort"] {
            if let value = permission[key] { parameters["\(prefix).\(key)"] = value.stringValue ?? value.canonicalJSON() }
        }
        let lists: [(String, [String])] = [
            ("IpRanges", ["CidrIp", "Description"]), ("Ipv6Ranges", ["CidrIpv6", "Description"]),
            ("PrefixListIds", ["PrefixListId", "Description"]), ("UserIdGroupPairs", ["GroupId", "UserId", "Description"]),
        ]
        for (list, members) in lists {
            for (index, entry) in (permission[list]?.arrayValue ?? []).enumerated() {
                for member in members {
                    if let value = entry[member]?.stringValue { parameters["\(prefix).\(list).\(index + 1).\(member)"] = value }
                }
            }
        }
    }
}

public enum RemediationError: Error, CustomStringConvertible, Sendable {
    case missing(String, String)
    case unsupported(String, String)
    case webhook(Int)

    public var description: String {
        switch self {
        case .missing(let key, let uid): "\(uid) has no \(key) in the stored inventory (rescan it)"
        case .unsupported(let action, let type): "action \(action) is not supported for \(type)"
        case .webhook(let status): "the webhook answered HTTP \(status)"
        }
    }
}

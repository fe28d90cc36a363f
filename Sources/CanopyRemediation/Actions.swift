import CanopyModel
import CanopyPolicy
import Foundation

/// A Custodian action Canopy can carry out. Parsed and checked against the policy's resource
/// type before anything runs, like filters.
public enum RemediationAction: Sendable, Equatable {
    case tag([String: String])
    case removeTag([String])
    /// Custodian's `mark-for-op`: a tag saying which op is due when (read by `marked-for-op`).
    case markForOp(tag: String, op: String, days: Double, message: String)
    /// `webhook` (and `notify` with a webhook transport): POST the policy and resource as JSON.
    case webhook(url: URL)
    case stop
    case terminate
    /// Delete an unattached volume or a snapshot.
    case delete
    case setBucketEncryption(crypto: String, key: String?)
    case setPublicBlock([String: Bool])
    case enableKeyRotation
    /// Revoke security-group permissions: those the policy's filters matched, or all.
    case removePermissions(ingress: PermissionScope?, egress: PermissionScope?)
    case modifyVolume(type: String)
    /// Release an Elastic IP address that nothing uses (Custodian's `release` on `aws.elastic-ip`).
    case release

    public enum PermissionScope: String, Sendable { case matched, all }

    public var name: String {
        switch self {
        case .tag: "tag"
        case .removeTag: "remove-tag"
        case .markForOp: "mark-for-op"
        case .webhook: "webhook"
        case .stop: "stop"
        case .terminate: "terminate"
        case .delete: "delete"
        case .setBucketEncryption: "set-bucket-encryption"
        case .setPublicBlock: "set-public-block"
        case .enableKeyRotation: "set-rotation"
        case .removePermissions: "remove-permissions"
        case .modifyVolume: "modify-volume"
        case .release: "release"
        }
    }

    /// Resource types each action supports.
    static let supported: [String: Set<String>] = [
        "tag": taggable, "remove-tag": taggable, "mark-for-op": taggable, "webhook": [], "stop": ["aws.ec2", "aws.rds"],
        "terminate": ["aws.ec2"], "delete": ["aws.ebs", "aws.ebs-snapshot"], "set-bucket-encryption": ["aws.s3"],
        "set-public-block": ["aws.s3"], "set-rotation": ["aws.kms-key"], "remove-permissions": ["aws.security-group"],
        "modify-volume": ["aws.ebs"], "release": ["aws.elastic-ip"],
    ]
    static let ec2Taggable: [String: String] = [
        "aws.ec2": "InstanceId", "aws.ebs": "VolumeId", "aws.ebs-snapshot": "SnapshotId", "aws.security-group": "GroupId",
        "aws.elastic-ip": "AllocationId", "aws.vpc": "VpcId", "aws.subnet": "SubnetId", "aws.nat-gateway": "NatGatewayId",
    ]
    static let taggable: Set<String> = Set(ec2Taggable.keys).union(["aws.s3", "aws.rds"])
}

/// A policy and the actions it asks for.
public struct ActionPlan: Sendable {
    public var policy: Policy
    public var actions: [RemediationAction]

    /// Reads `policy.actions`; every problem names the policy file, line and policy.
    public init(policy: Policy) throws {
        self.policy = policy
        actions = try policy.actions.map { try Self.parse($0, policy: policy) }
    }

    static func parse(_ spec: JSONValue, policy: Policy) throws -> RemediationAction {
        func fail(_ message: String) -> PolicyError { .at(policy.location, policy: policy.name, message: message) }
        let data: [String: JSONValue]
        if let name = spec.stringValue {
            data = ["type": .string(name)]
        } else if case .object(let members) = spec {
            data = members
        } else {
            throw fail("an action is a name or a mapping with 'type'")
        }
        guard let type = data["type"]?.stringValue else { throw fail("an action needs a 'type'") }
        let canonical = ["untag": "remove-tag", "unmark": "remove-tag", "mark": "tag", "notify": "webhook", "enable-key-rotation": "set-rotation"][type] ?? type
        guard let types = RemediationAction.supported[canonical] else {
            throw fail("unknown or unsupported action '\(type)'; supported: \(RemediationAction.supported.keys.sorted().joined(separator: ", "))")
        }
        if !types.isEmpty, !types.contains(policy.resource) {
            throw fail("action '\(type)' does not apply to \(policy.resource) (it applies to \(types.sorted().joined(separator: ", ")))")
        }
        switch canonical {
        case "tag":
            var tags: [String: String] = [:]
            if let key = data["key"]?.stringValue ?? data["tag"]?.stringValue {
                guard let value = data["value"]?.stringValue else { throw fail("action 'tag' with 'key' needs a string 'value'") }
                tags[key] = value
            }
            for (key, value) in data["tags"]?.objectValue ?? [:] { tags[key] = value.stringValue ?? value.canonicalJSON() }
            guard !tags.isEmpty else { throw fail("action 'tag' needs key/value or tags") }
            return .tag(tags)
        case "remove-tag":
            var keys = (data["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
            if type == "unmark", keys.isEmpty { keys = [data["tag"]?.stringValue ?? "maid_status"] }
            guard !keys.isEmpty else { throw fail("action '\(type)' needs a 'tags' list") }
            return .removeTag(keys)
        case "mark-for-op":
            guard let op = data["op"]?.stringValue else { throw fail("action 'mark-for-op' needs an 'op'") }
            let days = (data["days"]?.doubleValue ?? 0) + (data["hours"]?.doubleValue ?? 0) / 24
            return .markForOp(
                tag: data["tag"]?.stringValue ?? "maid_status", op: op, days: days == 0 ? 4 : days,
                message: data["msg"]?.stringValue ?? "Resource does not meet policy")
        case "webhook":
            let text = data["url"]?.stringValue ?? data["transport"]?["url"]?.stringValue
            guard let text, let url = URL(string: text), ["http", "https"].contains(url.scheme ?? "") else {
                throw fail("action '\(type)' needs an http(s) 'url' (or transport: {type: webhook, url: …})")
            }
            return .webhook(url: url)
        case "stop": return .stop
        case "terminate": return .terminate
        case "delete": return .delete
        case "set-bucket-encryption":
            let crypto = data["crypto"]?.stringValue ?? "AES256"
            guard ["AES256", "aws:kms"].contains(crypto) else { throw fail("crypto is AES256 or aws:kms") }
            return .setBucketEncryption(crypto: crypto, key: data["key"]?.stringValue)
        case "set-public-block":
            var settings: [String: Bool] = [:]
            for name in ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] {
                if case .bool(let value)? = data[name] { settings[name] = value } else { settings[name] = true }
            }
            return .setPublicBlock(settings)
        case "set-rotation":
            if data["state"] == .bool(false) { throw fail("set-rotation with state: false (disabling rotation) is not offered") }
            return .enableKeyRotation
        case "remove-permissions":
            func scope(_ key: String) throws -> RemediationAction.PermissionScope? {
                guard let value = data[key] else { return nil }
                guard let text = value.stringValue, let scope = RemediationAction.PermissionScope(rawValue: text) else {
                    throw fail("remove-permissions \(key) is 'matched' or 'all' (lists of rule ids are not supported)")
                }
                return scope
            }
            let ingress = try scope("ingress")
            let egress = try scope("egress")
            guard ingress != nil || egress != nil else { throw fail("remove-permissions needs ingress and/or egress") }
            return .removePermissions(ingress: ingress, egress: egress)
        case "modify-volume":
            guard let volumeType = data["volume-type"]?.stringValue ?? data["VolumeType"]?.stringValue else {
                throw fail("modify-volume needs 'volume-type' (e.g. gp3)")
            }
            return .modifyVolume(type: volumeType)
        case "release":
            // Custodian's `force: true` would disassociate first; Canopy releases only what is free.
            if data["force"]?.boolValue == true { throw fail("release with force is not supported: only unassociated addresses are released") }
            return .release
        default:
            throw fail("unsupported action '\(type)'")
        }
    }
}

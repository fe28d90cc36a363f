import Foundation

/// Where a resource lives: a cloud provider, or one of the utility's own data centres.
public enum Provider: String, Sendable, Codable, CaseIterable {
    case aws
    case onprem
}

/// One thing in the estate as last observed: an EC2 instance, an S3 bucket, an IAM user.
///
/// `type` follows Cloud Custodian's names (`aws.ec2`, `aws.s3`) and `properties` keeps the shape
/// boto3 returns for the describe call, so Custodian-style keys (`State.Name`) work unchanged.
public struct Resource: Sendable, Hashable, Codable, Identifiable {
    /// The ARN for AWS; otherwise `canopy:<provider>:<account>:<region>:<type>/<id>`.
    public var uid: String
    public var provider: Provider
    public var account: String
    /// The region, or `global` for account-wide services (IAM, Route 53, Organizations).
    public var region: String
    public var type: String
    public var name: String
    public var tags: [String: String]
    public var properties: JSONValue
    public var observedAt: Date

    public var id: String { uid }

    public init(
        uid: String, provider: Provider = .aws, account: String, region: String, type: String,
        name: String, tags: [String: String] = [:], properties: JSONValue, observedAt: Date
    ) {
        self.uid = uid
        self.provider = provider
        self.account = account
        self.region = region
        self.type = type
        self.name = name
        self.tags = tags
        self.properties = properties
        self.observedAt = observedAt
    }

    /// The identifier Canopy gives a resource that has no ARN.
    public static func canopyUID(provider: Provider, account: String, region: String, type: String, id: String)
        -> String
    {
        "canopy:\(provider.rawValue):\(account):\(region):\(type)/\(id)"
    }

    /// What a change between two observations compares: everything but the time of observation.
    public var observedState: ObservedState {
        ObservedState(name: name, tags: tags, properties: properties)
    }
}

/// The comparable part of a resource: two scans that saw the same state produce no change.
public struct ObservedState: Sendable, Hashable {
    public var name: String
    public var tags: [String: String]
    public var properties: JSONValue

    public init(name: String, tags: [String: String], properties: JSONValue) {
        self.name = name
        self.tags = tags
        self.properties = properties
    }
}

/// Tags in AWS's list form (`[{"Key": …, "Value": …}]`) as a dictionary.
public func tagDictionary(_ list: JSONValue?, keyField: String = "Key", valueField: String = "Value")
    -> [String: String]
{
    var tags: [String: String] = [:]
    for entry in list?.arrayValue ?? [] {
        if let key = entry[keyField]?.stringValue {
            tags[key] = entry[valueField]?.stringValue ?? ""
        }
    }
    return tags
}

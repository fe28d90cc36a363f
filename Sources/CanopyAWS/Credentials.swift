import Foundation

/// AWS credentials. The secret never appears in `description`, so logging one is safe.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID.prefix(4))…, secret: <redacted>, session: \(sessionToken == nil ? "no" : "yes"))"
    }

    /// True when the credentials expire within `margin` of `now`, so they are refreshed before a call fails.
    public func isExpiring(within margin: TimeInterval = 300, now: Date = Date()) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) < margin
    }
}

/// Anything that can hand out credentials: static keys, a profile, an assumed role, the instance role.
public protocol CredentialProvider: Sendable {
    func credentials() async throws -> AWSCredentials
}

public struct StaticCredentialProvider: CredentialProvider {
    public let value: AWSCredentials
    public init(_ value: AWSCredentials) { self.value = value }
    public func credentials() async throws -> AWSCredentials { value }
}

public enum CredentialError: Error, CustomStringConvertible, Sendable {
    case noCredentials(tried: [String])
    case unknownProfile(String, files: [String])
    case incompleteProfile(String, missing: String, file: String)
    case assumeRoleFailed(roleARN: String, reason: String)
    case instanceMetadata(String)

    public var description: String {
        switch self {
        case .noCredentials(let tried):
            "no AWS credentials found (tried \(tried.joined(separator: ", "))). Set AWS_ACCESS_KEY_ID and "
                + "AWS_SECRET_ACCESS_KEY, or pass --profile NAME for a profile in ~/.aws/credentials."
        case .unknownProfile(let name, let files):
            "AWS profile '\(name)' is not defined in \(files.joined(separator: " or ")). "
                + "Check the name with `aws configure list-profiles`."
        case .incompleteProfile(let name, let missing, let file):
            "AWS profile '\(name)' in \(file) has no \(missing)."
        case .assumeRoleFailed(let role, let reason):
            "cannot assume role \(role): \(reason)"
        case .instanceMetadata(let reason):
            "cannot read credentials from the EC2 instance metadata service: \(reason)"
        }
    }
}

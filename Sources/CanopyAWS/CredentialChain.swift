import CanopyModel
import Foundation

/// An INI file as the AWS CLI writes `~/.aws/credentials` and `~/.aws/config`.
struct AWSConfigFile: Sendable {
    var sections: [String: [String: String]] = [:]

    init(text: String) {
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                // In `config`, named profiles are `[profile NAME]`; `[default]` stays bare.
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
            } else if let current, let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                sections[current, default: [:]][key] = value
            }
        }
    }
}

/// Resolves credentials the way the AWS CLI does: explicit profile, environment variables,
/// the shared files' default profile, then the EC2 instance role (IMDSv2).
public struct CredentialChain: Sendable {
    public var environment: [String: String]
    public var homeDirectory: String
    public var transport: any HTTPTransport

    public init(environment: [String: String], homeDirectory: String, transport: any HTTPTransport) {
        self.environment = environment
        self.homeDirectory = homeDirectory
        self.transport = transport
    }

    var credentialsPath: String {
        environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(homeDirectory)/.aws/credentials"
    }
    var configPath: String { environment["AWS_CONFIG_FILE"] ?? "\(homeDirectory)/.aws/config" }

    /// The provider for `profile` (or `AWS_PROFILE`), or the first source that has credentials.
    /// `stsClient` is used for profiles that assume a role (`role_arn` + `source_profile`).
    public func resolve(profile explicitProfile: String?, stsClient: AWSClient) async throws -> any CredentialProvider {
        if let name = explicitProfile ?? environment["AWS_PROFILE"] {
            return try profileProvider(name, stsClient: stsClient, depth: 0)
        }
        var tried = ["environment variables"]
        if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] {
            return StaticCredentialProvider(
                AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"]))
        }
        tried.append("profile 'default' in \(credentialsPath) and \(configPath)")
        if let provider = try? profileProvider("default", stsClient: stsClient, depth: 0) { return provider }
        if InstanceMetadataProvider.isRunningOnEC2(environment: environment) {
            return InstanceMetadataProvider(transport: transport, environment: environment)
        }
        tried.append("EC2 instance role (not on EC2)")
        throw CredentialError.noCredentials(tried: tried)
    }

    func profileProvider(_ name: String, stsClient: AWSClient, depth: Int) throws -> any CredentialProvider {
        let credentials = AWSConfigFile(text: (try? String(contentsOfFile: credentialsPath, encoding: .utf8)) ?? "")
        let config = AWSConfigFile(text: (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? "")
        guard credentials.sections[name] != nil || config.sections[name] != nil else {
            throw CredentialError.unknownProfile(name, files: [credentialsPath, configPath])
        }
        // The credentials file wins over config for the same key, as in the AWS CLI.
        let settings = (config.sections[name] ?? [:]).merging(credentials.sections[name] ?? [:]) { _, file in file }
        if let roleARN = settings["role_arn"] {
            guard depth < 5, let source = settings["source_profile"] else {
                throw CredentialError.incompleteProfile(
                    name, missing: "source_profile (or it chains more than 5 profiles)", file: configPath)
            }
            let sourceProvider = source == name && settings["aws_access_key_id"] != nil
                ? try staticProvider(name, settings) : try profileProvider(source, stsClient: stsClient, depth: depth + 1)
            return AssumeRoleProvider(
                roleARN: roleARN, sessionName: settings["role_session_name"] ?? "canopy",
                externalID: settings["external_id"], client: stsClient.with(credentials: sourceProvider))
        }
        return try staticProvider(name, settings)
    }

    private func staticProvider(_ name: String, _ settings: [String: String]) throws -> any CredentialProvider {
        guard let key = settings["aws_access_key_id"] else {
            throw CredentialError.incompleteProfile(name, missing: "aws_access_key_id", file: credentialsPath)
        }
        guard let secret = settings["aws_secret_access_key"] else {
            throw CredentialError.incompleteProfile(name, missing: "aws_secret_access_key", file: credentialsPath)
        }
        return StaticCredentialProvider(
            AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: settings["aws_session_token"]))
    }

    /// The default region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`.
    public func region(profile: String?) -> String? {
        if let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] { return region }
        let config = AWSConfigFile(text: (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? "")
        return config.sections[profile ?? environment["AWS_PROFILE"] ?? "default"]?["region"]
    }
}

/// Credentials of a role assumed through STS, refreshed before they expire.
public actor AssumeRoleProvider: CredentialProvider {
    public let roleARN: String
    let sessionName: String
    let externalID: String?
    let client: AWSClient
    let durationSeconds: Int
    private var cached: AWSCredentials?

    public init(roleARN: String, sessionName: String = "canopy", externalID: String? = nil, client: AWSClient, durationSeconds: Int = 3600) {
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.externalID = externalID
        self.client = client
        self.durationSeconds = durationSeconds
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !cached.isExpiring(now: client.now()) { return cached }
        var parameters = [
            "RoleArn": roleARN, "RoleSessionName": sessionName, "DurationSeconds": String(durationSeconds),
        ]
        if let externalID { parameters["ExternalId"] = externalID }
        let answer: JSONValue
        do {
            answer = try await client.query("sts", "AssumeRole", region: "us-east-1", parameters: parameters)
        } catch let error as AWSServiceError {
            throw CredentialError.assumeRoleFailed(roleARN: roleARN, reason: "\(error.code): \(error.message)")
        }
        guard let key = answer.value(atPath: "Credentials.AccessKeyId")?.stringValue,
            let secret = answer.value(atPath: "Credentials.SecretAccessKey")?.stringValue
        else {
            throw CredentialError.assumeRoleFailed(roleARN: roleARN, reason: "STS answered without credentials")
        }
        let fresh = AWSCredentials(
            accessKeyID: key, secretAccessKey: secret,
            sessionToken: answer.value(atPath: "Credentials.SessionToken")?.stringValue,
            expiration: answer.value(atPath: "Credentials.Expiration")?.stringValue.flatMap(Timestamps.parse))
        cached = fresh
        return fresh
    }
}

/// The EC2 instance role through IMDSv2: a session token first (PUT), then the role's credentials.
public actor InstanceMetadataProvider: CredentialProvider {
    let transport: any HTTPTransport
    let endpoint: URL
    private var cached: AWSCredentials?

    public init(transport: any HTTPTransport, environment: [String: String]) {
        self.transport = transport
        endpoint = URL(string: environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254")!
    }

    /// IMDS is only asked on EC2 (the DMI vendor says so), or when an endpoint is configured:
    /// elsewhere the link-local address would only time out.
    static func isRunningOnEC2(environment: [String: String]) -> Bool {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return false }
        if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] != nil { return true }
        for path in ["/sys/devices/virtual/dmi/id/board_vendor", "/sys/devices/virtual/dmi/id/sys_vendor"] {
            if let vendor = try? String(contentsOfFile: path, encoding: .utf8), vendor.contains("Amazon EC2") {
                return true
            }
        }
        return false
    }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !cached.isExpiring() { return cached }
        let tokenResponse = try await transport.send(
            AWSHTTPRequest(
                method: "PUT", endpoint: endpoint, encodedPath: "/latest/api/token",
                headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]), timeout: .seconds(2))
        guard tokenResponse.status == 200 else {
            throw CredentialError.instanceMetadata("token request answered HTTP \(tokenResponse.status)")
        }
        let token = String(decoding: tokenResponse.body, as: UTF8.self)
        let base = "/latest/meta-data/iam/security-credentials/"
        let roleResponse = try await transport.send(
            AWSHTTPRequest(
                method: "GET", endpoint: endpoint, encodedPath: base, headers: [("X-aws-ec2-metadata-token", token)]),
            timeout: .seconds(2))
        guard roleResponse.status == 200,
            let role = String(decoding: roleResponse.body, as: UTF8.self).split(whereSeparator: \.isNewline).first
        else {
            throw CredentialError.instanceMetadata("this instance has no IAM role attached")
        }
        let credentialsResponse = try await transport.send(
            AWSHTTPRequest(
                method: "GET", endpoint: endpoint, encodedPath: base + role,
                headers: [("X-aws-ec2-metadata-token", token)]), timeout: .seconds(2))
        let document = try JSONValue.parse(credentialsResponse.body)
        guard let key = document["AccessKeyId"]?.stringValue, let secret = document["SecretAccessKey"]?.stringValue
        else {
            throw CredentialError.instanceMetadata("role credentials document has no AccessKeyId")
        }
        let fresh = AWSCredentials(
            accessKeyID: key, secretAccessKey: secret, sessionToken: document["Token"]?.stringValue,
            expiration: document["Expiration"]?.stringValue.flatMap(Timestamps.parse))
        cached = fresh
        return fresh
    }
}

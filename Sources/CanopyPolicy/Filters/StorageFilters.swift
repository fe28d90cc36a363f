import CanopyModel
import Foundation

/// `bucket-encryption`: with `state: true` (the default) a bucket whose first default-encryption
/// rule uses `crypto` (any of AES256/aws:kms when not given, and the KMS `key` when given);
/// with `state: false` one without such a rule. `bucket_key_enabled` tests the S3 Bucket Key.
struct BucketEncryptionFilter: ResourceFilter {
    let state: Bool
    let crypto: String?
    let key: String?
    let bucketKeyEnabled: Bool?

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["state", "crypto", "key", "bucket_key_enabled"])
        state = try data.bool("state") ?? true
        crypto = try data.string("crypto")
        if let crypto, !["AES256", "aws:kms"].contains(crypto) {
            throw PolicyError.field("crypto", "crypto is AES256 or aws:kms")
        }
        key = try data.string("key")
        bucketKeyEnabled = try data.bool("bucket_key_enabled")
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let rules = resource.properties["ServerSideEncryptionConfiguration"]?["Rules"]?.arrayValue ?? []
        // Custodian returns from inside its loop: only the first rule is ever judged.
        if let bucketKeyEnabled {
            guard let rule = rules.first else { return !state }
            return (rule["BucketKeyEnabled"] == .bool(true)) == bucketKeyEnabled
        }
        guard let rule = rules.first else { return !state }
        let encrypted = encrypts(rule, resource, context)
        return state ? encrypted : !encrypted
    }

    func encrypts(_ rule: JSONValue, _ resource: Resource, _ context: EvaluationContext) -> Bool {
        guard let defaults = rule["ApplyServerSideEncryptionByDefault"], case .object = defaults else { return false }
        let algorithm = defaults["SSEAlgorithm"]?.stringValue
        guard let crypto else { return ["AES256", "aws:kms"].contains(algorithm ?? "") }
        guard crypto == algorithm else { return false }
        guard crypto == "aws:kms" else { return true }
        guard let key else { return true }
        // The policy's key may be written as id, ARN or alias; the rule's likewise.
        let known = context.related("aws.kms-key", account: resource.account).first { candidate in
            Self.names(of: candidate).contains(key)
        }
        guard let known else { return false }
        return Self.names(of: known).contains(defaults["KMSMasterKeyID"]?.stringValue ?? "alias/aws/s3")
    }

    static func names(of key: Resource) -> Set<String> {
        let p = key.properties
        var names = Set([p["Arn"]?.stringValue, p["KeyId"]?.stringValue].compactMap { $0 })
        for alias in p["Aliases"]?.arrayValue ?? [] {
            if let name = alias["AliasName"]?.stringValue ?? alias.stringValue { names.insert(name) }
            if let arn = alias["AliasArn"]?.stringValue { names.insert(arn) }
        }
        return names
    }
}

/// `check-public-block`: with settings given, a bucket whose block-public-access settings are
/// exactly those; with none, a bucket missing any of the four (absent configuration = all off).
struct PublicAccessBlockFilter: ResourceFilter {
    static let settings = ["BlockPublicPolicy", "BlockPublicAcls", "IgnorePublicAcls", "RestrictPublicBuckets"]
    let wanted: [(String, Bool)]

    init(_ data: FilterData) throws {
        try data.rejectUnknown(Set(Self.settings))
        wanted = try Self.settings.compactMap { name in try data.bool(name).map { (name, $0) } }
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let config = resource.properties["PublicAccessBlockConfiguration"]
        func setting(_ name: String) -> Bool { config?[name] == .bool(true) }
        if wanted.isEmpty { return !Self.settings.allSatisfy(setting) }
        return wanted.allSatisfy { setting($0.0) == $0.1 }
    }
}

/// `global-grants`: an ACL grant to AllUsers or AuthenticatedUsers (optionally only the listed
/// `permissions`; a READ grant on a website bucket is allowed unless `allow_website: false`).
struct GlobalGrantsFilter: ResourceFilter {
    static let everyone = ["http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"]
    let permissions: Set<String>
    let allowWebsite: Bool

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["permissions", "allow_website", "operator"])
        permissions = Set((data["permissions"]?.arrayValue ?? []).compactMap(\.stringValue))
        allowWebsite = try data.bool("allow_website") ?? true
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let website = PyValue(resource.properties["Website"]).truthy
        return (resource.properties["Acl"]?["Grants"]?.arrayValue ?? []).contains { grant in
            guard let uri = grant["Grantee"]?["URI"]?.stringValue, Self.everyone.contains(uri) else { return false }
            let permission = grant["Permission"]?.stringValue ?? ""
            if allowWebsite, permission == "READ", website { return false }
            return permissions.isEmpty || permissions.contains(permission)
        }
    }
}

/// `has-statement`: the bucket policy contains every statement id in `statement_ids` and, for
/// each of `statements`, a statement with those members (lists compared as sets, actions without
/// case, `PartialMatch` members as subsets). `{account_id}` and `{region}` are substituted.
struct HasStatementFilter: ResourceFilter {
    let statementIDs: [String]
    let statements: [[String: JSONValue]]

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["statement_ids", "statements"])
        statementIDs = (data["statement_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        statements = try (data["statements"]?.arrayValue ?? []).map {
            guard case .object(let members) = $0 else { throw PolicyError.field("statements", "each statement is a mapping") }
            return members
        }
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        guard let policy = context.bucketPolicies[resource.uid] else { return false }
        let present = policy["Statement"]?.arrayValue ?? (policy["Statement"].map { [$0] } ?? [])
        let ids = Set(present.compactMap { $0["Sid"]?.stringValue })
        guard statementIDs.allSatisfy(ids.contains) else { return false }
        return statements.allSatisfy { required in
            let required = required.mapValues { substitute($0, resource) }
            let partial = Set((required["PartialMatch"]?.arrayValue ?? required["PartialMatch"].map { [$0] } ?? []).compactMap(\.stringValue))
            let members = required.filter { $0.key != "PartialMatch" }
            return !members.isEmpty && present.contains { statement in
                members.allSatisfy { key, value in
                    guard let actual = statement[key] else { return false }
                    let want = Self.normalized(key, value)
                    let have = Self.normalized(key, actual)
                    if partial.contains(key), case .set(let wanted) = want, case .set(let had) = have { return wanted.isSubset(of: had) }
                    return want == have
                }
            }
        }
    }

    func substitute(_ value: JSONValue, _ resource: Resource) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(text.replacingOccurrences(of: "{account_id}", with: resource.account).replacingOccurrences(of: "{region}", with: resource.region))
        case .array(let items): return .array(items.map { substitute($0, resource) })
        case .object(let members): return .object(members.mapValues { substitute($0, resource) })
        default: return value
        }
    }

    /// Statement members compared as Custodian does: scalars and lists as sets, mappings
    /// member by member, actions case-insensitively, condition keys lower-cased.
    indirect enum Normalized: Hashable {
        case set(Set<String>)
        case map([String: Normalized])
        case other(String)
    }

    static func normalized(_ key: String, _ value: JSONValue) -> Normalized {
        let foldCase = key == "Action" || key == "NotAction"
        func scalar(_ v: JSONValue) -> String {
            let text = v.stringValue ?? v.canonicalJSON()
            return foldCase ? text.lowercased() : text
        }
        switch value {
        case .string: return .set([scalar(value)])
        case .array(let items): return .set(Set(items.map(scalar)))
        case .object(let members):
            var result: [String: Normalized] = [:]
            for (name, member) in members { result[key == "Condition" ? name.lowercased() : name] = normalized(key, member) }
            return .map(result)
        default: return .other(value.canonicalJSON())
        }
    }
}

import CanopyModel
import Foundation

/// IAM users (access keys with last use, MFA, console login, policies, groups, credential report
/// row), roles and customer-managed policies.
struct IAMCollector: Collector {
    let service = "iam"
    let isGlobal = true
    let resourceTypes = ["aws.iam-user", "aws.iam-role", "aws.iam-policy"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        async let users = iamPages(client, "ListUsers", itemsKey: "Users")
        async let roles = iamPages(client, "ListRoles", itemsKey: "Roles")
        async let policies = iamPages(client, "ListPolicies", parameters: ["Scope": "Local"], itemsKey: "Policies")
        async let report = CredentialReport.fetch(client)
        let reportRows = try await report
        var resources = try await concurrentMap(try await users, limit: context.detailConcurrency) { user in
            try await describeUser(user, client: client, context: context, report: reportRows)
        }
        resources += try await concurrentMap(try await roles, limit: context.detailConcurrency) { role in
            let name = role["RoleName"]?.stringValue ?? ""
            async let attached = iamPages(
                client, "ListAttachedRolePolicies", parameters: ["RoleName": name], itemsKey: "AttachedPolicies")
            async let inline = iamPages(client, "ListRolePolicies", parameters: ["RoleName": name], itemsKey: "PolicyNames")
            let properties = role.merging([
                "AttachedManagedPolicies": .array(try await attached), "PolicyNames": .array(try await inline),
            ])
            return context.resource(
                type: "aws.iam-role", uid: role["Arn"]?.stringValue ?? context.arn("iam", "role/\(name)", region: ""),
                id: name, tags: tagDictionary(role["Tags"]), properties: properties)
        }
        for policy in try await policies {
            let name = policy["PolicyName"]?.stringValue ?? ""
            resources.append(
                context.resource(
                    type: "aws.iam-policy", uid: policy["Arn"]?.stringValue ?? context.arn("iam", "policy/\(name)", region: ""),
                    id: name, tags: tagDictionary(policy["Tags"]), properties: policy))
        }
        return CollectorOutput(resources: resources)
    }

    private func describeUser(
        _ user: JSONValue, client: AWSClient, context: CollectorContext, report: [String: JSONValue]
    ) async throws -> Resource {
        let name = user["UserName"]?.stringValue ?? ""
        let byUser = ["UserName": name]
        async let keys = iamPages(client, "ListAccessKeys", parameters: byUser, itemsKey: "AccessKeyMetadata")
        async let mfa = iamPages(client, "ListMFADevices", parameters: byUser, itemsKey: "MFADevices")
        async let login = optional(["NoSuchEntity"]) {
            try await client.query("iam", "GetLoginProfile", region: "global", parameters: byUser)
        }
        async let attached = iamPages(
            client, "ListAttachedUserPolicies", parameters: byUser, itemsKey: "AttachedPolicies")
        async let inline = iamPages(client, "ListUserPolicies", parameters: byUser, itemsKey: "PolicyNames")
        async let tags = iamPages(client, "ListUserTags", parameters: byUser, itemsKey: "Tags")
        async let groups = iamPages(client, "ListGroupsForUser", parameters: byUser, itemsKey: "Groups")
        let accessKeys = try await concurrentMap(try await keys, limit: 4) { key -> JSONValue in
            guard let id = key["AccessKeyId"]?.stringValue else { return key }
            let used = try await client.query(
                "iam", "GetAccessKeyLastUsed", region: "global", parameters: ["AccessKeyId": id])
            return key.merging(["AccessKeyLastUsed": used["AccessKeyLastUsed"] ?? .null])
        }
        let tagList = try await tags
        let properties = user.merging([
            "AccessKeys": .array(accessKeys), "MFADevices": .array(try await mfa),
            "LoginProfile": try await login?["LoginProfile"] ?? .null,
            "AttachedManagedPolicies": .array(try await attached), "PolicyNames": .array(try await inline),
            "Tags": .array(tagList), "Groups": .array(try await groups),
            "c7n:credential-report": report[name] ?? .null,
        ])
        return context.resource(
            type: "aws.iam-user", uid: user["Arn"]?.stringValue ?? context.arn("iam", "user/\(name)", region: ""),
            id: name, tags: tagDictionary(.array(tagList)), properties: properties)
    }
}

/// IAM list calls page with `Marker` and `IsTruncated`.
func iamPages(_ client: AWSClient, _ operation: String, parameters: [String: String] = [:], itemsKey: String)
    async throws -> [JSONValue]
{
    try await client.queryPages(
        "iam", operation, region: "global", parameters: parameters, itemsKey: itemsKey, inputToken: "Marker",
        outputToken: "Marker")
}

/// The IAM credential report: generated on demand, then read as CSV, one row per user.
enum CredentialReport {
    static func fetch(_ client: AWSClient) async throws -> [String: JSONValue] {
        for attempt in 0..<10 {
            let state = try await client.query("iam", "GenerateCredentialReport", region: "global")
            if state["State"]?.stringValue == "COMPLETE" { break }
            try await Task.sleep(for: .milliseconds(200 * (attempt + 1)))
        }
        let answer = try await optional(["ReportNotPresent", "ReportInProgress", "ReportExpired"]) {
            try await client.query("iam", "GetCredentialReport", region: "global")
        }
        guard let encoded = answer?["Content"]?.stringValue, let data = Data(base64Encoded: encoded) else { return [:] }
        return rows(String(decoding: data, as: UTF8.self))
    }

    /// Rows keyed by user (`<root_account>` for the root user); values typed as Custodian reads them.
    static func rows(_ csv: String) -> [String: JSONValue] {
        let lines = csv.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { return [:] }
        var result: [String: JSONValue] = [:]
        for fields in lines.dropFirst() where fields.count == header.count {
            var row: [String: JSONValue] = [:]
            for (key, value) in zip(header, fields) {
                switch value {
                case "true": row[key] = true
                case "false": row[key] = false
                case "N/A", "no_information", "not_supported": row[key] = .null
                default: row[key] = .string(value)
                }
            }
            result[fields[0]] = .object(row)
        }
        return result
    }
}

/// The account itself: identity, organisation placement, password policy, IAM summary and the
/// root user's credential-report row (Custodian's `aws.account` keys).
struct AccountCollector: Collector {
    let service = "account"
    let isGlobal = true
    let resourceTypes = ["aws.account"]

    func collect(_ context: CollectorContext) async throws -> CollectorOutput {
        let client = context.client
        async let passwordPolicy = optional(["NoSuchEntity"]) {
            try await client.query("iam", "GetAccountPasswordPolicy", region: "global")
        }
        async let summary = client.query("iam", "GetAccountSummary", region: "global")
        async let aliases = iamPages(client, "ListAccountAliases", itemsKey: "AccountAliases")
        async let report = CredentialReport.fetch(client)
        let account = context.account
        var properties: [String: JSONValue] = [
            "account_id": .string(account.id), "account_name": .string(account.name),
            "email": account.email.map(JSONValue.string) ?? .null,
            "organizational_unit": account.organizationalUnit.map(JSONValue.string) ?? .null,
            "status": account.status.map(JSONValue.string) ?? .null,
        ]
        properties["c7n:password_policy"] = try await passwordPolicy?["PasswordPolicy"] ?? .null
        properties["c7n:iam_summary"] = try await summary["SummaryMap"] ?? .null
        properties["AccountAliases"] = .array(try await aliases)
        properties["c7n:credential-report"] = try await report["<root_account>"] ?? .null
        let resource = Resource(
            uid: "arn:aws:iam::\(account.id):root", provider: .aws, account: account.id, region: "global",
            type: "aws.account", name: account.name, tags: account.tags, properties: .object(properties),
            observedAt: context.observedAt)
        return CollectorOutput(resources: [resource])
    }
}

import CanopyModel
import Foundation
import Yams

/// One account to scan, with how to reach it.
public struct AccountTarget: Sendable {
    public var account: Account
    /// The role to assume in it; `nil` means the caller's own credentials (the account Canopy runs in).
    public var roleARN: String?
    public var externalID: String?
    /// Regions for this account when the accounts file names them; otherwise the scan's regions.
    public var regions: [String]?

    public init(account: Account, roleARN: String? = nil, externalID: String? = nil, regions: [String]? = nil) {
        self.account = account
        self.roleARN = roleARN
        self.externalID = externalID
        self.regions = regions
    }
}

public enum AccountsFileError: Error, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, line: Int?, column: Int?, reason: String)
    case invalidField(path: String, line: Int?, index: Int, field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read accounts file \(path): \(reason)"
        case .malformed(let path, let line, let column, let reason):
            let place = line.map { ":\($0)" + (column.map { ":\($0)" } ?? "") } ?? ""
            return "\(path)\(place): not valid YAML: \(reason)"
        case .invalidField(let path, let line, let index, let field, let reason):
            return "\(path)\(line.map { ":\($0)" } ?? ""): accounts[\(index)].\(field): \(reason)"
        }
    }
}

/// Reads an `accounts.yml` in c7n-org's format:
///
///     accounts:
///       - account_id: "123456789012"
///         name: gridco-generation-prod
///         regions: [us-east-1, ap-northeast-1]
///         role: arn:aws:iam::123456789012:role/CanopyAudit   # or just the role name
///         tags: [bu:generation, env:prod]                    # or a mapping
public enum AccountsFile {
    public static func load(path: String, defaultRole: String) throws -> [AccountTarget] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AccountsFileError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(text, path: path, defaultRole: defaultRole)
    }

    public static func parse(_ text: String, path: String, defaultRole: String) throws -> [AccountTarget] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            if case .scanner(_, let problem, let mark, _) = error {
                throw AccountsFileError.malformed(path: path, line: mark.line, column: mark.column, reason: problem)
            }
            if case .parser(_, let problem, let mark, _) = error {
                throw AccountsFileError.malformed(path: path, line: mark.line, column: mark.column, reason: problem)
            }
            throw AccountsFileError.malformed(path: path, line: nil, column: nil, reason: "\(error)")
        }
        guard let accounts = root?.mapping?["accounts"]?.sequence else {
            throw AccountsFileError.malformed(
                path: path, line: root?.mark?.line, column: nil, reason: "expected a top-level 'accounts:' list")
        }
        var targets: [AccountTarget] = []
        var seen: Set<String> = []
        for (index, node) in accounts.enumerated() {
            let line = node.mark?.line
            guard let entry = node.mapping else {
                throw AccountsFileError.invalidField(path: path, line: line, index: index, field: "", reason: "expected a mapping")
            }
            func field(_ name: String) -> Node? { entry[name] }
            guard let rawID = field("account_id")?.scalar?.string else {
                throw AccountsFileError.invalidField(path: path, line: line, index: index, field: "account_id", reason: "missing")
            }
            let id = rawID.count < 12 && rawID.allSatisfy(\.isNumber) ? String(repeating: "0", count: 12 - rawID.count) + rawID : rawID
            guard id.count == 12, id.allSatisfy(\.isNumber) else {
                throw AccountsFileError.invalidField(
                    path: path, line: field("account_id")?.mark?.line ?? line, index: index, field: "account_id",
                    reason: "'\(rawID)' is not a 12-digit AWS account id")
            }
            guard seen.insert(id).inserted else {
                throw AccountsFileError.invalidField(
                    path: path, line: line, index: index, field: "account_id", reason: "account \(id) is listed twice")
            }
            var regions: [String]?
            if let regionNode = field("regions") {
                guard let list = regionNode.sequence?.compactMap({ $0.scalar?.string }) else {
                    throw AccountsFileError.invalidField(
                        path: path, line: regionNode.mark?.line, index: index, field: "regions", reason: "expected a list of region names")
                }
                regions = list
            }
            var tags: [String: String] = [:]
            if let tagNode = field("tags") {
                if let list = tagNode.sequence {
                    for item in list.compactMap({ $0.scalar?.string }) {
                        let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
                        tags[parts[0]] = parts.count > 1 ? parts[1] : ""
                    }
                } else if let mapping = tagNode.mapping {
                    for (key, value) in mapping {
                        if let key = key.scalar?.string { tags[key] = value.scalar?.string ?? "" }
                    }
                } else {
                    throw AccountsFileError.invalidField(
                        path: path, line: tagNode.mark?.line, index: index, field: "tags", reason: "expected a list or a mapping")
                }
            }
            let role = field("role")?.scalar?.string ?? defaultRole
            targets.append(
                AccountTarget(
                    account: Account(
                        id: id, name: field("name")?.scalar?.string ?? id, email: field("email")?.scalar?.string,
                        tags: tags),
                    roleARN: role.hasPrefix("arn:") ? role : "arn:aws:iam::\(id):role/\(role)",
                    externalID: field("external_id")?.scalar?.string, regions: regions))
        }
        return targets
    }
}

/// Finds the accounts of an AWS Organization from its management (or delegated admin) account.
public enum OrganizationDiscovery {
    /// The caller's account id, from STS.
    public static func callerAccount(_ client: AWSClient, region: String) async throws -> String {
        let identity = try await client.query("sts", "GetCallerIdentity", region: region)
        guard let account = identity["Account"]?.stringValue else {
            throw AWSServiceError(service: "sts", operation: "GetCallerIdentity", status: 200, code: "NoAccount", message: "STS answered without an account id")
        }
        return account
    }

    /// Every active account with its name, email, OU and tags; `nil` when the caller is not in an
    /// organization (or may not list it), so the scan falls back to the caller's own account.
    public static func accounts(_ client: AWSClient, callerAccount: String, role: String) async throws -> [AccountTarget]? {
        let listed: [JSONValue]
        do {
            listed = try await client.jsonPages("organizations", "ListAccounts", region: "global", itemsKey: "Accounts")
        } catch let error as AWSServiceError
            where ["AWSOrganizationsNotInUseException", "AccessDeniedException", "AccessDenied"].contains(error.code)
        {
            return nil
        }
        let active = listed.filter { ($0["Status"]?.stringValue ?? "ACTIVE") == "ACTIVE" }
        return try await concurrentMap(active, limit: 8) { entry -> AccountTarget in
            let id = entry["Id"]?.stringValue ?? ""
            async let tags = optional(["AccessDeniedException", "NotImplemented"]) {
                try await client.json("organizations", "ListTagsForResource", region: "global", body: ["ResourceId": .string(id)])
            }
            let unit = try await organizationalUnit(client, account: id)
            return AccountTarget(
                account: Account(
                    id: id, name: entry["Name"]?.stringValue ?? id, email: entry["Email"]?.stringValue,
                    organizationalUnit: unit, tags: tagDictionary(try await tags?["Tags"]),
                    status: entry["Status"]?.stringValue),
                roleARN: id == callerAccount ? nil : "arn:aws:iam::\(id):role/\(role)")
        }
    }

    private static func organizationalUnit(_ client: AWSClient, account: String) async throws -> String? {
        let parents = try await optional(["AccessDeniedException", "NotImplemented", "ChildNotFoundException"]) {
            try await client.json("organizations", "ListParents", region: "global", body: ["ChildId": .string(account)])
        }
        guard let parent = parents?["Parents"]?.arrayValue?.first, parent["Type"]?.stringValue == "ORGANIZATIONAL_UNIT",
            let id = parent["Id"]?.stringValue
        else { return nil }
        let unit = try await optional(["AccessDeniedException", "NotImplemented"]) {
            try await client.json("organizations", "DescribeOrganizationalUnit", region: "global", body: ["OrganizationalUnitId": .string(id)])
        }
        return unit?.value(atPath: "OrganizationalUnit.Name")?.stringValue ?? id
    }

    /// The regions enabled for the account, for `--regions all`.
    public static func enabledRegions(_ client: AWSClient, region: String) async throws -> [String] {
        let answer = try await client.query("ec2", "DescribeRegions", region: region)
        return (answer["Regions"]?.arrayValue ?? []).compactMap { $0["RegionName"]?.stringValue }.sorted()
    }
}

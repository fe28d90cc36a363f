import CanopyModel
import Foundation

/// Custodian's `credential` filter over the IAM credential report row the scan stored with each
/// user (and the root row with the account). Keys without a dot test the row; `access_keys.*`
/// and `certs.*` test each active or once-rotated key/certificate and match when any does.
struct CredentialReportFilter: ResourceFilter {
    static let keys: Set<String> = [
        "user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
        "password_next_rotation", "mfa_active", "access_keys", "access_keys.active", "access_keys.last_used_date",
        "access_keys.last_used_region", "access_keys.last_used_service", "access_keys.last_rotated", "certs",
        "certs.active", "certs.last_rotated",
    ]
    let list: String?
    let filter: ValueFilter

    init(_ data: FilterData) throws {
        guard let key = try data.string("key") else { throw PolicyError.field("key", "a credential filter needs a 'key'") }
        guard Self.keys.contains(key) else {
            throw PolicyError.field("key", "'\(key)' is not a credential report key; known: \(Self.keys.sorted().joined(separator: ", "))")
        }
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        list = parts.count == 2 ? parts[0] : nil
        filter = try data.asValueFilter(ignoring: ["report_generate", "report_delay", "report_max_age"], key: parts.last)
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        guard let record = context.credentialRecords[resource.uid] else { return false }
        guard let list else { return filter.matches(record, now: context.now) }
        return (record[list]?.arrayValue ?? []).contains { filter.matches($0, now: context.now) }
    }

    /// Custodian's `process_user_record`: `access_key_1_*`/`access_key_2_*` become entries of
    /// `access_keys` (when active or ever rotated), likewise `cert_N_*` in `certs`.
    static func record(_ row: JSONValue) -> JSONValue {
        guard case .object(var members) = row else { return row }
        for (prefix, list) in [("access_key_1_", "access_keys"), ("access_key_2_", "access_keys"), ("cert_1_", "certs"), ("cert_2_", "certs")] {
            var entry: [String: JSONValue] = [:]
            for key in members.keys where key.hasPrefix(prefix) {
                entry[String(key.dropFirst(prefix.count))] = members.removeValue(forKey: key)
            }
            let active = entry["active"].map { PyValue($0).truthy } ?? false
            let rotated = entry["last_rotated"].map { PyValue($0).truthy } ?? false
            if active || rotated {
                members[list] = .array((members[list]?.arrayValue ?? []) + [.object(entry)])
            }
        }
        return .object(members)
    }
}

/// `has-inline-policy`: whether the user or role carries inline policies (`value`, default true).
struct InlinePolicyFilter: ResourceFilter {
    let expected: Bool

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["value"])
        expected = try data.bool("value") ?? true
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let names = resource.properties["PolicyNames"]?.arrayValue ?? []
        return names.isEmpty != expected
    }
}

/// `password-policy`: a value filter over the account's password policy, with Custodian's
/// `PasswordPolicyConfigured` member telling whether one exists at all.
struct PasswordPolicyFilter: ResourceFilter {
    let filter: ValueFilter

    init(_ data: FilterData) throws { filter = try data.asValueFilter() }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        var policy: [String: JSONValue] = ["PasswordPolicyConfigured": false]
        if case .object(let members)? = resource.properties["c7n:password_policy"], !members.isEmpty {
            policy = members
            policy["PasswordPolicyConfigured"] = true
        }
        return filter.matches(.object(policy), now: context.now)
    }
}

/// `check-cloudtrail`: the account matches when none of its trails has every property asked
/// for (`running` is asked unless set to false), as Custodian's filter does.
struct AccountCloudTrailFilter: ResourceFilter {
    let globalEvents, currentRegion, kms, fileDigest, multiRegion, notifies, running, managementEvents: Bool
    let kmsKey: String?

    init(_ data: FilterData) throws {
        if data["log-metric-filter-pattern"] != nil {
            throw PolicyError.field("log-metric-filter-pattern", "log-metric-filter-pattern needs CloudWatch Logs metric filters, which the scan does not collect")
        }
        try data.rejectUnknown(["global-events", "current-region", "kms", "kms-key", "file-digest", "multi-region", "notifies", "running", "include-management-events"])
        globalEvents = try data.bool("global-events") ?? false
        currentRegion = try data.bool("current-region") ?? false
        kms = try data.bool("kms") ?? false
        kmsKey = try data.string("kms-key")
        fileDigest = try data.bool("file-digest") ?? false
        multiRegion = try data.bool("multi-region") ?? false
        notifies = try data.bool("notifies") ?? false
        running = try data.bool("running") ?? true
        managementEvents = try data.bool("include-management-events") ?? false
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        var seen: Set<String> = []
        let trails = context.related("aws.cloudtrail", account: resource.account).map(\.properties).filter { trail in
            seen.insert(trail["TrailARN"]?.stringValue ?? trail["Name"]?.stringValue ?? "").inserted
        }
        let qualifying = trails.filter { t in
            if globalEvents, t["IncludeGlobalServiceEvents"] != .bool(true) { return false }
            if currentRegion, t["HomeRegion"]?.stringValue != resource.region, t["IsMultiRegionTrail"] != .bool(true) { return false }
            if kms, !PyValue(t["KmsKeyId"]).truthy { return false }
            if let kmsKey, t["KmsKeyId"]?.stringValue != kmsKey { return false }
            if fileDigest, t["LogFileValidationEnabled"] != .bool(true) { return false }
            if multiRegion, t["IsMultiRegionTrail"] != .bool(true) { return false }
            if notifies, !PyValue(t["SnsTopicARN"]).truthy { return false }
            if running, t["Status"]?["IsLogging"] != .bool(true) || PyValue(t["Status"]?["LatestDeliveryError"]).truthy { return false }
            if managementEvents, !Self.logsManagementWrites(t) { return false }
            return true
        }
        return qualifying.isEmpty
    }

    static func logsManagementWrites(_ trail: JSONValue) -> Bool {
        if let selectors = trail["EventSelectors"]?.arrayValue, !selectors.isEmpty {
            return selectors.contains { $0["IncludeManagementEvents"] == .bool(true) && $0["ReadWriteType"]?.stringValue == "All" }
        }
        return (trail["AdvancedEventSelectors"]?.arrayValue ?? []).contains { selector in
            let fields = selector["FieldSelectors"]?.arrayValue ?? []
            let management = fields.contains {
                $0["Field"]?.stringValue == "eventCategory" && ($0["Equals"]?.arrayValue ?? []).contains("Management")
            }
            let readOnly = fields.contains { $0["Field"]?.stringValue == "readOnly" }
            return management && !readOnly
        }
    }
}

/// `check-config`: the account matches unless some configuration recorder (with a delivery
/// channel) records all resources / global resources and is running, as asked.
struct AccountConfigFilter: ResourceFilter {
    let allResources, globalResources, running: Bool

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["all-resources", "global-resources", "running"])
        allResources = try data.bool("all-resources") ?? false
        globalResources = try data.bool("global-resources") ?? false
        running = try data.bool("running") ?? true
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let recorders = context.related("aws.config-recorder", account: resource.account).map(\.properties)
        let qualifying = recorders.filter { r in
            if (r["DeliveryChannels"]?.arrayValue ?? []).isEmpty { return false }
            if globalResources, r["recordingGroup"]?["includeGlobalResourceTypes"] != .bool(true) { return false }
            if allResources, r["recordingGroup"]?["allSupported"] != .bool(true) { return false }
            if running {
                let status = r["status"]
                let last = status?["lastStatus"]?.stringValue?.lowercased() ?? ""
                if status?["recording"] != .bool(true) || !["pending", "success"].contains(last) { return false }
            }
            return true
        }
        return qualifying.isEmpty
    }
}

/// `guard-duty`: value filters (`Detector.Status: ENABLED`, `Administrator.AccountId: …`) over the
/// account's GuardDuty detector; an account without a detector never matches, so "not enabled"
/// is written `not: [{type: guard-duty, Detector.Status: ENABLED}]` as in Custodian.
struct AccountGuardDutyFilter: ResourceFilter {
    let filters: [ValueFilter]
    let matchAll: Bool

    init(_ data: FilterData) throws {
        let attributes = data.members.keys.filter { $0.hasPrefix("Detector") || $0.hasPrefix("Administrator") }.sorted()
        try data.rejectUnknown(Set(attributes + ["match-operator"]))
        filters = try attributes.compactMap { try data.valueFilter($0, key: $0) }
        matchAll = (try data.string("match-operator") ?? "and") == "and"
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        // Without a detector Custodian's target is None, which no value filter matches.
        let detector = context.related("aws.guardduty-detector", account: resource.account).first
        let verdicts = filters.map { filter in
            detector.map { filter.matches(["Detector": $0.properties, "Administrator": $0.properties["Administrator"] ?? .null], now: context.now) } ?? false
        }
        return matchAll ? verdicts.allSatisfy { $0 } : verdicts.contains(true)
    }
}

/// `is-shadow`: a trail seen in a region other than its home (a multi-region trail's copy), or
/// an organization trail seen from a member account.
struct ShadowTrailFilter: ResourceFilter {
    let expected: Bool

    init(_ data: FilterData) throws {
        try data.rejectUnknown(["state"])
        expected = try data.bool("state") ?? true
    }

    func matches(_ resource: Resource, in context: EvaluationContext) -> Bool {
        let p = resource.properties
        let home = p["HomeRegion"]?.stringValue
        let arnAccount = p["TrailARN"]?.stringValue?.split(separator: ":").dropFirst(4).first.map(String.init)
        let shadow = (home != nil && home != resource.region) || (arnAccount != nil && arnAccount != resource.account)
        return shadow == expected
    }
}

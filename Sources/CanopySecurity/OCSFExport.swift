import CanopyLake
import CanopyModel
import Foundation

/// Canopy's security findings and activity events in OCSF 1.3 (with the `cloud` and `datetime`
/// profiles), for SIEMs, Security Lake and auditors. Business context OCSF has no attribute for
/// (business unit, application, priority and why, the response due date) goes in `unmapped`.
public enum OCSFExport {
    public static let version = "1.3.0"

    static func milliseconds(_ date: Date) -> JSONValue { .int(Int64((date.timeIntervalSince1970 * 1_000).rounded())) }

    static func metadata(uid: String, logName: String, product: String = "Canopy") -> JSONValue {
        [
            "version": .string(version), "uid": .string(uid), "log_name": .string(logName), "profiles": ["cloud", "datetime"],
            "product": ["name": .string(product), "vendor_name": "Canopy"],
        ]
    }

    static func cloud(account: String, accountName: String?, region: String) -> JSONValue {
        var accountObject: [String: JSONValue] = ["uid": .string(account), "type": "AWS Account", "type_id": 10]
        if let accountName { accountObject["name"] = .string(accountName) }
        return ["provider": "AWS", "region": .string(region), "account": .object(accountObject)]
    }

    /// A finding as an OCSF Detection (2004), Vulnerability (2002) or Compliance (2003) Finding.
    /// `events` are the lake event ids a detection was raised on (its evidence).
    public static func finding(_ view: FindingView, events: [String] = []) -> JSONValue {
        let f = view.finding
        let classUID = f.findingClass.rawValue
        let activity = view.status == .resolved ? 3 : (f.updatedAt > f.firstSeen ? 2 : 1)
        var info: [String: JSONValue] = [
            "uid": .string(f.uid), "title": .string(f.title), "types": [.string(f.source)],
            "first_seen_time": milliseconds(f.firstSeen), "last_seen_time": milliseconds(f.lastSeen), "modified_time": milliseconds(f.updatedAt),
            "analytic": ["uid": .string(f.ruleID), "name": .string(f.title), "type_id": 1, "type": "Rule"],
        ]
        if !f.description.isEmpty { info["desc"] = .string(f.description) }
        if !f.techniques.isEmpty {
            info["attacks"] = .array(f.techniques.map { ["technique": ["uid": .string($0), "name": .string($0)], "version": "15.1"] })
        }
        var object: [String: JSONValue] = [
            "class_uid": .int(Int64(classUID)), "class_name": .string(f.findingClass.name), "category_uid": 2, "category_name": "Findings",
            "activity_id": .int(Int64(activity)), "type_uid": .int(Int64(classUID * 100 + activity)),
            "severity_id": .int(Int64(f.severityID)), "severity": .string(SecurityFinding.severityName(f.severityID)),
            "status_id": .int(Int64(view.status.ocsfID)), "status": .string(statusName(view.status)),
            "time": milliseconds(f.lastSeen), "finding_info": .object(info),
            "metadata": metadata(uid: f.uid, logName: "findings", product: f.source),
            "cloud": cloud(account: f.account, accountName: view.context.accountName, region: f.region),
        ]
        if let resource = f.resourceUID {
            var details: [String: JSONValue] = ["uid": .string(resource), "cloud_partition": "aws"]
            if let type = f.resourceType { details["type"] = .string(type) }
            if !f.region.isEmpty { details["region"] = .string(f.region) }
            if let application = view.context.application { details["labels"] = [.string("App:\(application)")] }
            object["resources"] = [.object(details)]
        }
        var guardrailEvidence: JSONValue?
        switch f.findingClass {
        case .vulnerability:
            var vulnerability: [String: JSONValue] = ["title": .string(f.title), "severity": .string(SecurityFinding.severityName(f.severityID))]
            if f.ruleID.uppercased().hasPrefix("CVE-") { vulnerability["cve"] = ["uid": .string(f.ruleID)] }
            if !f.description.isEmpty { vulnerability["desc"] = .string(f.description) }
            object["vulnerabilities"] = [.object(vulnerability)]
        case .compliance:
            var compliance: [String: JSONValue] = [
                "control": .string(f.ruleID), "standards": [.string(f.source)], "status_id": .int(view.status == .resolved ? 1 : 3),
                "status": .string(view.status == .resolved ? "Pass" : "Fail"),
            ]
            if f.source == FindingsHub.guardrailSource, let evidence = try? JSONValue.parse(f.raw) {
                // `framework:requirement` pairs: the frameworks are the standards.
                let requirements = evidence["requirements"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let standards = Set(requirements.compactMap { $0.split(separator: ":").first.map(String.init) }).sorted()
                if !standards.isEmpty { compliance["standards"] = .array(standards.map(JSONValue.string)) }
                compliance["requirements"] = .array(requirements.map(JSONValue.string))
                var data: [String: JSONValue] = ["policy_sha256": evidence["policy_sha256"] ?? .null]
                if let version = evidence["resource_version"] { data["resource_version"] = version }
                // Compliance Finding has no `evidences` in OCSF 1.3.
                guardrailEvidence = .object(data)
            }
            object["compliance"] = .object(compliance)
        case .detection:
            // Who did it and what they did: the principal and the lake events (Detection Finding
            // has no `actor` of its own under the cloud profile; its evidence does).
            var evidence: [String: JSONValue] = [:]
            if let principal = f.principal {
                evidence["actor"] = ["user": ["uid": .string(principal), "name": .string(principal.split(separator: "/").last.map(String.init) ?? principal)]]
            }
            if !events.isEmpty { evidence["data"] = ["cloudtrail_event_ids": .array(events.map(JSONValue.string))] }
            if !evidence.isEmpty { object["evidences"] = [.object(evidence)] }
        }
        if let note = f.note { object["comment"] = .string(note) }
        var unmapped: [String: JSONValue] = ["priority_id": .int(Int64(view.priority)), "event_count": .int(Int64(f.eventCount))]
        if !view.reasons.isEmpty { unmapped["priority_reasons"] = .array(view.reasons.map(JSONValue.string)) }
        if let unit = view.context.businessUnit { unmapped["business_unit"] = .string(unit) }
        if let application = view.context.application { unmapped["application"] = .string(application) }
        if let criticality = view.context.criticality { unmapped["criticality"] = .string(criticality) }
        if let environment = view.context.environment { unmapped["environment"] = .string(environment) }
        if let assignee = f.assignee { unmapped["assignee"] = .string(assignee) }
        if let guardrailEvidence { unmapped["evidence"] = guardrailEvidence }
        if let due = view.dueAt { unmapped["due_time"] = milliseconds(due) }
        if let suppression = view.suppression {
            unmapped["suppression"] = ["reason": .string(suppression.reason), "expires_time": milliseconds(suppression.expiresAt)]
        }
        object["unmapped"] = .object(unmapped)
        return .object(object)
    }

    static func statusName(_ status: FindingStatus) -> String {
        switch status {
        case .new: "New"
        case .inProgress: "In Progress"
        case .suppressed: "Suppressed"
        case .resolved: "Resolved"
        }
    }

    // MARK: Activity

    /// IAM operations that change an account (user), as OCSF Account Change activities.
    static let accountChanges: [String: (Int64, String)] = [
        "CreateUser": (1, "Create"), "CreateLoginProfile": (3, "Password Change"), "UpdateLoginProfile": (4, "Password Reset"),
        "DeleteUser": (6, "Delete"), "AttachUserPolicy": (7, "Attach Policy"), "PutUserPolicy": (7, "Attach Policy"),
        "DetachUserPolicy": (8, "Detach Policy"), "DeleteUserPolicy": (8, "Detach Policy"), "EnableMFADevice": (10, "MFA Factor Enable"),
        "DeactivateMFADevice": (11, "MFA Factor Disable"), "CreateAccessKey": (99, "Other"), "DeleteAccessKey": (99, "Other"),
        "UpdateAccessKey": (99, "Other"),
    ]

    /// A CloudTrail event as OCSF: console sign-ins as Authentication (3002), IAM user changes as
    /// Account Change (3001), everything else as API Activity (6003).
    public static func activity(_ event: LakeEvent) throws -> JSONValue {
        let record = try LakeJSON.parse(Data(event.body.utf8))
        let identity = record["userIdentity"]
        let failed = event.errorCode != nil
        var actorUser: [String: JSONValue] = [:]
        if let arn = identity?["arn"]?.stringValue { actorUser["uid"] = .string(arn) }
        if let name = identity?["userName"]?.stringValue ?? identity?.value(atPath: "sessionContext.sessionIssuer.userName")?.stringValue {
            actorUser["name"] = .string(name)
        }
        if let type = identity?["type"]?.stringValue { actorUser["type"] = .string(type) }
        if let account = identity?["accountId"]?.stringValue { actorUser["account"] = ["uid": .string(account), "type": "AWS Account", "type_id": 10] }
        if let key = identity?["accessKeyId"]?.stringValue { actorUser["credential_uid"] = .string(key) }
        var object: [String: JSONValue] = [
            "category_uid": 3, "category_name": "Identity & Access Management", "severity_id": 1, "severity": "Informational",
            "time": milliseconds(event.eventTime), "status_id": failed ? 2 : 1, "status": failed ? "Failure" : "Success",
            "metadata": metadata(uid: event.eventID, logName: "cloudtrail", product: "CloudTrail"),
            "cloud": cloud(account: event.account, accountName: nil, region: event.region),
            "actor": ["user": .object(actorUser)],
            "api": api(event, record),
        ]
        if let ip = event.sourceIP {
            var endpoint: [String: JSONValue] = [:]
            if SigmaNetwork.parse(ip) != nil { endpoint["ip"] = .string(ip) } else { endpoint["svc_name"] = .string(ip) }
            object["src_endpoint"] = .object(endpoint)
        }
        if let agent = record["userAgent"]?.stringValue { object["http_request"] = ["user_agent": .string(agent)] }
        if let code = event.errorCode {
            object["status_code"] = .string(code)
            if let message = record["errorMessage"]?.stringValue { object["status_detail"] = .string(message) }
        }
        let classUID: Int64
        let activity: Int64
        let activityName: String
        if event.eventName == "ConsoleLogin" {
            classUID = 3002
            (activity, activityName) = (1, "Logon")
            object["user"] = .object(actorUser)
            if let mfa = record.value(atPath: "additionalEventData.MFAUsed")?.stringValue { object["is_mfa"] = .bool(mfa.lowercased() == "yes") }
            if record.value(atPath: "responseElements.ConsoleLogin")?.stringValue == "Failure" {
                object["status_id"] = 2
                object["status"] = "Failure"
            }
            object["class_name"] = "Authentication"
        } else if event.eventSource == "iam.amazonaws.com", let change = accountChanges[event.eventName] {
            classUID = 3001
            (activity, activityName) = change
            let target = record.value(atPath: "requestParameters.userName")?.stringValue
            object["user"] = target.map { ["name": .string($0)] } ?? .object(actorUser)
            object["class_name"] = "Account Change"
        } else {
            classUID = 6003
            (activity, activityName) = Self.apiActivity(event.eventName)
            object["category_uid"] = 6
            object["category_name"] = "Application Activity"
            object["class_name"] = "API Activity"
            if let resources = record["resources"]?.arrayValue, !resources.isEmpty {
                object["resources"] = .array(
                    resources.map { resource in
                        var details: [String: JSONValue] = [:]
                        if let arn = resource["ARN"]?.stringValue { details["uid"] = .string(arn) }
                        if let type = resource["type"]?.stringValue { details["type"] = .string(type) }
                        return .object(details)
                    })
            }
        }
        object["class_uid"] = .int(classUID)
        object["activity_id"] = .int(activity)
        object["activity_name"] = .string(activityName)
        object["type_uid"] = .int(classUID * 100 + activity)
        return .object(object)
    }

    static func api(_ event: LakeEvent, _ record: JSONValue) -> JSONValue {
        var api: [String: JSONValue] = ["operation": .string(event.eventName), "service": ["name": .string(event.eventSource)]]
        if let request = record["requestID"]?.stringValue { api["request"] = ["uid": .string(request)] }
        if let code = event.errorCode {
            var response: [String: JSONValue] = ["error": .string(code)]
            if let message = record["errorMessage"]?.stringValue { response["error_message"] = .string(message) }
            api["response"] = .object(response)
        }
        if let version = record["apiVersion"]?.stringValue { api["version"] = .string(version) }
        return .object(api)
    }

    /// The CRUD verb an AWS operation name starts with.
    static func apiActivity(_ name: String) -> (Int64, String) {
        let verbs: [(Int64, String, [String])] = [
            (2, "Read", ["Get", "Describe", "List", "Head", "Lookup", "Search", "Select", "Scan", "Query", "BatchGet", "Check", "Decrypt", "Generate"]),
            (1, "Create", ["Create", "Put", "Run", "Start", "Add", "Allocate", "Import", "Register", "Issue", "Request", "Send", "Invoke", "Copy", "Upload"]),
            (4, "Delete", ["Delete", "Remove", "Terminate", "Deregister", "Release", "Leave"]),
            (3, "Update", [
                "Update", "Modify", "Set", "Attach", "Detach", "Associate", "Disassociate", "Enable", "Disable", "Stop", "Change", "Reset", "Authorize",
                "Revoke", "Tag", "Untag", "Restore", "Replace", "Reboot", "Schedule", "Cancel",
            ]),
        ]
        for (id, label, prefixes) in verbs where prefixes.contains(where: { name.hasPrefix($0) }) { return (id, label) }
        return (99, "Other")
    }
}

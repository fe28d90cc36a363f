import CanopyModel
import Foundation

/// Canopy findings in the OCSF 1.3 schema, for SIEMs and Security Lake.
public enum OCSF {
    public static let version = "1.3.0"

    /// A Compliance Finding (class_uid 2003, category 2 Findings). `type_uid` is class × 100 +
    /// activity (1 Create for a new finding, 2 Update otherwise, 3 Close once resolved).
    public static func complianceFinding(_ f: Finding) -> JSONValue {
        let activity = f.status == .resolved ? 3 : (f.firstSeen == f.lastSeen ? 1 : 2)
        let standards = Array(Set(f.requirements.compactMap { $0.split(separator: ":").first.map(String.init) })).sorted()
        var finding: [String: JSONValue] = [
            "uid": .string(f.uid), "title": .string(f.title),
            "first_seen_time": .int(Int64(f.firstSeen.timeIntervalSince1970 * 1_000)),
            "last_seen_time": .int(Int64(f.lastSeen.timeIntervalSince1970 * 1_000)),
            "types": ["Compliance"],
        ]
        if let resolved = f.resolvedAt { finding["modified_time"] = .int(Int64(resolved.timeIntervalSince1970 * 1_000)) }
        var object: [String: JSONValue] = [
            "class_uid": 2003, "class_name": "Compliance Finding", "category_uid": 2, "category_name": "Findings",
            "activity_id": .int(Int64(activity)), "type_uid": .int(Int64(200_300 + activity)),
            "severity_id": .int(Int64(f.severityID)), "status_id": .int(Int64(f.status.ocsfID)),
            "status": .string(f.status.rawValue), "time": .int(Int64(f.lastSeen.timeIntervalSince1970 * 1_000)),
            "finding_info": .object(finding),
            "compliance": [
                "control": .string(f.checkID), "standards": .array(standards.map(JSONValue.string)),
                "requirements": .array(f.requirements.map(JSONValue.string)),
                // 3 Fail while the problem stands; 1 Pass once resolved.
                "status_id": .int(f.status == .resolved ? 1 : 3),
            ],
            "resources": [
                [
                    "uid": .string(f.resourceUID), "name": .string(f.resourceName), "type": .string(f.resourceType),
                    "region": .string(f.region), "cloud_partition": "aws",
                    "owner": ["account": ["uid": .string(f.account), "type": "AWS Account", "type_id": 10]],
                    "labels": .array(f.application.map { [JSONValue.string("App:\($0)")] } ?? []),
                ]
            ],
            "cloud": ["provider": "AWS", "region": .string(f.region), "account": ["uid": .string(f.account)]],
            "metadata": [
                "version": .string(version), "product": ["name": "Canopy", "vendor_name": "Canopy"],
                "uid": .string(f.uid), "log_name": "compliance",
            ],
            "evidences": .array(
                f.resourceVersion.map { [["data": ["resource_version": .string($0), "policy_sha256": .string(f.policyHash)]]] }
                    ?? [["data": ["policy_sha256": .string(f.policyHash)]]]),
        ]
        if let assignee = f.assignee { object["assignee"] = ["name": .string(assignee)] }
        if let note = f.note { object["comment"] = .string(note) }
        return .object(object)
    }
}

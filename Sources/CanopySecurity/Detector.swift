import CanopyLake
import CanopyModel
import Crypto
import Foundation

/// Canopy's own detection rules, shipped with it in the Sigma format: what a utility must catch
/// whatever else is loaded (root use, console sign-in without MFA, CloudTrail stopped, a
/// security group opened to the world, AdministratorAccess attached, a KMS key scheduled for
/// deletion, access keys for root).
public enum BuiltInRules {
    public static func load() throws -> [SigmaRule] {
        guard let directory = Bundle.module.url(forResource: "rules", withExtension: nil) else {
            throw SigmaError(file: "rules", line: 0, message: "Canopy's built-in rules are missing from the installation")
        }
        return try SigmaRule.loadDirectory(directory.path) { "canopy:" + ($0 as NSString).lastPathComponent }
    }
}

/// Runs Sigma rules over CloudTrail events and folds the matches into Detection Findings (OCSF
/// 2004): one per rule × principal × time window, with the matching events attached, so a burst
/// of the same activity is one finding, not hundreds.
public struct Detector: Sendable {
    public static let source = "Canopy Sigma"

    public let rules: [SigmaRule]
    /// The deduplication window (default one hour, aligned to the epoch).
    public let window: TimeInterval

    /// The rules to run for an event name (lower-cased): those that need that name and those that
    /// need none, in rule order, merged once here rather than per event; `unpinned` for other names.
    let byEventName: [String: [Int]]
    let unpinned: [Int]

    public init(rules: [SigmaRule], window: TimeInterval = 3_600) {
        self.rules = rules
        self.window = max(window, 1)
        var byEventName: [String: [Int]] = [:]
        var unpinned: [Int] = []
        for (index, rule) in rules.enumerated() {
            guard let names = rule.eventNames else {
                unpinned.append(index)
                continue
            }
            for name in names { byEventName[name, default: []].append(index) }
        }
        self.byEventName = byEventName.mapValues { ($0 + unpinned).sorted() }
        self.unpinned = unpinned
    }

    /// The rules that can match an event of this name, in rule order.
    func candidates(eventName: String) -> [Int] {
        byEventName[eventName.lowercased()] ?? unpinned
    }

    /// The rules an event matches (only those its name allows are run).
    public func matchingRules(eventName: String, event: CloudTrailEvent) -> [SigmaRule] {
        candidates(eventName: eventName).filter { rules[$0].detection.matches(event) }.map { rules[$0] }
    }

    public func matchingRules(eventName: String, json: JSONValue) -> [SigmaRule] {
        matchingRules(eventName: eventName, event: CloudTrailEvent(json: json))
    }

    /// What a run found: the findings, the lake event ids of each, and the number of rule matches.
    public struct Result: Sendable {
        public var findings: [SecurityFinding]
        public var events: [String: [String]]
        public var matches: Int

        public init(findings: [SecurityFinding] = [], events: [String: [String]] = [:], matches: Int = 0) {
            self.findings = findings
            self.events = events
            self.matches = matches
        }
    }

    /// Accumulates matches event by event (`add`), then gives the findings (`result`).
    public struct Run: Sendable {
        let detector: Detector
        var byUID: [String: SecurityFinding] = [:]
        var order: [String] = []
        var events: [String: [String]] = [:]
        var matches = 0

        public mutating func add(_ record: LakeRecord, event: CloudTrailEvent) {
            for rule in detector.matchingRules(eventName: record.eventName, event: event) {
                matches += 1
                let principal = record.userARN ?? event.value(atPath: "userIdentity.principalId")?.stringValue ?? record.userType ?? "unknown"
                let windowStart = (record.eventTime.timeIntervalSince1970 / detector.window).rounded(.down) * detector.window
                let uid = Detector.uid(rule: rule.id, principal: principal, account: record.account, windowStart: windowStart)
                events[uid, default: []].append(record.eventID)
                if var finding = byUID[uid] {
                    finding.firstSeen = min(finding.firstSeen, record.eventTime)
                    finding.lastSeen = max(finding.lastSeen, record.eventTime)
                    finding.updatedAt = finding.lastSeen
                    finding.eventCount += 1
                    if finding.resourceUID == nil { finding.resourceUID = Self.resource(event) }
                    byUID[uid] = finding
                    continue
                }
                order.append(uid)
                byUID[uid] = SecurityFinding(
                    uid: uid, source: Detector.source, findingClass: .detection, ruleID: rule.id, title: rule.title,
                    description: rule.description.trimmingCharacters(in: .whitespacesAndNewlines), severityID: rule.severityID,
                    resourceUID: Self.resource(event), resourceType: event.value("resources")?.arrayValue?.first?["type"]?.stringValue, account: record.account,
                    region: record.region, principal: principal, techniques: rule.techniques, firstSeen: record.eventTime, lastSeen: record.eventTime,
                    updatedAt: record.eventTime, eventCount: 1,
                    raw: JSONValue.object([
                        "rule": [
                            "id": .string(rule.id), "title": .string(rule.title), "level": .string(rule.level), "origin": .string(rule.origin),
                            "sha256": .string(rule.sha256), "tags": .array(rule.tags.map(JSONValue.string)),
                            "falsepositives": .array(rule.falsePositives.map(JSONValue.string)),
                        ],
                        "principal": .string(principal), "window_start": .string(Timestamps.iso8601(Date(timeIntervalSince1970: windowStart))),
                        "window_seconds": .int(Int64(detector.window)),
                    ]).canonicalJSON())
            }
        }

        public var result: Result {
            Result(findings: order.compactMap { byUID[$0] }, events: events, matches: matches)
        }

        /// The resource the event acts on: the first of CloudTrail's `resources`, else one
        /// named in the request (a security group, trail, role, user, bucket, instance or key)
        /// as the ARN the inventory keys it by, so a detection meets the guardrail findings and
        /// other sources' findings on the same resource.
        static func resource(_ event: CloudTrailEvent) -> String? {
            if let listed = event.value("resources")?.arrayValue?.lazy.compactMap({ $0["ARN"]?.stringValue ?? $0["arn"]?.stringValue }).first { return listed }
            let region = event.string("awsRegion") ?? ""
            let account = event.string("recipientAccountId") ?? event.value(atPath: "userIdentity.accountId")?.stringValue ?? ""
            func parameter(_ name: String) -> String? {
                guard let value = event.value(atPath: "requestParameters.\(name)")?.stringValue, !value.isEmpty else { return nil }
                return value
            }
            func arn(_ value: String, _ make: (String) -> String) -> String { value.hasPrefix("arn:") ? value : make(value) }
            switch event.string("eventSource") {
            case "ec2.amazonaws.com":
                if let group = parameter("groupId") { return "arn:aws:ec2:\(region):\(account):security-group/\(group)" }
                if let instance = parameter("instanceId") ?? event.value(atPath: "requestParameters.instancesSet.items")?.arrayValue?.first?["instanceId"]?.stringValue {
                    return "arn:aws:ec2:\(region):\(account):instance/\(instance)"
                }
            case "cloudtrail.amazonaws.com":
                if let name = parameter("name") ?? parameter("trailName") { return arn(name) { "arn:aws:cloudtrail:\(region):\(account):trail/\($0)" } }
            case "iam.amazonaws.com":
                if let role = parameter("roleName") { return "arn:aws:iam::\(account):role/\(role)" }
                if let user = parameter("userName") { return "arn:aws:iam::\(account):user/\(user)" }
            case "s3.amazonaws.com":
                if let bucket = parameter("bucketName") { return "arn:aws:s3:::\(bucket)" }
            case "kms.amazonaws.com":
                if let key = parameter("keyId") { return arn(key) { "arn:aws:kms:\(region):\(account):key/\($0)" } }
            default: break
            }
            return nil
        }
    }

    public func run() -> Run { Run(detector: self) }

    /// One stable id per rule × principal × account × window: the same burst found again (on
    /// re-import, or by `canopy detect` over history) lands on the same finding.
    static func uid(rule: String, principal: String, account: String, windowStart: TimeInterval) -> String {
        let key = "\(rule)\n\(principal)\n\(account)\n\(Int64(windowStart))"
        return "sigma-" + Data(SHA256.hash(data: Data(key.utf8))).hexEncoded.prefix(32)
    }
}

import CanopyModel
import Foundation

/// Patch compliance of hosts against a baseline, from the hosts' stored inventory: each pending
/// update is approved once it has been offered for its rule's `approveAfterDays` (counted from
/// when Canopy first saw it pending), and a host missing an approved update is non-compliant. A
/// host whose pending updates could not be read is `unknown`, never compliant.
public struct PatchCompliance: Sendable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case compliant
        case nonCompliant = "non-compliant"
        case unknown
    }

    public struct Update: Sendable, Codable, Hashable {
        public var name: String
        public var installedVersion: String
        public var candidateVersion: String
        public var security: Bool
        public var severity: String?
        public var firstSeen: Date
        public var ageDays: Int
        /// Days until it is approved (0 when it is, nil when no rule covers it).
        public var approvedInDays: Int?
    }

    public struct Host: Sendable, Codable, Hashable {
        public var uid: String
        public var hostname: String
        public var site: String
        public var environment: String?
        public var businessUnit: String?
        public var application: String?
        public var os: String
        public var state: State
        /// Approved and still not installed: what makes the host non-compliant.
        public var missing: [Update]
        /// Pending but not yet approved (or covered by no rule).
        public var pending: [Update]
        public var missingSecurity: Int
        public var oldestMissingDays: Int?
        /// The highest vendor severity among missing updates (`unrated` when none carries one).
        public var highestSeverity: String?
        public var lastPatchTime: Date?
        public var observedAt: Date
    }

    public struct UnitSummary: Sendable, Codable, Hashable {
        public var businessUnit: String
        public var hosts: Int
        public var compliant: Int
        public var nonCompliant: Int
        public var unknown: Int
        public var missingUpdates: Int
        public var missingSecurity: Int
        public var oldestMissingDays: Int?
        /// Compliant hosts among those whose state is known, in percent; nil when none is known.
        public var compliancePercent: Double?
        /// Missing security updates by age: ≤7, 8–30, 31–90, >90 days.
        public var securityByAge: [String: Int]
    }

    public struct Report: Sendable, Codable, Hashable {
        public var evaluatedAt: Date
        public var baselineSHA256: String?
        public var hosts: [Host]
        public var businessUnits: [UnitSummary]
    }

    public static let ageBands = ["0-7", "8-30", "31-90", "91+"]
    /// Vendors' update ratings, most severe highest (Red Hat's Critical…Low, and the CVSS-style
    /// names some vendors use); unrated ranks lowest.
    static let severityRank = ["critical": 5, "important": 4, "high": 4, "moderate": 3, "medium": 3, "low": 2]

    /// The most severe of some vendor ratings.
    static func mostSevere(_ ratings: [String]) -> String? {
        ratings.max { (severityRank[$0] ?? 0) < (severityRank[$1] ?? 0) }
    }

    /// Evaluates `hosts` (`onprem.host` resources) at `now`.
    public static func evaluate(
        hosts: [Resource], baseline: PatchBaseline, baselineSHA256: String? = nil, ownership: Ownership, accounts: [Account], now: Date
    ) -> Report {
        let accountByID = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let evaluated = hosts.filter { $0.type == onpremHostType }.map { resource -> Host in
            let environment = resource.tags.first { ResourceSelector.normalised($0.key) == "env" || ResourceSelector.normalised($0.key) == "environment" }?.value
            let application = ownership.applicationID(of: resource)
            var missing: [Update] = []
            var pending: [Update] = []
            let known = resource.properties["PendingUpdatesKnown"]?.boolValue ?? false
            for entry in resource.properties["PendingUpdates"]?.arrayValue ?? [] {
                guard let name = entry["Name"]?.stringValue else { continue }
                let firstSeen = entry["FirstSeen"]?.stringValue.flatMap(Timestamps.parse) ?? resource.observedAt
                let security = entry["Security"]?.boolValue ?? false
                let severity = entry["Severity"]?.stringValue?.lowercased()
                let age = max(0, Int(now.timeIntervalSince(firstSeen) / 86_400))
                let rule = baseline.rule(environment: environment, security: security, severity: severity)
                var update = Update(
                    name: name, installedVersion: entry["InstalledVersion"]?.stringValue ?? "", candidateVersion: entry["CandidateVersion"]?.stringValue ?? "",
                    security: security, severity: severity, firstSeen: firstSeen, ageDays: age, approvedInDays: nil)
                if let rule {
                    update.approvedInDays = max(0, rule.approveAfterDays - age)
                    if age >= rule.approveAfterDays {
                        missing.append(update)
                        continue
                    }
                }
                pending.append(update)
            }
            let state: State = !known ? .unknown : (missing.isEmpty ? .compliant : .nonCompliant)
            let highest = mostSevere(missing.map { $0.severity ?? "unrated" })
            return Host(
                uid: resource.uid, hostname: resource.name, site: resource.account, environment: environment,
                businessUnit: ownership.businessUnitID(of: resource, account: accountByID[resource.account]), application: application,
                os: resource.properties.value(atPath: "OS.PrettyName")?.stringValue ?? resource.properties.value(atPath: "OS.Id")?.stringValue ?? "",
                state: state, missing: missing.sorted { ($0.ageDays, $0.name) > ($1.ageDays, $1.name) }, pending: pending.sorted { $0.name < $1.name },
                missingSecurity: missing.filter(\.security).count, oldestMissingDays: missing.map(\.ageDays).max(), highestSeverity: highest,
                lastPatchTime: resource.properties["LastPatchTime"]?.stringValue.flatMap(Timestamps.parse), observedAt: resource.observedAt)
        }
        .sorted { ($0.state.sortOrder, $0.hostname) < ($1.state.sortOrder, $1.hostname) }
        return Report(evaluatedAt: now, baselineSHA256: baselineSHA256, hosts: evaluated, businessUnits: summarise(evaluated))
    }

    static func summarise(_ hosts: [Host]) -> [UnitSummary] {
        Dictionary(grouping: hosts) { $0.businessUnit ?? "unassigned" }.map { unit, members in
            var bands = Dictionary(uniqueKeysWithValues: ageBands.map { ($0, 0) })
            for update in members.flatMap(\.missing) where update.security {
                let band = update.ageDays <= 7 ? "0-7" : update.ageDays <= 30 ? "8-30" : update.ageDays <= 90 ? "31-90" : "91+"
                bands[band, default: 0] += 1
            }
            let compliant = members.filter { $0.state == .compliant }.count
            let nonCompliant = members.filter { $0.state == .nonCompliant }.count
            let known = compliant + nonCompliant
            return UnitSummary(
                businessUnit: unit, hosts: members.count, compliant: compliant, nonCompliant: nonCompliant,
                unknown: members.count - known, missingUpdates: members.map(\.missing.count).reduce(0, +),
                missingSecurity: members.map(\.missingSecurity).reduce(0, +), oldestMissingDays: members.compactMap(\.oldestMissingDays).max(),
                compliancePercent: known == 0 ? nil : (Double(compliant) * 1000 / Double(known)).rounded() / 10, securityByAge: bands)
        }
        .sorted { $0.businessUnit < $1.businessUnit }
    }
}

extension PatchCompliance.State {
    var sortOrder: Int {
        switch self {
        case .nonCompliant: 0
        case .unknown: 1
        case .compliant: 2
        }
    }
}

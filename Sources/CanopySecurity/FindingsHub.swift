import CanopyModel
import CanopyStore
import Foundation

/// How long a finding may stay open, by severity, before it is overdue (days from first seen).
/// The defaults follow common vulnerability-management practice (and CISA BOD 22-01's two weeks
/// for exploited vulnerabilities sits between high and medium): critical 1, high 7, medium 30,
/// low 90; informational has no target.
public struct ResponseTargets: Sendable, Hashable, Codable {
    public var days: [Int: Int]

    public init(days: [Int: Int] = [5: 1, 6: 1, 4: 7, 3: 30, 2: 90]) { self.days = days }

    public func due(_ finding: SecurityFinding) -> Date? {
        days[finding.severityID].map { finding.firstSeen.addingTimeInterval(TimeInterval($0) * 86_400) }
    }
}

/// A finding as an analyst sees it: with whose it is (from the inventory, by resource ARN, else
/// by account), how urgent it is once correlated, whether a rule suppresses it, and when it is due.
public struct FindingView: Sendable, Codable, Hashable {
    public struct Context: Sendable, Codable, Hashable {
        public var accountName: String?
        public var businessUnit: String?
        public var application: String?
        public var owners: [String]
        /// The application's tier (tier-1 is critical).
        public var criticality: String?
        public var environment: String?
        /// Whether the resource is in the current inventory.
        public var inInventory: Bool
    }

    public var finding: SecurityFinding
    public var context: Context
    /// The severity raised by correlation (at most 5, critical).
    public var priority: Int
    /// Why it was raised: other sources on the same resource, a failing guardrail, a tier-1 application.
    public var reasons: [String]
    /// The status shown: a matching suppression rule makes an open finding `suppressed`.
    public var status: FindingStatus
    public var suppression: FindingSuppression?
    public var dueAt: Date?
    public var overdue: Bool
}

/// The findings hub: every source's findings (and the guardrails' compliance findings) in one
/// list, enriched, correlated and checked against suppression rules and response targets.
public enum FindingsHub {
    public static let guardrailSource = "Canopy guardrails"

    /// A guardrail finding in the hub's model (OCSF Compliance Finding). Its evidence — the
    /// requirements it serves, the content address of the resource state judged and of the
    /// policy text — rides in `raw` for the OCSF export.
    public static func securityFinding(_ f: Finding) -> SecurityFinding {
        var evidence: [String: JSONValue] = [
            "requirements": .array(f.requirements.map(JSONValue.string)), "policy_sha256": .string(f.policyHash), "reopen_count": .int(Int64(f.reopenCount)),
        ]
        if let version = f.resourceVersion { evidence["resource_version"] = .string(version) }
        return SecurityFinding(
            uid: f.uid, source: guardrailSource, findingClass: .compliance, ruleID: f.checkID, title: f.title,
            description: f.requirements.joined(separator: ", "), severityID: f.severityID, status: f.status, resourceUID: f.resourceUID,
            resourceType: f.resourceType, account: f.account, region: f.region, firstSeen: f.firstSeen, lastSeen: f.lastSeen,
            updatedAt: f.resolvedAt ?? f.lastSeen, assignee: f.assignee, note: f.note, raw: JSONValue.object(evidence).canonicalJSON())
    }

    /// Everything the views need from the store, read once.
    public struct Context: Sendable {
        var accounts: [String: Account]
        var ownership: Ownership
        var resources: [String: Resource]
        /// Open findings per resource uid, from every source (to correlate).
        var openByResource: [String: [SecurityFinding]]
        var suppressions: [FindingSuppression]
        var targets: ResponseTargets

        public static func load(store: any CanopyStore, targets: ResponseTargets = ResponseTargets()) async throws -> Context {
            let accounts = try await store.accounts()
            let resources = try await store.resources(ResourceQuery())
            let open = try await store.securityFindings(SecurityFindingFilter(statuses: [.new, .inProgress]), limit: nil)
            let guardrails = try await store.findings(FindingQuery(statuses: [.new, .inProgress])).map(FindingsHub.securityFinding)
            var byResource: [String: [SecurityFinding]] = [:]
            for finding in open + guardrails {
                if let uid = finding.resourceUID { byResource[uid, default: []].append(finding) }
            }
            return Context(
                accounts: Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }), ownership: try await store.ownership(),
                resources: Dictionary(resources.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a }), openByResource: byResource,
                suppressions: try await store.findingSuppressions(), targets: targets)
        }

        public func view(_ finding: SecurityFinding, now: Date = Date()) -> FindingView {
            let account = accounts[finding.account]
            let resource = finding.resourceUID.flatMap { resources[$0] }
            let applicationID = resource.flatMap(ownership.applicationID(of:))
            let application = applicationID.flatMap(ownership.application)
            let unitID = ownership.businessUnitID(application: applicationID, account: account)
            let unit = unitID.flatMap(ownership.businessUnit)
            let environment = resource.flatMap { r in
                r.tags.first { ["environment", "env", "stage"].contains(ResourceSelector.normalised($0.key)) }?.value
            } ?? account?.tags.first { ResourceSelector.normalised($0.key) == "environment" }?.value
            // The most specific owner named: the resource's Owner tag, else its application's, else its unit's.
            let tagged = resource.flatMap { r in r.tags.first { ResourceSelector.normalised($0.key) == "owner" }?.value }.map { [$0] } ?? []
            let owners = [tagged, application?.owners ?? [], unit?.owners ?? []].first { !$0.isEmpty } ?? []
            let context = FindingView.Context(
                accountName: account?.name, businessUnit: unitID, application: applicationID, owners: owners,
                criticality: application?.tier, environment: environment, inInventory: resource != nil)

            var reasons: [String] = []
            if let uid = finding.resourceUID {
                let others = (openByResource[uid] ?? []).filter { $0.uid != finding.uid }
                // Another tool reporting the same resource, and a guardrail it fails, are two
                // independent confirmations; each raises the priority once.
                let otherSources = Set(others.map(\.source)).subtracting([finding.source, FindingsHub.guardrailSource]).sorted()
                if !otherSources.isEmpty { reasons.append("also reported by \(otherSources.joined(separator: ", "))") }
                if finding.source != FindingsHub.guardrailSource, let failing = others.first(where: { $0.source == FindingsHub.guardrailSource }) {
                    reasons.append("the resource also fails guardrail \(failing.ruleID)")
                }
            }
            if application?.tier == "tier-1" { reasons.append("it belongs to tier-1 application \(application?.id ?? "")") }
            let raised = Set(reasons).count
            let priority = min(5, max(finding.severityID, 1) + raised)

            var status = finding.status
            let suppression = finding.status.isOpen ? suppressions.first { $0.isActive(at: now) && $0.matches(finding) } : nil
            if suppression != nil { status = .suppressed }
            let due = status.isOpen ? targets.due(finding) : nil
            return FindingView(
                finding: finding, context: context, priority: priority, reasons: reasons, status: status, suppression: suppression, dueAt: due,
                overdue: due.map { $0 < now } ?? false)
        }
    }

    /// Which views to list, beyond what the store filters.
    public struct Selection: Sendable {
        public var filter: SecurityFindingFilter
        public var includeGuardrails: Bool
        /// Only open (new or in progress, not suppressed) ones.
        public var openOnly: Bool
        public var overdueOnly: Bool
        public var businessUnit: String?
        public var application: String?

        public init(
            filter: SecurityFindingFilter = SecurityFindingFilter(), includeGuardrails: Bool = true, openOnly: Bool = false, overdueOnly: Bool = false,
            businessUnit: String? = nil, application: String? = nil
        ) {
            self.filter = filter
            self.includeGuardrails = includeGuardrails
            self.openOnly = openOnly
            self.overdueOnly = overdueOnly
            self.businessUnit = businessUnit
            self.application = application
        }
    }

    /// The hub's list, most urgent first: priority, then overdue, then the latest seen.
    public static func list(store: any CanopyStore, _ selection: Selection, context: Context? = nil, now: Date = Date()) async throws -> [FindingView] {
        let loaded: Context
        if let context { loaded = context } else { loaded = try await Context.load(store: store) }
        // A suppression rule makes an open finding show as suppressed, so asking for suppressed
        // ones reads the open ones too and keeps those the view suppresses.
        let wanted = Set(selection.filter.statuses)
        var filter = selection.filter
        if wanted.contains(.suppressed) { filter.statuses = Array(wanted.union([.new, .inProgress])) }
        var findings = try await store.securityFindings(filter, limit: nil)
        if selection.includeGuardrails, filter.sources.isEmpty || filter.sources.contains(guardrailSource),
            filter.findingClass == nil || filter.findingClass == .compliance
        {
            let guardrails = try await store.findings(
                FindingQuery(
                    accounts: filter.accounts, statuses: filter.statuses.isEmpty ? nil : filter.statuses, minimumSeverityID: filter.minimumSeverity,
                    resourceUID: filter.resourceUID))
            findings += guardrails.map(securityFinding).filter { f in
                (filter.ruleID == nil || f.ruleID == filter.ruleID) && (filter.since.map { f.lastSeen >= $0 } ?? true)
            }
        }
        return findings.map { loaded.view($0, now: now) }
            .filter { view in
                (wanted.isEmpty || wanted.contains(view.status)) && (!selection.openOnly || view.status.isOpen) && (!selection.overdueOnly || view.overdue)
                    && (selection.businessUnit == nil || view.context.businessUnit == selection.businessUnit)
                    && (selection.application == nil || view.context.application == selection.application)
            }
            .sorted { a, b in
                if a.priority != b.priority { return a.priority > b.priority }
                if a.overdue != b.overdue { return a.overdue }
                if a.finding.lastSeen != b.finding.lastSeen { return a.finding.lastSeen > b.finding.lastSeen }
                return a.finding.uid < b.finding.uid
            }
    }
}

extension FindingsHub {
    /// One finding (a security finding or a guardrail finding) as the hub shows it.
    public static func view(uid: String, store: any CanopyStore, now: Date = Date()) async throws -> FindingView? {
        let finding: SecurityFinding
        if let stored = try await store.securityFinding(uid: uid) {
            finding = stored
        } else if let guardrail = try await store.findings(FindingQuery(uids: [uid])).first {
            finding = securityFinding(guardrail)
        } else {
            return nil
        }
        return try await Context.load(store: store).view(finding, now: now)
    }

    /// What is wrong with a suppression rule before it is stored, if anything: it must narrow
    /// something, give a reason and expire within a year (a suppression is revisited, not forgotten).
    public static func problem(with suppression: FindingSuppression, now: Date = Date()) -> String? {
        if suppression.isEmpty { return "a suppression must name at least a source, rule, resource or account" }
        if suppression.reason.trimmingCharacters(in: .whitespaces).isEmpty { return "a suppression needs a reason" }
        if suppression.expiresAt <= now { return "the expiry must be in the future" }
        if suppression.expiresAt > now.addingTimeInterval(366 * 86_400) { return "the expiry must be within a year" }
        return nil
    }
}

extension FindingsHub {
    /// Triage of any finding in the hub, by uid: a security finding through its own workflow,
    /// else a guardrail finding through the compliance one (both audited; an unknown uid throws
    /// `StoreError.unknownFinding`). Answers the finding as triaged.
    @discardableResult
    public static func triage(
        uid: String, status: FindingStatus?, assignee: String?, note: String?, actor: String, store: any CanopyStore
    ) async throws -> SecurityFinding {
        if try await store.securityFinding(uid: uid) != nil {
            return try await store.triageSecurityFinding(uid: uid, status: status, assignee: assignee, note: note, actor: actor)
        }
        return securityFinding(try await store.triage(findingUID: uid, status: status, assignee: assignee, note: note, actor: actor, at: Date()))
    }
}

extension OCSFExport {
    /// Views as OCSF findings; a detection carries its lake events when `withEvents`.
    public static func findings(_ views: [FindingView], store: any CanopyStore, withEvents: Bool) async throws -> JSONValue {
        var objects: [JSONValue] = []
        for view in views {
            let events = withEvents && view.finding.findingClass == .detection ? try await store.securityFindingEvents(uid: view.finding.uid) : []
            objects.append(finding(view, events: events))
        }
        return .array(objects)
    }
}

extension FindingsHub {
    /// A filter value a caller cannot use, naming the parameter.
    public struct ParameterProblem: Error, CustomStringConvertible, Sendable {
        public var field: String
        public var message: String
        public var description: String { message }
    }

    static let severities = ["informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5]

    /// The hub's filter from the values a user gives (CLI options, query parameters, a form):
    /// source, class, minimum severity and status (default new, in_progress, suppressed; `all`).
    public static func filter(
        accounts: [String]?, source: String?, findingClass: String?, severity: String?, status: String?
    ) throws -> SecurityFindingFilter {
        var filter = SecurityFindingFilter(accounts: accounts)
        if let source { filter.sources = [source] }
        if let findingClass {
            guard let known = SecurityFinding.FindingClass.allCases.first(where: { "\($0)" == findingClass }) else {
                throw ParameterProblem(field: "class", message: "'class' is one of detection, vulnerability, compliance")
            }
            filter.findingClass = known
        }
        if let severity {
            guard let level = severities[severity] else {
                throw ParameterProblem(field: "severity", message: "'severity' is one of informational, low, medium, high, critical")
            }
            filter.minimumSeverity = level
        }
        switch status {
        case nil: filter.statuses = [.new, .inProgress, .suppressed]
        case "all": filter.statuses = []
        case let status?:
            guard let known = FindingStatus(rawValue: status) else {
                throw ParameterProblem(field: "status", message: "'status' is one of new, in_progress, suppressed, resolved, all")
            }
            filter.statuses = [known]
        }
        return filter
    }
}

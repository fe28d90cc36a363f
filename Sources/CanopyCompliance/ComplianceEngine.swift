import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// What one check found over the inventory.
public struct CheckOutcome: Sendable {
    public var check: Check
    public var candidates: [Resource]
    public var failing: [Resource]
}

/// The packs and frameworks in force, and the evaluation that turns inventory into findings.
public struct ComplianceEngine: Sendable {
    public var packs: [Pack]
    public var frameworks: [Framework]
    public let checks: [Check]
    /// check id → `framework:requirement` pairs that use it.
    public let requirementsByCheck: [String: [String]]
    /// Told of findings each evaluation opens and of exception decisions (webhooks).
    public var notifier: (any Notifier)?

    public init(packs: [Pack], frameworks: [Framework]) {
        self.packs = packs
        self.frameworks = frameworks
        checks = packs.flatMap(\.checks)
        var byCheck: [String: [String]] = [:]
        for framework in frameworks {
            for requirement in framework.requirements {
                for check in requirement.checks { byCheck[check, default: []].append("\(framework.id):\(requirement.id)") }
            }
        }
        requirementsByCheck = byCheck
    }

    /// The built-in packs and frameworks, with a folder's files replacing or adding to them.
    public static func load(packsDirectory: String? = nil, frameworksDirectory: String? = nil) throws -> ComplianceEngine {
        let packs = try Packs.load(overrides: packsDirectory)
        let frameworks = try Frameworks.load(overrides: frameworksDirectory, checks: Set(packs.flatMap { $0.checks.map(\.id) }))
        return ComplianceEngine(packs: packs, frameworks: frameworks)
    }

    public func check(_ id: String) -> Check? { checks.first { $0.id == id } }

    public func framework(_ id: String) -> Framework? { frameworks.first { $0.id == id } }

    /// Runs every check over the context's inventory (no store access, no cloud call).
    public func evaluate(_ context: EvaluationContext) -> [CheckOutcome] {
        checks.map { check in
            let candidates = context.byType[check.policy.resource] ?? []
            return CheckOutcome(check: check, candidates: candidates, failing: check.policy.select(candidates, in: context))
        }
    }

    /// The stable id of the finding for `check` on `resource`: the same problem on the same
    /// resource is always the same finding.
    public static func findingUID(check: String, resource: String) -> String {
        "cf-" + String(ContentHash.sha256("compliance\u{0}\(check)\u{0}\(resource)").prefix(32))
    }

    /// Evaluates and records: new failures open findings, repeated ones update them in place,
    /// passes resolve them, relapses reopen them; waivers in force suppress, and expired ones
    /// make their findings active again.
    @discardableResult
    public func run(store: any CanopyStore, context: EvaluationContext, scanID: Int64?) async throws -> Evaluation {
        let now = context.now
        let outcomes = evaluate(context)
        let known = try await store.findings(FindingQuery(checkIDs: checks.map(\.id)))
        var existing: [String: Finding] = [:]
        for finding in known { existing[finding.uid] = finding }
        let existingByCheck = Dictionary(grouping: known, by: \.checkID)
        let waivers = try await store.waivers().filter { $0.isInForce(at: now) }
        // Findings and results carry the application the resource belongs to now, so every cut
        // by application or business unit reads them directly.
        let ownership = try await store.ownership()
        var applications: [String: String] = [:]
        func application(_ resource: Resource) -> String? {
            if let known = applications[resource.uid] { return known.isEmpty ? nil : known }
            let id = ownership.applicationID(of: resource)
            applications[resource.uid] = id ?? ""
            return id
        }
        var changed: [Finding] = []
        var results: [ResultKey: (passed: Int, failed: Int, waived: Int)] = [:]
        var opened = 0
        var resolved = 0
        var reopened = 0
        var openedFindings: [Finding] = []

        for outcome in outcomes {
            let check = outcome.check
            var failingUIDs: Set<String> = []
            for resource in outcome.failing {
                let uid = Self.findingUID(check: check.id, resource: resource.uid)
                failingUIDs.insert(uid)
                let waiver = waivers.first {
                    $0.covers(checkID: check.id, resourceUID: resource.uid, account: resource.account, tags: resource.tags)
                }
                let key = ResultKey(check: check.id, account: resource.account, application: application(resource) ?? "")
                if waiver != nil { results[key, default: (0, 0, 0)].waived += 1 } else { results[key, default: (0, 0, 0)].failed += 1 }
                var finding: Finding
                if var known = existing[uid] {
                    if known.status == .resolved {
                        known.status = .new
                        known.reopenCount += 1
                        known.resolvedAt = nil
                        reopened += 1
                        if waiver == nil { openedFindings.append(known) }
                    } else if known.status == .suppressed, known.waiverID != nil, waiver == nil {
                        known.status = .new  // its waiver expired or was revoked
                    }
                    finding = known
                } else {
                    finding = Finding(
                        uid: uid, checkID: check.id, title: check.title, severityID: check.severity.ocsfID, status: .new,
                        resourceUID: resource.uid, resourceType: resource.type, resourceName: resource.name,
                        account: resource.account, region: resource.region, application: application(resource), firstSeen: now,
                        lastSeen: now, lastScanID: scanID, resourceVersion: nil, policyHash: check.policyHash,
                        requirements: [])
                    opened += 1
                    if waiver == nil { openedFindings.append(finding) }
                }
                finding.title = check.title
                finding.severityID = check.severity.ocsfID
                finding.resourceName = resource.name
                finding.application = application(resource)
                finding.lastSeen = now
                finding.lastScanID = scanID
                finding.policyHash = check.policyHash
                finding.requirements = requirementsByCheck[check.id] ?? []
                finding.resourceVersion = nil  // the store fills in the current state's address
                if let waiver {
                    finding.status = .suppressed
                    finding.waiverID = waiver.id
                } else {
                    finding.waiverID = nil
                }
                changed.append(finding)
            }
            for resource in outcome.candidates
            where !failingUIDs.contains(Self.findingUID(check: check.id, resource: resource.uid)) {
                results[ResultKey(check: check.id, account: resource.account, application: application(resource) ?? ""), default: (0, 0, 0)].passed += 1
            }
            for var finding in existingByCheck[check.id] ?? [] where finding.status != .resolved && !failingUIDs.contains(finding.uid) {
                finding.status = .resolved
                finding.resolvedAt = now
                finding.waiverID = nil
                finding.requirements = requirementsByCheck[check.id] ?? []
                changed.append(finding)
                resolved += 1
            }
        }
        let rows = results.map { key, counts in
            CheckResult(checkID: key.check, account: key.account, application: key.application, passed: counts.passed, failed: counts.failed, waived: counts.waived)
        }
        let evaluation = try await store.record(
            EvaluationRecord(
                scanID: scanID, evaluatedAt: now, checks: checks.count, findings: changed, results: rows, opened: opened,
                resolved: resolved, reopened: reopened))
        if let notifier, !openedFindings.isEmpty { await notifier.findingsOpened(openedFindings) }
        return evaluation
    }

    struct ResultKey: Hashable {
        var check: String
        var account: String
        var application: String
    }
}

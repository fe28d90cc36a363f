import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// Where a requirement stands after the last evaluation.
public enum RequirementStatus: String, Sendable, Codable {
    case passed
    case failed
    /// Every failure is covered by a waiver in force.
    case waived
    /// No resource of the types its checks judge exists in the inventory.
    case noResources = "no-resources"
    /// A manual requirement with a current attestation that it is met / not met.
    case attested
    case attestedFailed = "attested-failed"
    /// A manual requirement nobody has attested yet.
    case manual
    case notApplicable = "not-applicable"

    /// Counted as met in pass rates.
    var isMet: Bool { self == .passed || self == .waived || self == .attested }
    /// Counted at all in pass rates.
    var isAssessed: Bool { isMet || self == .failed || self == .attestedFailed }
}

public struct FindingEvidence: Sendable, Codable {
    public var uid: String
    public var resourceUID: String
    public var resourceName: String
    public var account: String
    public var region: String
    public var status: FindingStatus
    public var firstSeen: Date
    public var lastSeen: Date
    /// Content address of the stored resource state judged (`canopy resource` shows it).
    public var resourceVersion: String?
    public var waiverID: Int64?
}

public struct CheckAssessment: Sendable, Codable {
    public var id: String
    public var title: String
    public var severity: String
    public var resource: String
    public var passed: Int
    public var failed: Int
    public var waived: Int
    /// SHA-256 of the policy text that judged.
    public var policyHash: String
    public var policy: String
    public var findings: [FindingEvidence]
}

public struct RequirementAssessment: Sendable, Codable {
    public var requirement: Requirement
    public var status: RequirementStatus
    public var checks: [CheckAssessment]
    public var attestation: Attestation?
    public var waivers: [Waiver]
}

public struct AssessmentSummary: Sendable, Codable {
    public var counts: [String: Int]
    /// Met requirements over assessed ones (waived and attested count as met; manual without
    /// attestation, not-applicable and no-resources are left out), 0…1; nil when none assessed.
    public var passRate: Double?
    /// Passing over judged resource–check pairs across the framework's checks, 0…1.
    public var resourcePassRate: Double?
}

public struct FrameworkAssessment: Sendable, Codable {
    public var frameworkID: String
    public var name: String
    public var nameZh: String?
    public var version: String?
    public var source: String?
    public var level: String?
    public var generatedAt: Date
    public var evaluation: Evaluation?
    public var scanFinishedAt: Date?
    public var requirements: [RequirementAssessment]
    public var summary: AssessmentSummary
    public var trend: [TrendPoint]
}

public struct TrendPoint: Sendable, Codable {
    public var evaluationID: Int64
    public var evaluatedAt: Date
    public var passRate: Double?
}

/// A pass rate cut (by account, application or business unit).
public struct ScoreCut: Sendable, Codable {
    public var key: String
    public var passed: Int
    public var failed: Int
    public var waived: Int
    public var passRate: Double? { passed + failed + waived == 0 ? nil : Double(passed + waived) / Double(passed + failed + waived) }

    /// The key of what no application or business unit claims.
    public static let unassigned = "(unassigned)"
}

extension ComplianceEngine {
    /// The framework's requirements judged from the last evaluation, its findings, waivers and
    /// attestations: what an audit report shows.
    /// - Parameter accounts: limit to these accounts (a business unit's view); nil for all.
    public func assess(
        framework id: String, level: String? = nil, store: any CanopyStore, now: Date = Date(), trendLength: Int = 10,
        accounts: Set<String>? = nil
    ) async throws -> FrameworkAssessment {
        guard let framework = framework(id) else {
            throw ComplianceError.unknownFramework(id, known: frameworks.map(\.id))
        }
        if let level, !framework.levels.isEmpty, !framework.levels.contains(level) {
            throw ComplianceError.unknownLevel(level, framework: id, known: framework.levels)
        }
        let evaluations = try await store.evaluations(limit: trendLength)
        let latest = evaluations.first
        func inScope(_ results: [CheckResult]) -> [CheckResult] {
            guard let accounts else { return results }
            return results.filter { accounts.contains($0.account) }
        }
        var results: [CheckResult] = []
        if let latest { results = inScope(try await store.checkResults(evaluationID: latest.id)) }
        let checkIDs = Set(framework.requirements.flatMap(\.checks))
        let findings = try await store.findings(
            FindingQuery(checkIDs: Array(checkIDs), accounts: accounts.map { Array($0) }, statuses: [.new, .inProgress, .suppressed]))
        let findingsByCheck = Dictionary(grouping: findings, by: \.checkID)
        let waivers = try await store.waivers()
        let attestations = try await store.attestations().filter { $0.frameworkID == id }
        var scan: Scan?
        if let scanID = latest?.scanID { scan = try await store.scan(id: scanID) }
        let totals = Self.totals(results)

        let requirements = framework.requirements(at: level).map { requirement -> RequirementAssessment in
            let checks = requirement.checks.compactMap { checkID -> CheckAssessment? in
                guard let check = check(checkID) else { return nil }
                let t = totals[checkID] ?? (0, 0, 0)
                let evidence = (findingsByCheck[checkID] ?? []).map {
                    FindingEvidence(
                        uid: $0.uid, resourceUID: $0.resourceUID, resourceName: $0.resourceName, account: $0.account, region: $0.region,
                        status: $0.status, firstSeen: $0.firstSeen, lastSeen: $0.lastSeen, resourceVersion: $0.resourceVersion,
                        waiverID: $0.waiverID)
                }
                return CheckAssessment(
                    id: checkID, title: check.title, severity: check.severity.rawValue, resource: check.policy.resource, passed: t.passed,
                    failed: t.failed, waived: t.waived, policyHash: check.policyHash, policy: check.policy.source, findings: evidence)
            }
            let attestation = attestations.last {
                $0.requirementID == requirement.id && ($0.expiresAt.map { $0 > now } ?? true)
            }
            let status = Self.status(requirement, totals: requirement.checks.map { totals[$0] ?? (0, 0, 0) }, attestation: attestation)
            let relevant = waivers.filter { requirement.checks.contains($0.checkID) }
            return RequirementAssessment(requirement: requirement, status: status, checks: checks, attestation: attestation, waivers: relevant)
        }
        var trend: [TrendPoint] = []
        for evaluation in evaluations.reversed() {
            let past = evaluation.id == latest?.id ? totals : Self.totals(inScope(try await store.checkResults(evaluationID: evaluation.id)))
            let statuses = framework.requirements(at: level).map { requirement in
                Self.status(
                    requirement, totals: requirement.checks.map { past[$0] ?? (0, 0, 0) },
                    attestation: attestations.last { $0.requirementID == requirement.id && $0.attestedAt <= evaluation.evaluatedAt })
            }
            trend.append(TrendPoint(evaluationID: evaluation.id, evaluatedAt: evaluation.evaluatedAt, passRate: Self.passRate(statuses)))
        }
        var counts: [String: Int] = [:]
        for r in requirements { counts[r.status.rawValue, default: 0] += 1 }
        let judged = requirements.flatMap(\.checks)
        let passedPairs = judged.reduce(0) { $0 + $1.passed + $1.waived }
        let allPairs = judged.reduce(0) { $0 + $1.passed + $1.failed + $1.waived }
        return FrameworkAssessment(
            frameworkID: framework.id, name: framework.name, nameZh: framework.nameZh, version: framework.version,
            source: framework.source, level: level, generatedAt: now, evaluation: latest, scanFinishedAt: scan?.finishedAt,
            requirements: requirements,
            summary: AssessmentSummary(
                counts: counts, passRate: Self.passRate(requirements.map(\.status)),
                resourcePassRate: allPairs == 0 ? nil : Double(passedPairs) / Double(allPairs)),
            trend: trend)
    }

    static func totals(_ results: [CheckResult]) -> [String: (passed: Int, failed: Int, waived: Int)] {
        var totals: [String: (passed: Int, failed: Int, waived: Int)] = [:]
        for r in results {
            totals[r.checkID, default: (0, 0, 0)].passed += r.passed
            totals[r.checkID, default: (0, 0, 0)].failed += r.failed
            totals[r.checkID, default: (0, 0, 0)].waived += r.waived
        }
        return totals
    }

    static func status(
        _ requirement: Requirement, totals: [(passed: Int, failed: Int, waived: Int)], attestation: Attestation?
    ) -> RequirementStatus {
        switch requirement.mode {
        case .notApplicable: return .notApplicable
        case .manual: return attestation.map { $0.satisfied ? .attested : .attestedFailed } ?? .manual
        case .automated:
            if totals.contains(where: { $0.failed > 0 }) { return .failed }
            if totals.contains(where: { $0.waived > 0 }) { return .waived }
            if totals.allSatisfy({ $0.passed == 0 }) { return .noResources }
            return .passed
        }
    }

    static func passRate(_ statuses: [RequirementStatus]) -> Double? {
        let assessed = statuses.filter(\.isAssessed)
        guard !assessed.isEmpty else { return nil }
        return Double(assessed.filter(\.isMet).count) / Double(assessed.count)
    }

    /// Pass rates of the last evaluation cut by account, application or business unit (as the
    /// ownership definitions attribute them), over the given checks (all when nil) and accounts
    /// (all when nil). What no application or unit claims is cut as `ScoreCut.unassigned`.
    public func scores(
        by dimension: ScoreDimension, checks: Set<String>? = nil, accounts scope: Set<String>? = nil, store: any CanopyStore
    ) async throws -> [ScoreCut] {
        guard let latest = try await store.evaluations(limit: 1).first else { return [] }
        let accounts = Dictionary(try await store.accounts().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let ownership = try await store.ownership()
        var cuts: [String: ScoreCut] = [:]
        for r in try await store.checkResults(evaluationID: latest.id)
        where checks?.contains(r.checkID) ?? true && scope?.contains(r.account) ?? true {
            let key: String
            switch dimension {
            case .account: key = r.account
            case .application: key = r.application.isEmpty ? ScoreCut.unassigned : r.application
            case .businessUnit:
                key = ownership.businessUnitID(application: r.application.isEmpty ? nil : r.application, account: accounts[r.account]) ?? ScoreCut.unassigned
            }
            cuts[key, default: ScoreCut(key: key, passed: 0, failed: 0, waived: 0)].passed += r.passed
            cuts[key]!.failed += r.failed
            cuts[key]!.waived += r.waived
        }
        return cuts.values.sorted { $0.key < $1.key }
    }
}

public enum ScoreDimension: String, Sendable, CaseIterable {
    case account, application
    case businessUnit = "business-unit"
}

public enum ComplianceError: Error, CustomStringConvertible, Sendable {
    case unknownFramework(String, known: [String])
    case unknownLevel(String, framework: String, known: [String])
    case unknownCheck(String)
    case noEvaluation
    case noScan

    public var description: String {
        switch self {
        case .unknownFramework(let id, let known): "no framework '\(id)'; known: \(known.joined(separator: ", "))"
        case .unknownLevel(let level, let framework, let known): "framework '\(framework)' has no level '\(level)'; levels: \(known.joined(separator: ", "))"
        case .unknownCheck(let id): "no check '\(id)' (see `canopy policy packs`)"
        case .noEvaluation: "nothing has been evaluated yet: run `canopy scan` or `canopy evaluate`"
        case .noScan: "no completed scan in the database: run `canopy scan` (or `canopy demo`) first"
        }
    }
}

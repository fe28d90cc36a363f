import CanopyCompliance
import CanopyModel
import CanopyStore
import Foundation

/// What pages read again and again, kept until the data behind it changes: the current inventory
/// until another scan is recorded, assessments until another evaluation or audited change
/// (triage, waiver, attestation). Each request pays one cheap version query instead of
/// re-reading and re-decoding every resource.
final class ServerCache: @unchecked Sendable {
    private let lock = NSLock()
    private var inventory: (version: Int64, resources: [Resource])?
    private var assessments: [String: FrameworkAssessment] = [:]
    private var assessmentVersion = ""

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The whole current inventory (callers filter by scope and query).
    func resources(_ store: any CanopyStore) async throws -> [Resource] {
        let version = try await store.scans(limit: 1).first?.id ?? 0
        if let cached = locked({ inventory }), cached.version == version { return cached.resources }
        let resources = try await store.resources(ResourceQuery())
        locked { inventory = (version, resources) }
        return resources
    }

    func assessment(
        _ framework: String, level: String?, scope: AccessScope, dependencies: ServerDependencies
    ) async throws -> FrameworkAssessment {
        try await assessments([framework], level: level, scope: scope, dependencies: dependencies)[0]
    }

    /// Several frameworks' assessments (a page's worth), in order, checking the version once.
    func assessments(
        _ frameworks: [String], level: String?, scope: AccessScope, dependencies: ServerDependencies
    ) async throws -> [FrameworkAssessment] {
        let store = dependencies.store
        let evaluation = try await store.evaluations(limit: 1).first?.id ?? 0
        let audit = try await store.auditLog(limit: 1).first?.id ?? 0
        let version = "\(evaluation)/\(audit)"
        let scopeKey = scope.accountList?.joined(separator: ",") ?? "*"
        var result: [FrameworkAssessment] = []
        for framework in frameworks {
            let key = "\(framework)|\(level ?? "")|\(scopeKey)"
            let cached: FrameworkAssessment? = locked {
                if assessmentVersion != version {
                    assessments = [:]
                    assessmentVersion = version
                }
                return assessments[key]
            }
            if let cached {
                result.append(cached)
                continue
            }
            let fresh = try await dependencies.engine.assess(framework: framework, level: level, store: store, accounts: scope.accounts)
            locked { if assessmentVersion == version { assessments[key] = fresh } }
            result.append(fresh)
        }
        return result
    }
}

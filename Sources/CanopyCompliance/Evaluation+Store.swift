import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

extension ComplianceEngine {
    /// Evaluates the whole-estate snapshot of a completed scan, as of the time the scan finished
    /// (so age and metric windows are those the scan saw), and records the findings.
    @discardableResult
    public func evaluate(scan: Scan, store: any CanopyStore) async throws -> Evaluation {
        let now = scan.finishedAt ?? Date()
        let context = try await EvaluationContext.load(from: store, inventory: store.snapshot(scanID: scan.id), now: now)
        return try await run(store: store, context: context, scanID: scan.id)
    }

    /// Evaluates the latest completed scan.
    @discardableResult
    public func evaluateLatest(store: any CanopyStore) async throws -> Evaluation {
        guard let scan = try await store.scans(limit: 20).first(where: { $0.status == .complete }) else {
            throw ComplianceError.noScan
        }
        return try await evaluate(scan: scan, store: store)
    }
}

extension ComplianceEngine {
    /// After business units, applications or exceptions change, re-evaluates the latest scan so findings and
    /// check results carry the new attribution at once (rather than at the next scan). Nothing
    /// happens on a database that was never evaluated.
    @discardableResult
    public func refresh(store: any CanopyStore) async throws -> Evaluation? {
        guard try await !store.evaluations(limit: 1).isEmpty,
            try await store.scans(limit: 20).contains(where: { $0.status == .complete })
        else { return nil }
        return try await evaluateLatest(store: store)
    }
}

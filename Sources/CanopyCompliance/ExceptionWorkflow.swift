import CanopyModel
import CanopyStore
import Foundation

/// Requesting and deciding exceptions (waivers), with the rules every entry point shares: the
/// check must exist, the reason must say why, the term is bounded, and nobody approves their own
/// request (four eyes). The CLI, the console and the API all come through here.
public enum ExceptionWorkflow {
    public enum Decision: String, Sendable, CaseIterable {
        case approve, reject, revoke
    }

    public static let maximumDays = 3_650

    /// Records a request, or (with `approveAs`) a grant by an approver acting directly.
    public static func request(
        check: String, selector: String, reason: String, days: Int, requester: String, approveAs: String? = nil,
        engine: ComplianceEngine, store: any CanopyStore, now: Date = Date()
    ) async throws -> Waiver {
        guard engine.check(check) != nil else { throw ExceptionError.invalid(field: "check", "no check '\(check)' (see `canopy policy packs`)") }
        guard (1...maximumDays).contains(days) else { throw ExceptionError.invalid(field: "days", "days must be between 1 and \(maximumDays)") }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw ExceptionError.invalid(field: "reason", "the reason must say why the risk is accepted") }
        guard !selector.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ExceptionError.invalid(field: "selector", "the selector is a resource uid, account:<id>, tag:Key=Value or *")
        }
        if let approveAs, approveAs == requester {
            throw ExceptionError.invalid(field: "approver", "the requester cannot approve their own exception (four-eyes rule)")
        }
        let waiver = try await store.save(
            Waiver(
                id: 0, checkID: check, selector: selector, reason: reason, requestedBy: requester, approvedBy: approveAs,
                state: approveAs == nil ? .requested : .approved, createdAt: now, expiresAt: now.addingTimeInterval(Double(days) * 86_400)),
            actor: approveAs ?? requester)
        if waiver.state == .approved { try await engine.refresh(store: store) }
        await engine.notifier?.exceptionChanged(waiver.state == .approved ? .exceptionDecided : .exceptionRequested, waiver)
        return waiver
    }

    /// Approves, rejects or revokes; an approval or revocation takes effect on the findings at once.
    public static func decide(
        id: Int64, _ decision: Decision, actor: String, engine: ComplianceEngine, store: any CanopyStore
    ) async throws -> Waiver {
        guard var waiver = try await store.waivers().first(where: { $0.id == id }) else { throw StoreError.unknownWaiver(id) }
        switch decision {
        case .approve:
            guard waiver.state == .requested else { throw ExceptionError.wrongState(id, waiver.state, expected: .requested) }
            guard actor != waiver.requestedBy else {
                throw ExceptionError.invalid(field: "decision", "the requester cannot approve their own exception (four-eyes rule)")
            }
            waiver.state = .approved
            waiver.approvedBy = actor
        case .reject:
            guard waiver.state == .requested else { throw ExceptionError.wrongState(id, waiver.state, expected: .requested) }
            waiver.state = .rejected
        case .revoke:
            guard waiver.state == .approved else { throw ExceptionError.wrongState(id, waiver.state, expected: .approved) }
            waiver.state = .revoked
        }
        let saved = try await store.save(waiver, actor: actor)
        if decision != .reject { try await engine.refresh(store: store) }
        await engine.notifier?.exceptionChanged(.exceptionDecided, saved)
        return saved
    }
}

public enum ExceptionError: Error, CustomStringConvertible, Sendable {
    case invalid(field: String, String)
    case wrongState(Int64, Waiver.State, expected: Waiver.State)

    public var field: String {
        switch self {
        case .invalid(let field, _): field
        case .wrongState: "decision"
        }
    }

    public var description: String {
        switch self {
        case .invalid(_, let message): message
        case .wrongState(let id, let state, let expected): "exception \(id) is \(state.rawValue), not \(expected.rawValue)"
        }
    }
}

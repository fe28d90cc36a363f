import CanopyModel
import Foundation

/// Told about what an evaluation or a person did that others should hear of (webhooks). Best
/// effort: a notifier never fails the change it reports.
public protocol Notifier: Sendable {
    /// Findings an evaluation opened or reopened.
    func findingsOpened(_ findings: [Finding]) async
    func exceptionChanged(_ event: WebhookEvent, _ waiver: Waiver) async
}

import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

extension EvaluationContext {
    /// The stored inventory (the current state of every resource) and the metric series the
    /// built-in filters use, read once for a whole evaluation.
    public static func load(from store: any CanopyStore, now: Date = Date()) async throws -> EvaluationContext {
        try await load(from: store, inventory: store.resources(ResourceQuery()), now: now)
    }

    /// A context over a given inventory (a past scan's snapshot), with the stored series.
    static func load(from store: any CanopyStore, inventory: [Resource], now: Date) async throws -> EvaluationContext {
        var metrics: [MetricSeries] = []
        for metric in MetricsFilterCatalogue.storedMetrics {
            metrics += try await store.series(metric: metric, since: now.addingTimeInterval(-456 * 86_400))
        }
        return EvaluationContext(now: now, inventory: inventory, metrics: metrics)
    }
}

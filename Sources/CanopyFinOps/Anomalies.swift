import Foundation

/// A day whose cost for one series (a service in an account) broke from its own pattern.
public struct CostAnomaly: Sendable, Codable, Hashable {
    public var day: String
    /// What the series is: e.g. `{"service": "AmazonEC2", "account": "599006413549"}`.
    public var dimensions: [String: String]
    public var expected: Double
    public var actual: Double
    public var impact: Double { actual - expected }
    /// The finer cut that explains most of the increase (a resource, a region…), when known.
    public var explainedBy: [String: String]
    public var explainedImpact: Double?
}

/// Finds anomalies in daily series, aware of weekly seasonality: a day is compared with the
/// median of the same weekday in the four weeks before it (so Mondays meet Mondays), and flagged
/// when it exceeds that by more than `relative` (default 50 %), by more than `minimumImpact` in
/// money, and by more than `deviations` robust deviations (1.4826 × the median absolute
/// deviation of those four days, with a floor of 5 % of the median so a flat series is not
/// infinitely sensitive). Each run of anomalous days is reported day by day.
public struct AnomalyDetector: Sendable {
    public var relative: Double = 0.5
    public var minimumImpact: Double = 5
    public var deviations: Double = 3

    public init(relative: Double = 0.5, minimumImpact: Double = 5, deviations: Double = 3) {
        self.relative = relative
        self.minimumImpact = minimumImpact
        self.deviations = deviations
    }

    /// Indices of anomalous days, with what was expected there.
    public func scan(_ values: [Double]) -> [(index: Int, expected: Double)] {
        var found: [(Int, Double)] = []
        guard values.count > 28 else { return [] }
        for index in 28..<values.count {
            let peers = [7, 14, 21, 28].map { values[index - $0] }
            let median = Self.median(peers)
            let mad = Self.median(peers.map { abs($0 - median) }) * 1.4826
            let spread = max(mad, median * 0.05, 1e-9)
            let actual = values[index]
            if actual > median * (1 + relative), actual - median > minimumImpact, (actual - median) / spread > deviations {
                found.append((index, median))
            }
        }
        return found
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

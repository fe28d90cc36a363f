import Foundation

/// Capped exponential backoff with full jitter, honouring `Retry-After`, under a retry budget.
///
/// The budget is shared by a whole scan: once it is spent, failures surface instead of being
/// retried, so a scan against a struggling endpoint does not turn into a retry storm.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Longest `Retry-After` Canopy will honour; longer hints are capped to it.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 8, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20),
        maxRetryAfter: Duration = .seconds(30)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// Full jitter: a uniformly random wait between zero and the capped exponential step.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration? = nil, random: (Double) -> Double = { Double.random(in: 0...$0) }
    ) -> Duration {
        if let retryAfter { return min(retryAfter, maxRetryAfter) }
        let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
        let cap = Double(maxDelay.components.seconds) + Double(maxDelay.components.attoseconds) / 1e18
        let step = min(cap, base * pow(2, Double(max(0, attempt - 1))))
        return .nanoseconds(Int64(random(step) * 1e9))
    }
}

/// Why a failed call may or may not be worth another try.
public enum FailureClass: Sendable, Equatable {
    case throttled
    case transient
    case permanent

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
        "IDPCommunicationError",
    ]

    public static func classify(_ error: any Error) -> FailureClass {
        switch error {
        case let error as AWSServiceError:
            if error.status == 429 || throttlingCodes.contains(error.code) { return .throttled }
            // moto answers an operation it does not implement with a 500 page: retrying cannot help.
            if error.code == "NotImplemented" { return .permanent }
            if transientCodes.contains(error.code) || error.status >= 500 { return .transient }
            return .permanent
        case is TransportError:
            return .transient
        default:
            return .permanent
        }
    }
}

/// A scan-wide allowance of retries, shared by every concurrent call.
public actor RetryBudget {
    public private(set) var remaining: Int
    public private(set) var throttledRetries = 0
    public private(set) var transientRetries = 0
    public private(set) var refused = 0

    public init(retries: Int = 2_000) {
        remaining = retries
    }

    /// Takes one retry from the budget; `false` when none is left.
    func spend(for failure: FailureClass) -> Bool {
        guard remaining > 0 else {
            refused += 1
            return false
        }
        remaining -= 1
        if failure == .throttled { throttledRetries += 1 } else { transientRetries += 1 }
        return true
    }
}

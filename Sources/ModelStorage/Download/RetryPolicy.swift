import Logging

/// How often and how patiently a request is repeated after a dropped connection or a 5xx.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first one included.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(5)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// Exponential backoff with jitter (between half and all of the doubled delay).
    func backoff(afterAttempt attempt: Int) -> Duration {
        let doubled = initialBackoff * (1 << min(attempt - 1, 16))
        let capped = min(doubled, maxBackoff)
        return capped * Double.random(in: 0.5...1.0)
    }

    /// Runs `body` until it succeeds, fails with an error that is not worth retrying, or the
    /// attempts are spent.
    func run<Result>(
        _ what: @autoclosure () -> String,
        logger: Logger,
        _ body: (_ attempt: Int) async throws(StorageError) -> Result
    ) async throws(StorageError) -> Result {
        var attempt = 1
        while true {
            do throws(StorageError) {
                return try await body(attempt)
            } catch where error.isRetryable && attempt < maxAttempts {
                let delay = backoff(afterAttempt: attempt)
                logger.notice("storage request failed; retrying", metadata: [
                    "request": "\(what())", "attempt": "\(attempt)", "error": "\(error)", "backoff": "\(delay)",
                ])
                try await Self.sleep(delay)
                attempt += 1
            }
        }
    }

    static func sleep(_ delay: Duration) async throws(StorageError) {
        do {
            try await Task.sleep(for: delay)
        } catch {
            throw .cancelledError()
        }
    }
}

import Synchronization

/// How long one model's computations take for their size, learned from those it has run: the
/// smoothed time per byte of input, so that a large batch of a small model is expected to take
/// longer than a single row. ``InferenceThreads`` decides by it where a computation runs.
final class ComputeCost: Sendable {
    /// Smoothed nanoseconds per byte of input (an empty input counts as one byte); nil until the
    /// first computation is measured.
    private let nanosPerByte = Mutex<Double?>(nil)

    /// How long a computation over `inputBytes` is expected to take; nil while nothing is known.
    func expected(inputBytes: Int) -> Duration? {
        guard let rate = nanosPerByte.withLock({ $0 }) else { return nil }
        let nanos = rate * Double(max(inputBytes, 1))
        return nanos < 1e15 ? .nanoseconds(Int64(nanos)) : .seconds(1_000_000)
    }

    /// Runs `body` and learns from how long it took.
    func measuring<Value>(inputBytes: Int, _ body: () throws -> Value) rethrows -> Value {
        let started = ContinuousClock.now
        defer { observe(ContinuousClock.now - started, inputBytes: inputBytes) }
        return try body()
    }

    func observe(_ duration: Duration, inputBytes: Int) {
        let (seconds, attoseconds) = duration.components
        let nanos = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        let rate = nanos / Double(max(inputBytes, 1))
        nanosPerByte.withLock { current in
            // A slower computation counts at once, a faster one gradually: one long run moves
            // the model's next ones off the caller's thread, and it takes several short ones to
            // bring them back.
            guard let known = current, rate < known else { return current = rate }
            current = known + (rate - known) / 8
        }
    }
}

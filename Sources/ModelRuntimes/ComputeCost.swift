import MeshCore
import Synchronization

/// How long one model's computations take, learned from those it has run, for
/// ``InferenceThreads`` to decide where the next one runs: the smoothed time of a computation,
/// and the smoothed time per byte of input, so that a large batch of a small model is expected
/// to take longer than a single row. A computation is expected to take the larger of the two,
/// so a model that computes long whatever its input is never taken for a fast one because its
/// large batches were cheap per byte.
final class ComputeCost: Sendable {
    private struct Estimate {
        var nanos: Double
        var nanosPerByte: Double
    }

    /// Nil until the first computation is measured.
    private let estimate = Mutex<Estimate?>(nil)

    /// How long a computation over `inputBytes` is expected to take; nil while nothing is known.
    func expected(inputBytes: Int) -> Duration? {
        guard let known = estimate.withLock({ $0 }) else { return nil }
        let nanos = max(known.nanos, known.nanosPerByte * Double(max(inputBytes, 1)))
        return nanos < 1e15 ? .nanoseconds(Int64(nanos)) : .seconds(1_000_000)
    }

    /// Runs `body` and learns from how long it took, when it succeeded: a request refused for
    /// bad input is quick, and learning from it would let a client's bad requests bring a long
    /// model's computations back onto the caller's thread.
    func measuring<Value>(inputBytes: Int, _ body: () throws -> Value) rethrows -> Value {
        let started = ContinuousClock.now
        let value = try body()
        observe(ContinuousClock.now - started, inputBytes: inputBytes)
        return value
    }

    func observe(_ duration: Duration, inputBytes: Int) {
        let nanos = duration.seconds * 1e9
        let measured = Estimate(nanos: nanos, nanosPerByte: nanos / Double(max(inputBytes, 1)))
        estimate.withLock { estimate in
            guard let known = estimate else { return estimate = measured }
            estimate = Estimate(nanos: Self.smoothed(known.nanos, measured.nanos),
                                nanosPerByte: Self.smoothed(known.nanosPerByte, measured.nanosPerByte))
        }
    }

    /// A slower measurement counts at once, a faster one gradually: one long run moves the
    /// model's next ones off the caller's thread, and it takes several short ones to bring them
    /// back.
    private static func smoothed(_ known: Double, _ measured: Double) -> Double {
        measured >= known ? measured : known + (measured - known) / 8
    }
}

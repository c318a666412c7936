/// When the requests of an open loop are due: request `i` at `start + i / rate`, fixed in advance
/// so that a slow answer delays no later request.
public struct OpenLoopSchedule: Sendable {
    public let start: ContinuousClock.Instant
    public let interval: Duration
    public let end: ContinuousClock.Instant
    /// How many requests fall inside the run: from the rate itself, not the rounded interval
    /// (3 per second for one second is 3 requests, though 1 s / 333,333,333 ns is a hair over 3).
    public let count: Int

    public init(start: ContinuousClock.Instant, requestsPerSecond: Double, duration: Duration) {
        precondition(requestsPerSecond > 0)
        self.start = start
        self.interval = .nanoseconds(Int64((1e9 / requestsPerSecond).rounded()))
        self.end = start + duration
        self.count = max(1, Int((Double(duration.nanoseconds) / 1e9 * requestsPerSecond - 1e-6).rounded(.up)))
    }

    /// The time request `index` is due.
    public func due(_ index: Int) -> ContinuousClock.Instant {
        start + interval * index
    }

    /// Requests already due at `now` (when the sender fell behind, they go out at once).
    public func dueCount(at now: ContinuousClock.Instant) -> Int {
        guard now >= start else { return 0 }
        return min(count, Int((now - start).nanoseconds / interval.nanoseconds) + 1)
    }
}

extension Duration {
    /// The whole duration in nanoseconds.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    public var secondsDouble: Double { Double(nanoseconds) / 1e9 }
}

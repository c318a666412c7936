/// A smoothed latency and its variation, estimated as TCP estimates round trips for its
/// retransmission timeout (RFC 6298): ``budget(floor:ceiling:)`` is how long an answer that
/// is not unusually slow takes, the smoothed latency plus four times its variation.
public struct LatencyEstimator: Sendable, Hashable {
    public private(set) var smoothed: Duration?
    public private(set) var variation: Duration = .zero

    public init() {}

    public mutating func observe(_ sample: Duration) {
        let sample = max(.zero, sample)
        guard let smoothed else {
            self.smoothed = sample
            variation = sample / 2
            return
        }
        let deviation = smoothed > sample ? smoothed - sample : sample - smoothed
        variation = variation * 0.75 + deviation * 0.25
        self.smoothed = smoothed * 0.875 + sample * 0.125
    }

    /// Smoothed latency plus four variations, within `floor...ceiling`; the ceiling before
    /// any sample.
    public func budget(floor: Duration, ceiling: Duration) -> Duration {
        guard let smoothed else { return ceiling }
        return min(ceiling, max(floor, smoothed + variation * 4))
    }
}

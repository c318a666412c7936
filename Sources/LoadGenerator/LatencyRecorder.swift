import Histogram

/// Latencies in microseconds, in an HdrHistogram (3 significant digits, up to an hour).
public struct LatencyRecorder: Sendable {
    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    public mutating func record(_ latency: Duration) {
        let micros = max(1, latency.nanoseconds / 1000)
        _ = histogram.record(UInt64(min(micros, 3_600_000_000)))
    }

    public mutating func merge(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
    }

    public var count: Int { Int(histogram.totalCount) }

    /// The summary reports use; zeros when nothing was recorded.
    public var summary: LatencySummary {
        guard histogram.totalCount > 0 else { return LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0) }
        return LatencySummary(
            count: Int(histogram.totalCount),
            p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90), p99: histogram.valueAtPercentile(99),
            p999: histogram.valueAtPercentile(99.9), max: histogram.max, mean: histogram.mean
        )
    }
}

/// Percentiles in microseconds. HdrHistogram reports each as the highest value equivalent to it
/// at 3 significant digits, so a figure is at most 0.1% above the recorded value.
public struct LatencySummary: Sendable, Equatable, Codable {
    public var count: Int
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var mean: Double

    public init(count: Int, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, max: UInt64, mean: Double) {
        (self.count, self.p50, self.p90, self.p99, self.p999, self.max, self.mean) = (count, p50, p90, p99, p999, max, mean)
    }
}

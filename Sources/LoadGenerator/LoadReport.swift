import Foundation

/// What a run measured.
public struct LoadReport: Sendable, Codable {
    /// Measured requests (warm-up excluded) and those that failed.
    public var requests: Int
    public var errors: Int
    /// Up to ten distinct error texts with their counts, most frequent first.
    public var errorSamples: [String: Int]
    public var seconds: Double
    /// Successful responses per second over the measured time.
    public var throughput: Double
    /// Latency of successful requests, microseconds.
    public var latency: LatencySummary
    /// With `trackHeader`: each distinct value and the seconds after the start of the run
    /// (warm-up included) at which it was first seen.
    public var firstSeen: [String: Double]

    public init(requests: Int, errors: Int, errorSamples: [String: Int], seconds: Double, latency: LatencySummary, firstSeen: [String: Double] = [:]) {
        self.requests = requests
        self.errors = errors
        self.errorSamples = errorSamples
        self.seconds = seconds
        self.throughput = seconds > 0 ? Double(requests - errors) / seconds : 0
        self.latency = latency
        self.firstSeen = firstSeen
    }

    /// A few human-readable lines.
    public var text: String {
        var lines = [
            String(format: "requests %d, errors %d, %.2f s, throughput %.1f req/s", requests, errors, seconds, throughput),
            String(format: "latency (µs): p50 %d  p90 %d  p99 %d  p99.9 %d  max %d  mean %.1f",
                   latency.p50, latency.p90, latency.p99, latency.p999, latency.max, latency.mean),
        ]
        for (text, count) in errorSamples.sorted(by: { $0.value > $1.value }) { lines.append("  \(count)× \(text)") }
        for (value, seconds) in firstSeen.sorted(by: { $0.value < $1.value }) {
            lines.append(String(format: "  first seen %@ at %.3f s", value, seconds))
        }
        return lines.joined(separator: "\n")
    }
}

/// Request rates per model over a short sliding window, in one-second buckets.
///
/// Memory is bounded by the models used within the window: a model silent for a whole window
/// is forgotten.
public struct RateTracker: Sendable {
    public let window: Int
    private var buckets: [ModelID: Buckets] = [:]

    struct Buckets: Sendable {
        /// Counts by second, newest last; `second` is the epoch second of the last one.
        var counts: [Int]
        var second: Int64
    }

    /// `window`: seconds averaged over.
    public init(window: Int = 5) {
        precondition(window > 0)
        self.window = window
    }

    public mutating func record(_ model: ModelID, count: Int = 1, at now: MeshTime) {
        let second = now.millisecondsSinceEpoch / 1000
        var entry = buckets[model] ?? Buckets(counts: [0], second: second)
        advance(&entry, to: second)
        entry.counts[entry.counts.count - 1] += count
        buckets[model] = entry
    }

    /// Requests per second over the last `window` full seconds plus the current partial one.
    public func rate(of model: ModelID, at now: MeshTime) -> Double {
        guard var entry = buckets[model] else { return 0 }
        let second = now.millisecondsSinceEpoch / 1000
        advance(&entry, to: second)
        let elapsedInCurrent = Double(now.millisecondsSinceEpoch % 1000) / 1000
        let span = Double(entry.counts.count - 1) + elapsedInCurrent
        guard span > 0 else { return 0 }
        return Double(entry.counts.reduce(0, +)) / span
    }

    /// Every model with traffic in the window, busiest first.
    public func rates(at now: MeshTime) -> [(ModelID, Double)] {
        buckets.keys.map { ($0, rate(of: $0, at: now)) }.filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }
    }

    /// Each model's rate with its requests in flight: every model with traffic in the window or
    /// a request in flight now (what a peer reports and its copy scaler reads). Prunes first.
    public mutating func modelRates(inFlight: [ModelID: Int], at now: MeshTime) -> [ModelID: LoadReport.ModelRate] {
        prune(at: now)
        var result: [ModelID: LoadReport.ModelRate] = [:]
        for (model, perSecond) in rates(at: now) {
            result[model] = LoadReport.ModelRate(model: model, perSecond: perSecond, inFlight: inFlight[model] ?? 0)
        }
        for (model, count) in inFlight where result[model] == nil {
            result[model] = LoadReport.ModelRate(model: model, perSecond: 0, inFlight: count)
        }
        return result
    }

    /// Drops models without traffic in the window.
    public mutating func prune(at now: MeshTime) {
        let second = now.millisecondsSinceEpoch / 1000
        buckets = buckets.filter { second - $0.value.second <= Int64(window) }
    }

    private func advance(_ entry: inout Buckets, to second: Int64) {
        guard second > entry.second else { return }
        let gap = Int(min(second - entry.second, Int64(window + 1)))
        entry.counts.append(contentsOf: repeatElement(0, count: gap))
        if entry.counts.count > window + 1 { entry.counts.removeFirst(entry.counts.count - window - 1) }
        entry.second = second
    }
}

/// Evictions of recently used models over the last minute: how often a peer throws out what it
/// will need again soon, and how much more memory would have kept those models (the distinct
/// models evicted, by size). Bounded by what one minute of evictions can hold.
public struct ThrashWindow: Sendable {
    public static let window: Duration = .seconds(60)
    private var events: [(time: MeshTime, model: ModelID, sizeBytes: Int64)] = []

    public init() {}

    mutating func record(_ model: ModelID, sizeBytes: Int64, at now: MeshTime) {
        events.append((now, model, sizeBytes))
        forget(before: now - Self.window)
    }

    /// Evictions in the last minute, and the bytes of the distinct models they evicted.
    public func summary(now: MeshTime) -> (evictions: Int, missingBytes: Int64) {
        let cutoff = now - Self.window
        var sizes: [ModelID: Int64] = [:]
        var count = 0
        for event in events where event.time >= cutoff {
            count += 1
            sizes[event.model] = max(sizes[event.model] ?? 0, event.sizeBytes)
        }
        return (count, sizes.values.reduce(0) { $0.addingSaturating($1) })
    }

    private mutating func forget(before cutoff: MeshTime) {
        if let first = events.firstIndex(where: { $0.time >= cutoff }), first > 0 {
            events.removeFirst(first)
        } else if events.last.map({ $0.time < cutoff }) == true {
            events.removeAll()
        }
    }
}

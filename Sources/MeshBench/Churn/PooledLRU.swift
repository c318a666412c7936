/// The yardstick for a mesh's loads: one least-recently-used cache holding as many models as
/// all the peers' memory together, replaying the requests in the order they were sent. A mesh
/// that loads no more often has lost nothing to splitting its memory over peers.
public struct PooledLRU: Sendable {
    public let capacity: Int
    public private(set) var misses = 0
    public private(set) var requests = 0
    private var lastUse: [String: Int] = [:]

    /// `capacity` models fit (the pooled memory over the model size).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public mutating func request(_ model: String) {
        requests += 1
        if lastUse[model] == nil {
            misses += 1
            if lastUse.count == capacity, let victim = lastUse.min(by: { $0.value < $1.value })?.key {
                lastUse[victim] = nil
            }
        }
        lastUse[model] = requests
    }

    /// Loads per request.
    public var missRatio: Double { requests == 0 ? 0 : Double(misses) / Double(requests) }

    /// Replays `models` in order.
    public static func replay(_ models: some Sequence<String>, capacity: Int) -> PooledLRU {
        var cache = PooledLRU(capacity: capacity)
        for model in models { cache.request(model) }
        return cache
    }
}

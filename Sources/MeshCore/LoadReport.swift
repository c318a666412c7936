/// A peer's current load, gossiped to a few peers every interval and piggybacked on forwarded
/// responses. Small and bounded whatever the number of models.
public struct LoadReport: Codable, Sendable, Hashable {
    public var peer: PeerID
    public var time: MeshTime
    /// Requests being served or waiting for a load right now.
    public var inFlight: Int
    /// Loads queued or running.
    public var loading: Int
    public var usedBytes: Int64
    public var capacityBytes: Int64
    public var modelCount: Int
    /// Last use of the least recently used loaded model (nil: nothing loaded).
    public var lruTime: MeshTime?
    /// Request rates of this peer's busiest models (at most ``maxRates``).
    public var rates: [ModelRate]
    /// Evictions of recently used models in the last minute, when there were any: the working
    /// set does not fit.
    public var thrashEvictionsPerMinute: Int?
    /// The memory that would have kept those models (distinct models evicted, by size).
    public var thrashMissingBytes: Int64?
    /// What evicting this peer's least valuable loaded model would cost (the cost-aware
    /// policy's value: recent uses × load milliseconds ÷ MiB); nil with room or nothing loaded.
    public var evictionValue: Double?
    /// Peers this peer found frozen or unreachable recently (at most ``maxUnreachable``): a hint
    /// for the others to check them, not a verdict.
    public var unreachable: [PeerID]?
    /// Memory used in each runtime pool, by pool name, when the peer has more than one (at most
    /// ``maxPools``): placement needs the free memory of the pool a model would go to.
    public var poolUsedBytes: [String: Int64]?

    public static let maxRates = 16
    public static let maxUnreachable = 16
    public static let maxPools = 16

    public struct ModelRate: Codable, Sendable, Hashable {
        public var model: ModelID
        /// Requests per second served by this peer's copy, over the recent window.
        public var perSecond: Double
        /// Requests for the model in flight on this peer now.
        public var inFlight: Int
        public init(model: ModelID, perSecond: Double, inFlight: Int = 0) {
            self.model = model
            self.perSecond = perSecond
            self.inFlight = inFlight
        }
    }

    public init(peer: PeerID, time: MeshTime, inFlight: Int, loading: Int, usedBytes: Int64, capacityBytes: Int64,
                modelCount: Int, lruTime: MeshTime?, rates: [ModelRate]) {
        self.peer = peer
        self.time = time
        self.inFlight = inFlight
        self.loading = loading
        self.usedBytes = usedBytes
        self.capacityBytes = capacityBytes
        self.modelCount = modelCount
        self.lruTime = lruTime
        // Busiest first; equal rates by model id, so which models make the bounded list never
        // depends on hashing.
        self.rates = Array(rates.sorted { ($1.perSecond, $0.model) < ($0.perSecond, $1.model) }.prefix(LoadReport.maxRates))
    }

    public var freeBytes: Int64 { max(0, capacityBytes.subtractingSaturating(usedBytes)) }

    /// This peer's rate for `model`, if it is among the reported ones.
    public func rate(of model: ModelID) -> ModelRate? {
        rates.first { $0.model == model }
    }

}

extension LoadReport {
    /// Bounds on what a received report may claim. A report outside them is dropped whole: it
    /// comes from a broken or hostile sender, and no part of it can be trusted.
    public enum Limits {
        /// Requests, loads and models on one peer.
        public static let maxCount = 1 << 24
        /// Memory of one peer (64 PiB).
        public static let maxBytes: Int64 = 1 << 56
        public static let maxRequestsPerSecond = 1e9
        /// How far a sender's LRU time may lie from this peer's clock.
        public static let maxClockSkew: Duration = .seconds(366 * 86_400)
    }

    /// A report another peer sent `ageMillis` after making it, dated on this peer's clock; nil
    /// when the age is negative or over `maxAge`, or any number is negative, not finite or
    /// beyond ``Limits``.
    public static func received(_ report: LoadReport, ageMillis: Int64, now: MeshTime, maxAge: Duration) -> LoadReport? {
        let counts = 0...Limits.maxCount
        let bytes = Int64(0)...Limits.maxBytes
        guard (0...maxAge.milliseconds).contains(ageMillis),
              counts.contains(report.inFlight), counts.contains(report.loading), counts.contains(report.modelCount),
              bytes.contains(report.usedBytes), bytes.contains(report.capacityBytes),
              report.rates.count <= maxRates, (report.unreachable?.count ?? 0) <= maxUnreachable,
              (report.poolUsedBytes?.count ?? 0) <= maxPools, report.poolUsedBytes?.values.allSatisfy({ bytes.contains($0) }) ?? true
        else { return nil }
        if let lru = report.lruTime {
            guard lru >= now - Limits.maxClockSkew, lru <= now + Limits.maxClockSkew else { return nil }
        }
        if let evictions = report.thrashEvictionsPerMinute, !counts.contains(evictions) { return nil }
        if let missing = report.thrashMissingBytes, !bytes.contains(missing) { return nil }
        if let value = report.evictionValue, !(value.isFinite && value >= 0) { return nil }
        for rate in report.rates {
            guard rate.perSecond.isFinite, (0...Limits.maxRequestsPerSecond).contains(rate.perSecond),
                  counts.contains(rate.inFlight) else { return nil }
        }
        var dated = report
        dated.time = now - .milliseconds(ageMillis)
        return dated
    }
}

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

    public static let maxRates = 16

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

    public var freeBytes: Int64 { max(0, capacityBytes - usedBytes) }

    /// This peer's rate for `model`, if it is among the reported ones.
    public func rate(of model: ModelID) -> ModelRate? {
        rates.first { $0.model == model }
    }

}

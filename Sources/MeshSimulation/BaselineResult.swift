/// What a baseline cache (or the mesh, summarised the same way) did with a trace.
public struct CacheRunResult: Sendable, Hashable {
    public var tally: HitTally
    public var loads = 0
    public var evictions = 0
    /// Requests that could not be served at all.
    public var failed = 0
    public var samples: [ResidencySample] = []

    public init(tally: HitTally) {
        self.tally = tally
    }
}

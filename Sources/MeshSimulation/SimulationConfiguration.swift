import MeshCore

/// Everything a simulation run is made of: the cluster, the models, the workload, the churn and
/// the mesh's own settings. The defaults are the full-size run of the simulation section of BENCHMARKS.md; the
/// mesh settings default to a peer's own defaults (PeerConfiguration).
public struct SimulationConfiguration: Sendable, Hashable {
    // MARK: Cluster

    public var peers = 500
    /// Memory each peer may fill with models.
    public var peerCapacityBytes: Int64 = 8 << 30
    /// Peers are spread round-robin over this many zones (0: no zone labels).
    public var zones = 3

    // MARK: Models

    public var models = 200_000
    /// Zipf exponent of model popularity (1.0: the classic web-cache skew).
    public var zipfExponent = 1.0
    /// Model sizes are log-normal with this median...
    public var medianModelBytes: Int64 = 256 << 20
    /// ...and this standard deviation of the logarithm, clamped to the bounds below.
    public var modelSizeSpread = 0.8
    public var minModelBytes: Int64 = 16 << 20
    public var maxModelBytes: Int64 = 4 << 30
    /// A load takes `loadBase + size × loadPerGiB`, times a log-normal jitter of this spread.
    public var loadBase: Duration = .milliseconds(500)
    public var loadPerGiB: Duration = .seconds(4)
    public var loadTimeSpread = 0.25
    /// Registrations carry the model's size; without it peers plan with `defaultModelBytes` until
    /// a load measures the size (and may then evict to make up the difference).
    public var sizeHints = true
    public var defaultModelBytes: Int64 = MeshDefaults.defaultModelSizeBytes

    // MARK: Workload

    public var requestsPerSecond = 1000.0
    public var duration: Duration = .seconds(3600)
    /// Time a request occupies its copy once the model is loaded.
    public var inferenceLatency: Duration = .milliseconds(20)
    /// A request waiting for room on a peer fails this long after it arrived.
    public var requestTimeout: Duration = MeshDefaults.requestTimeout
    public var seed: UInt64 = 1

    // MARK: Churn

    /// A random live peer dies (SIGKILL: no goodbye) this often; nil: never.
    public var killEvery: Duration? = .seconds(300)
    /// A fresh peer (new id, empty memory) joins this long after each death; nil: none.
    public var replaceAfter: Duration? = .seconds(30)

    // MARK: Mesh settings

    public var gossipInterval: Duration = MeshDefaults.gossipInterval
    /// Age of a load report when it reaches the other peers.
    public var gossipDelay: Duration = .seconds(1)
    public var scaleInterval: Duration = MeshDefaults.scaleInterval
    public var leaseTTL: Duration = MeshDefaults.leaseTTL
    /// How long a peer that refused a connection stays excluded by the peer that saw it.
    public var quarantine: Duration = MeshDefaults.peerQuarantine
    public var maxAttempts = MeshDefaults.maxAttempts
    public var minChurnAge: Duration = MeshDefaults.minChurnAge
    /// Evictions of models used within the churn guard allowed per second on one peer.
    public var churnLimitPerSecond = MeshDefaults.churnLimitPerSecond
    public var evictionPolicy: LocalCache.Policy = .costAware
    public var maxLoadingConcurrency = MeshDefaults.maxLoadingConcurrency
    public var scaleUpRequestsPerSecond = MeshDefaults.scaleUpRequestsPerSecond
    public var scaleUpInFlight = MeshDefaults.scaleUpInFlight
    public var scaleDownAfter: Duration = MeshDefaults.scaleDownAfter

    // MARK: Report

    /// Memory and copies are sampled this often.
    public var sampleInterval: Duration = .seconds(60)
    /// Hit ratios are also reported for this many equal windows of the trace.
    public var windows = 6

    public init() {}

    /// Gossip older than this is ignored by placement and routing (a peer's default: five
    /// gossip intervals).
    public var reportMaxAge: Duration { gossipInterval * MeshDefaults.reportAgeIntervals }

    public var placementPolicy: PlacementPolicy {
        PlacementPolicy(minChurnAge: minChurnAge, reportMaxAge: reportMaxAge)
    }

    /// The settings of every request's routing (``RequestRoute``), as a peer sets them.
    public var routeSettings: RequestRoute.Settings {
        RequestRoute.Settings(planner: RoutePlanner(placement: placementPolicy), maxAttempts: maxAttempts, defaultModelSizeBytes: defaultModelBytes)
    }

    /// The settings of every peer's copy ledger (``CopyLedger``), as a peer sets them.
    public var ledgerSettings: CopyLedger<Void>.Settings {
        CopyLedger.Settings(
            minChurnAge: minChurnAge, defaultModelSizeBytes: defaultModelBytes, policy: evictionPolicy,
            maxLoadingConcurrency: maxLoadingConcurrency, churnLimitPerSecond: churnLimitPerSecond
        )
    }

    public var scalingPolicy: ScalingPolicy {
        var policy = ScalingPolicy(
            scaleUpRequestsPerSecond: scaleUpRequestsPerSecond, scaleUpInFlight: scaleUpInFlight,
            scaleDownAfter: scaleDownAfter, removalCooldown: min(.seconds(10), scaleDownAfter),
            placement: placementPolicy
        )
        policy.defaultModelSizeBytes = defaultModelBytes
        return policy
    }
}

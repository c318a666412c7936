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
    public var defaultModelBytes: Int64 = 64 << 20

    // MARK: Workload

    public var requestsPerSecond = 1000.0
    public var duration: Duration = .seconds(3600)
    /// Time a request occupies its copy once the model is loaded.
    public var inferenceLatency: Duration = .milliseconds(20)
    public var seed: UInt64 = 1

    // MARK: Churn

    /// A random live peer dies (SIGKILL: no goodbye) this often; nil: never.
    public var killEvery: Duration? = .seconds(300)
    /// A fresh peer (new id, empty memory) joins this long after each death; nil: none.
    public var replaceAfter: Duration? = .seconds(30)

    // MARK: Mesh settings

    public var gossipInterval: Duration = .seconds(1)
    /// Age of a load report when it reaches the other peers.
    public var gossipDelay: Duration = .seconds(1)
    public var scaleInterval: Duration = .seconds(1)
    public var leaseTTL: Duration = .seconds(10)
    /// How long a peer that refused a connection stays excluded by the peer that saw it.
    public var quarantine: Duration = .seconds(15)
    public var maxAttempts = 8
    public var minChurnAge: Duration = .seconds(30)
    public var scaleUpRequestsPerSecond = 30.0
    public var scaleUpInFlight = 8.0
    public var scaleDownAfter: Duration = .seconds(120)

    // MARK: Report

    /// Memory and copies are sampled this often.
    public var sampleInterval: Duration = .seconds(60)
    /// Hit ratios are also reported for this many equal windows of the trace.
    public var windows = 6

    public init() {}

    /// Gossip older than this is ignored by placement and routing (a peer's default: five
    /// gossip intervals).
    public var reportMaxAge: Duration { gossipInterval * 5 }

    public var placementPolicy: PlacementPolicy {
        PlacementPolicy(minChurnAge: minChurnAge, reportMaxAge: reportMaxAge)
    }

    public var routePlanner: RoutePlanner {
        RoutePlanner(placement: placementPolicy, maxLoadFailures: 3)
    }

    public var scalingPolicy: ScalingPolicy {
        ScalingPolicy(
            scaleUpRequestsPerSecond: scaleUpRequestsPerSecond, scaleUpInFlight: scaleUpInFlight,
            scaleDownAfter: scaleDownAfter, removalCooldown: min(.seconds(10), scaleDownAfter),
            placement: placementPolicy
        )
    }
}

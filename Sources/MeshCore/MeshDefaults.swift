/// Every default of the mesh's behaviour, in one place: the peer's settings, MeshCore's policies
/// and the simulator start from these.
public enum MeshDefaults {
    /// A model used more recently than this is not evicted to make room for another.
    public static let minChurnAge: Duration = .seconds(30)
    /// How often load reports are gossiped; reports older than ``reportAgeIntervals`` of these are ignored.
    public static let gossipInterval: Duration = .seconds(1)
    public static let reportAgeIntervals = 5
    public static var reportMaxAge: Duration { gossipInterval * reportAgeIntervals }
    public static let gossipFanout = 3
    /// The size assumed for a model before a load measures it.
    public static let defaultModelSizeBytes: Int64 = 64 << 20
    public static let capacityBytes: Int64 = 1 << 30
    /// Routing decisions per client request before it fails.
    public static let maxAttempts = 8
    /// Unexpired load failures of a model that stop further loads until they expire.
    public static let maxLoadFailures = 3
    public static let failureExpiry: Duration = .seconds(180)
    public static let loadTimeout: Duration = .seconds(120)
    public static let requestTimeout: Duration = .seconds(60)
    public static let leaseTTL: Duration = .seconds(10)
    /// A peer that refused a connection is left out of routing this long (or until it re-registers).
    public static let peerQuarantine: Duration = .seconds(15)
    public static let scaleInterval: Duration = .seconds(1)
    public static let scaleUpRequestsPerSecond: Double = 30
    public static let scaleUpInFlight: Double = 8
    public static let scaleDownAfter: Duration = .seconds(120)
    /// Loads running at once on one peer; more wait in its queue (requests' loads first).
    public static let maxLoadingConcurrency = 4
    /// Evictions of models used within ``minChurnAge`` allowed per second on one peer.
    public static let churnLimitPerSecond: Double = 20
    /// How long a view waits for a revision another peer reported before deciding anyway.
    public static let revisionWait: Duration = .milliseconds(500)
}

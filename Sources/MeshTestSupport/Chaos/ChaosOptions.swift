/// What a chaos run does: the mesh it starts, the workload it drives, the faults it injects.
public struct ChaosOptions: Sendable {
    public var peers = 3
    public var etcdMembers = 1
    public var models = 120
    /// Requests per second offered (open loop).
    public var rate = 100.0
    public var duration: Duration = .seconds(60)
    /// A random peer is killed with SIGKILL this often...
    public var killEvery: Duration = .seconds(10)
    /// ...and started again (same name) after this long.
    public var restartAfter: Duration = .seconds(2)
    /// Also kill (and restart) a random etcd member between peer kills.
    public var killEtcd = false
    /// Each request's deadline; retries of refused connections happen within it.
    public var requestDeadline: Duration = .seconds(10)
    /// Extra flags for every peer.
    public var peerArguments: [String] = ["--lease-ttl", "5s"]
    /// Model load time and inference latency of the synthetic models.
    public var loadMillis = 50
    public var inferMillis = 1

    public init() {}
}

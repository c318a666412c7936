import Foundation

/// What a chaos run does: the mesh it starts, the workload it drives, the faults it injects.
public struct ChaosOptions: Sendable {
    public var peers = 3
    public var etcdMembers = 1
    public var models = 120
    /// Requests per second offered (open loop).
    public var rate = 100.0
    public var duration: Duration = .seconds(60)
    /// A fault starts this often, taking `faults` in turn...
    public var killEvery: Duration = .seconds(10)
    /// ...and ends after this long: a killed process is started again, a frozen one thawed.
    public var restartAfter: Duration = .seconds(2)
    /// The faults injected, in turn (etcd faults need more than one member).
    public var faults: [ChaosFault] = [.kill]
    /// Also kill (and restart) a random etcd member between peer kills.
    public var killEtcd: Bool {
        get { faults.contains(.killEtcd) }
        set { if newValue, !faults.contains(.killEtcd) { faults.append(.killEtcd) } }
    }
    /// Each request's deadline; retries of refused connections happen within it.
    public var requestDeadline: Duration = .seconds(10)
    /// Extra flags for every peer.
    public var peerArguments: [String] = ["--lease-ttl", "5s", "--copy-audit-interval", "2s"]
    /// The peers' lease TTL, as `peerArguments` set it.
    public var leaseTTL: Duration {
        guard let index = peerArguments.firstIndex(of: "--lease-ttl"), index + 1 < peerArguments.count,
              let seconds = Int(peerArguments[index + 1].trimmingCharacters(in: .letters)) else { return .seconds(10) }
        return .seconds(seconds)
    }
    /// Run etcd members and peers each on a host of a ``NetworkLab`` (needs root), which the
    /// `partition` and `loss` faults need.
    public var networkLab = false
    /// The share of a peer's packets the `loss` fault drops, each way.
    public var lossPercent = 10
    /// Model load time and inference latency of the synthetic models.
    public var loadMillis = 50
    public var inferMillis = 1

    public init() {}
}

/// A fault a chaos run injects into one random peer or etcd member.
public enum ChaosFault: String, Sendable, CaseIterable {
    /// SIGKILL a peer, restart it.
    case kill
    /// SIGSTOP a peer (it keeps its sockets and answers nothing), SIGCONT it.
    case freeze
    /// SIGKILL an etcd member, restart it.
    case killEtcd = "kill-etcd"
    /// SIGSTOP an etcd member, SIGCONT it.
    case freezeEtcd = "freeze-etcd"
    /// Cut a peer off from etcd and the other peers (packets dropped), heal (needs the lab).
    case partition
    /// Drop a share of a peer's packets at random, each way, heal (needs the lab).
    case loss

    /// Whether the fault needs the peers on hosts of a ``NetworkLab``.
    public var needsLab: Bool { self == .partition || self == .loss }
    public var onEtcd: Bool { self == .killEtcd || self == .freezeEtcd }

    var describing: String {
        switch self {
        case .kill: return "SIGKILL of a peer, restarted"
        case .freeze: return "SIGSTOP of a peer, SIGCONT"
        case .killEtcd: return "SIGKILL of an etcd member, restarted"
        case .freezeEtcd: return "SIGSTOP of an etcd member, SIGCONT"
        case .partition: return "a peer cut off from etcd and the other peers, healed"
        case .loss: return "a share of a peer's packets dropped each way, healed"
        }
    }
}

import MeshCore

/// How one request through the mesh ended.
public enum RequestOutcome: Int, CaseIterable, Sendable, Hashable {
    /// A loaded copy on the peer the client reached, at the first attempt.
    case localHit
    /// A loaded copy one forward away, at the first attempt.
    case forwardedHit
    /// A loaded copy, but only after a declined hop, a refused connection or a refused load.
    case hitAfterRetries
    /// Waited for a load that something else (another request, the copy scaler) had started.
    case joinedLoad
    /// Its own attempt started the load it then waited for.
    case causedLoad
    case failed

    /// Served by an already-loaded copy at the first peer or after one forward.
    public var isHit: Bool { self == .localHit || self == .forwardedHit }

    public var label: String {
        switch self {
        case .localHit: return "hit on the entry peer"
        case .forwardedHit: return "hit one forward away"
        case .hitAfterRetries: return "hit after a retry"
        case .joinedLoad: return "waited for a load in progress"
        case .causedLoad: return "caused a load"
        case .failed: return "failed"
        }
    }
}

/// Why a request failed in the mesh.
public enum FailureReason: String, CaseIterable, Sendable, Hashable {
    case deadline = "waited for room past the request's deadline"
    case noPeerLeft = "no peer left to try (all excluded or holding it)"
    case tooLarge = "larger than any peer"
    case attemptsExhausted = "attempts exhausted"
    case peerDied = "the peer serving or receiving it died"
    case noPeers = "no live peer"
    case other = "other (labels, load failures)"

    init(_ failure: RoutingFailure) {
        switch failure {
        case .cannotPlace(.noPeerLeft): self = .noPeerLeft
        case .cannotPlace(.tooLarge): self = .tooLarge
        case .cannotPlace(.noPeers): self = .noPeers
        default: self = .other
        }
    }

    init(_ failure: CopyFailure) {
        switch failure {
        case .removed, .shuttingDown: self = .peerDied
        default: self = .other
        }
    }

    /// Whether the request failed for want of memory (rather than a crash).
    public var isCapacity: Bool {
        switch self {
        case .deadline, .noPeerLeft, .tooLarge, .attemptsExhausted: return true
        case .peerDied, .noPeers, .other: return false
        }
    }
}

/// A forward to a peer that was dead at the time (a refused connection in a real mesh).
public struct DeadPeerForward: Sendable, Hashable {
    public var time: Int64
    public var request: Int32
    public var entry: PeerID
    public var target: PeerID
}

/// A peer's death or arrival, with its time.
public struct MembershipRecord: Sendable, Hashable {
    public var time: Int64
    public var peer: PeerID
    public var joined: Bool
}

/// Everything the mesh simulation counts.
public struct MeshStatistics: Sendable, Hashable {
    public var outcomes: [Int] = Array(repeating: 0, count: RequestOutcome.allCases.count)
    public var failures: [FailureReason: Int] = [:]
    public var tally: HitTally
    /// Loads started for requests, and for the copy scaler.
    public var requestLoads = 0
    public var scalerLoads = 0
    /// Copies dropped by LRU to make room, and after a load measured more than estimated.
    public var evictions = 0
    public var resizeEvictions = 0
    /// Copies removed by idle scale-down.
    public var scaleDownRemovals = 0
    /// Copies that vanished with a dead peer's lease.
    public var copiesLostWithPeers = 0
    /// Loads that waited: making room would evict models used within the churn guard faster than
    /// its limit, or not enough memory was evictable (loading or in use).
    public var refusedByChurnGuard = 0
    public var refusedForRoom = 0
    /// Time requests spent waiting for room, in all.
    public var roomWaitMillis: Int64 = 0
    /// Failed requests per window of the trace.
    public var windowFailures: [Int]
    public var deadPeerForwards: [DeadPeerForward] = []
    public var membership: [MembershipRecord] = []
    public var samples: [ResidencySample] = []
    /// Routing decisions taken (every attempt and every hop).
    public var decisions = 0

    init(windows: Int, bands: Int) {
        tally = HitTally(windows: windows, bands: bands)
        windowFailures = Array(repeating: 0, count: windows)
    }

    public var requests: Int { outcomes.reduce(0, +) }
    public func count(_ outcome: RequestOutcome) -> Int { outcomes[outcome.rawValue] }
    public var loads: Int { requestLoads + scalerLoads }
    public var capacityFailures: Int { failures.filter { $0.key.isCapacity }.values.reduce(0, +) }
}

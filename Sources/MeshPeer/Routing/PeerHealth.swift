import MeshCore
import Synchronization

/// Peers this peer could not reach recently. A refused connection excludes a peer from routing
/// at once, long before its lease expires; the mark lifts after a while, or as soon as the peer
/// re-registers (a restarted process writes a new record).
public final class PeerHealth: Sendable {
    private let marks = Mutex<[PeerID: ContinuousClock.Instant]>([:])
    private let outstandingRequests = Mutex<[PeerID: Int]>([:])
    let quarantine: Duration

    public init(quarantine: Duration = .seconds(15)) {
        self.quarantine = quarantine
    }

    public func markUnreachable(_ peer: PeerID) {
        marks.withLock { $0[peer] = .now + quarantine }
    }

    public func clear(_ peer: PeerID) {
        _ = marks.withLock { $0.removeValue(forKey: peer) }
    }

    /// Peers currently marked unreachable.
    public var unreachable: Set<PeerID> {
        let now = ContinuousClock.now
        return marks.withLock { marks in
            marks = marks.filter { $0.value > now }
            return Set(marks.keys)
        }
    }

    /// Counts requests this peer has outstanding at `peer` while `body` runs.
    public func trackOutstanding<T>(at peer: PeerID, _ body: () async throws -> T) async rethrows -> T {
        outstandingRequests.withLock { $0[peer, default: 0] += 1 }
        defer { outstandingRequests.withLock { $0[peer, default: 1] -= 1 } }
        return try await body()
    }

    public var outstanding: [PeerID: Int] { outstandingRequests.withLock { $0 } }
}

import MeshCore
import Synchronization

/// Peers this peer could not reach recently. A refused connection excludes a peer from routing
/// at once, long before its lease expires; the mark lifts after a while, or as soon as the peer
/// re-registers (a restarted process writes a new record).
public final class PeerHealth: Sendable {
    private let marks = Mutex<[PeerID: MeshTime]>([:])
    private let outstandingRequests = Mutex<[PeerID: Int]>([:])
    let quarantine: Duration

    public init(quarantine: Duration = MeshDefaults.peerQuarantine) {
        self.quarantine = quarantine
    }

    public func markUnreachable(_ peer: PeerID, now: MeshTime) {
        marks.withLock { $0[peer] = now + quarantine }
    }

    public func clear(_ peer: PeerID) {
        _ = marks.withLock { $0.removeValue(forKey: peer) }
    }

    /// Peers marked unreachable at `now` (marks that ran out are forgotten).
    public func unreachable(at now: MeshTime) -> Set<PeerID> {
        marks.withLock { marks in
            guard !marks.isEmpty else { return [] }
            marks = marks.filter { $0.value > now }
            return Set(marks.keys)
        }
    }

    /// Counts requests this peer has outstanding at `peer` while `body` runs.
    public func trackOutstanding<T>(at peer: PeerID, _ body: () async throws -> T) async rethrows -> T {
        beginOutstanding(at: peer)
        defer { endOutstanding(at: peer) }
        return try await body()
    }

    /// Counts one more request outstanding at `peer`, until ``endOutstanding(at:)``.
    func beginOutstanding(at peer: PeerID) {
        outstandingRequests.withLock { $0[peer, default: 0] += 1 }
    }

    func endOutstanding(at peer: PeerID) {
        outstandingRequests.withLock { counts in
            let remaining = (counts[peer] ?? 1) - 1
            counts[peer] = remaining > 0 ? remaining : nil
        }
    }

    public var outstanding: [PeerID: Int] { outstandingRequests.withLock { $0 } }
}

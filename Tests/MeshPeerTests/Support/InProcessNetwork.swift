import MeshCore
@testable import MeshPeer
import ModelRuntimes
import Synchronization

/// Peers reachable in process: a hop calls the target peer's router directly. Peers can be
/// taken down (their connections are refused), and every hop is recorded.
final class InProcessNetwork: Sendable {
    struct Hop: Sendable, Equatable {
        var from: PeerID
        var to: PeerID
        var kind: MeshCore.Hop
    }

    private let state = Mutex<(peers: [PeerID: ShellPeer], down: Set<PeerID>, hops: [Hop])>(([:], [], []))

    func add(_ peer: ShellPeer) { state.withLock { $0.peers[peer.id] = peer } }
    func takeDown(_ peer: PeerID) { state.withLock { _ = $0.down.insert(peer) } }
    var hops: [Hop] { state.withLock { $0.hops } }

    /// A call entering the mesh at `peer`.
    func call(at peer: PeerID) -> InProcessCall { InProcessCall(me: peer, network: self) }

    fileprivate func target(_ peer: PeerID, from: PeerID, kind: MeshCore.Hop) -> ShellPeer? {
        state.withLock { state in
            state.hops.append(Hop(from: from, to: peer, kind: kind))
            return state.down.contains(peer) ? nil : state.peers[peer]
        }
    }
}

/// A request that answers with the id of the peer that served it.
struct InProcessCall: RoutedCall {
    let me: PeerID
    let network: InProcessNetwork

    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> String { me.rawValue }

    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<String> {
        guard let target = network.target(peer, from: me, kind: hop) else {
            throw PeerUnreachable(peer: peer, reason: "connection refused", refused: true)
        }
        do {
            return .served(try await target.router.route(network.call(at: peer), model: modelID, hop: hop, excluded: excluded, deadline: deadline))
        } catch let error as MeshError {
            guard let decline = error.decline else { throw error }
            return .declined(decline, message: error.message)
        }
    }
}

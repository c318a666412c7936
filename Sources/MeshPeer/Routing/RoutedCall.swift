import MeshCore
import ModelRuntimes

/// One client call the router can serve locally or send to another peer, whatever protocol it
/// arrived in (REST or gRPC). Forwarding relays the call's bytes; only local serving decodes.
public protocol RoutedCall: Sendable {
    associatedtype Reply: Sendable
    /// Serves the call from a copy loaded on this peer.
    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> Reply
    /// Sends the call to `peer` as a hop. Throws ``PeerUnreachable`` when the peer could not be
    /// reached; answers from the peer, including errors of the model, come back as the result.
    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID,
                 excluded: Set<PeerID>, deadline: ContinuousClock.Instant) async throws -> HopResult<Reply>
    /// What a peer's answer to a load-local hop of a copy addition means (default: the copy is
    /// there).
    func addedCopy(_ reply: Reply, by peer: PeerID) -> RequestRoute.Outcome
}

extension RoutedCall {
    public func addedCopy(_ reply: Reply, by peer: PeerID) -> RequestRoute.Outcome { .copyAdded(peer) }
}

public enum HopResult<Reply: Sendable>: Sendable {
    case served(Reply)
    /// The peer did not serve (see ``HopDecline``); try elsewhere.
    case declined(HopDecline, message: String)
}

/// A peer that could not be reached.
public struct PeerUnreachable: Error, Sendable, CustomStringConvertible {
    public var peer: PeerID
    public var reason: String
    /// The connection was refused or never established: the peer is likely gone.
    public var refused: Bool

    public init(peer: PeerID, reason: String, refused: Bool) {
        self.peer = peer
        self.reason = reason
        self.refused = refused
    }

    public var description: String { "peer \(peer) is not reachable (\(reason))" }
}

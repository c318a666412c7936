import MeshCore
import ModelRuntimes

/// One client call the router can serve locally or send to another peer, whatever protocol it
/// arrived in (REST or gRPC). Forwarding relays the call's bytes; only local serving decodes.
public protocol RoutedCall: Sendable {
    associatedtype Reply: Sendable
    /// Serves the call from a copy loaded on this peer.
    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> Reply
    /// Sends the call to `peer` as a hop. Throws ``PeerUnreachable`` when the peer could not be
    /// reached, or stopped answering `liveness`'s probe while the hop waited (refused, may have
    /// run); answers from the peer, including errors of the model, come back as the result.
    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<Reply>
    /// What a peer's answer to a load-local hop of a copy addition means (default: the copy is
    /// there).
    func addedCopy(_ reply: Reply, by peer: PeerID) -> RequestRoute.Outcome
    /// The client asked that the call run at most once (``MeshHeaders/atMostOnce``): a hop
    /// that may have reached its peer is not retried elsewhere (default: false, inference is
    /// taken to be idempotent, as ModelMesh does).
    var atMostOnce: Bool { get }
}

extension RoutedCall {
    public func addedCopy(_ reply: Reply, by peer: PeerID) -> RequestRoute.Outcome { .copyAdded(peer) }
    public var atMostOnce: Bool { false }
}

extension MeshHeaders {
    /// Whether a client's ``atMostOnce`` header value asks for it.
    static func asksAtMostOnce(_ value: String?) -> Bool {
        guard let value else { return false }
        return ["true", "1", "yes"].contains(value.lowercased())
    }
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
    /// The peer is likely gone or frozen (the connection was refused or never established, or
    /// it stopped answering probes): it is skipped for a while.
    public var refused: Bool
    /// The request may have reached the peer, which may run it (or have run it).
    public var mayHaveRun: Bool

    public init(peer: PeerID, reason: String, refused: Bool, mayHaveRun: Bool? = nil) {
        self.peer = peer
        self.reason = reason
        self.refused = refused
        self.mayHaveRun = mayHaveRun ?? !refused
    }

    public var description: String { "peer \(peer) is not reachable (\(reason))" }
}

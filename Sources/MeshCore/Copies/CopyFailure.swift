/// Why this peer could not serve or load a model itself. The request machine reacts by trying
/// elsewhere (a client request) or declining (a hop); none of these reaches a client as is.
public enum CopyFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// No copy here.
    case notHere(ModelID)
    /// The load failed (the failure record says the same).
    case loadFailed(ModelID, message: String)
    /// This peer will not take the model: no runtime for its type, larger than the peer, ...
    case refused(ModelID, reason: String)
    /// Another peer claimed a copy first; the mirror will show it at `revision`.
    case lostRace(ModelID, holders: [PeerID], revision: Int64)
    /// The model was unregistered meanwhile.
    case unregistered(ModelID)
    /// The copy was removed (evicted, unloaded) while a request waited for it.
    case removed(ModelID)
    /// The peer is shutting down and takes no new loads.
    case shuttingDown

    public var description: String {
        switch self {
        case .notHere(let model): return "\(model) is not loaded on this peer"
        case .loadFailed(let model, let message): return "loading \(model) failed: \(message)"
        case .refused(let model, let reason): return "this peer cannot load \(model): \(reason)"
        case .lostRace(let model, let holders, _):
            return "\(model) is already being loaded on \(holders.map(\.rawValue).sorted().joined(separator: ", "))"
        case .unregistered(let model): return "\(model) was unregistered"
        case .removed(let model): return "\(model) was unloaded from this peer"
        case .shuttingDown: return "this peer is shutting down"
        }
    }

    /// How a hop that failed this way is declined to its sender.
    public var declineOutcome: HopDecline.Outcome {
        switch self {
        case .notHere, .removed, .lostRace: return .notHere
        case .loadFailed: return .loadFailed
        case .refused, .unregistered, .shuttingDown: return .unavailable
        }
    }
}

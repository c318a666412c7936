import MeshCore

/// Why this peer could not serve or load a model itself; the router reacts by trying elsewhere.
public enum LocalError: Error, Sendable, CustomStringConvertible {
    /// No copy here.
    case notHere(ModelID)
    /// The load failed (the failure record says the same).
    case loadFailed(ModelID, message: String)
    /// This peer will not take the model: too large, full of recently used models, ...
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
        case .lostRace(let model, let holders, _): return "\(model) is already being loaded on \(holders.map(\.rawValue).joined(separator: ", "))"
        case .unregistered(let model): return "\(model) was unregistered"
        case .removed(let model): return "\(model) was unloaded from this peer"
        case .shuttingDown: return "this peer is shutting down"
        }
    }
}

/// Where each record lives in etcd, under the cluster's prefix (`/mm/<cluster>` by default).
public struct KeyLayout: Sendable, Hashable {
    /// Without a trailing slash.
    public let prefix: String

    public init(prefix: String) {
        var prefix = prefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.prefix = prefix
    }

    public init(clusterName: String) { self.init(prefix: "/mm/\(clusterName)") }

    public var root: String { prefix + "/" }
    public var peers: String { prefix + "/peers/" }
    public var models: String { prefix + "/models/" }
    public var copies: String { prefix + "/copies/" }
    public var failures: String { prefix + "/failures/" }
    public var vmodels: String { prefix + "/vmodels/" }
    /// Index of models with `minCopies > 0`, so peers find them without scanning the registry.
    public var pinned: String { prefix + "/pinned/" }
    /// The last copy-scaling decision per model, bound to the deciding peer's lease.
    public var decisions: String { prefix + "/decisions/" }
    /// Index of vmodels in transition (value: the target), so the peer that re-drives them finds
    /// them without scanning every vmodel.
    public var transitions: String { prefix + "/transitions/" }

    public func peer(_ id: PeerID) -> String { peers + id.rawValue }
    public func model(_ id: ModelID) -> String { models + id.rawValue }
    public func copies(of model: ModelID) -> String { copies + model.rawValue + "/" }
    public func copy(_ model: ModelID, on peer: PeerID) -> String { copies(of: model) + peer.rawValue }
    public func failures(of model: ModelID) -> String { failures + model.rawValue + "/" }
    public func failure(_ model: ModelID, on peer: PeerID) -> String { failures(of: model) + peer.rawValue }
    public func vmodel(_ id: ModelID) -> String { vmodels + id.rawValue }
    public func pinned(_ model: ModelID) -> String { pinned + model.rawValue }
    public func decision(_ model: ModelID) -> String { decisions + model.rawValue }
    public func transition(_ vmodel: ModelID) -> String { transitions + vmodel.rawValue }

    /// What a key under the prefix refers to.
    public enum Entry: Hashable, Sendable {
        case peer(PeerID)
        case model(ModelID)
        case copy(ModelID, PeerID)
        case failure(ModelID, PeerID)
        case vmodel(ModelID)
        case pinned(ModelID)
        case decision(ModelID)
        case transition(ModelID)
    }

    /// Classifies a key; nil for keys this layout does not know (left alone).
    public func entry(forKey key: String) -> Entry? {
        guard key.hasPrefix(root) else { return nil }
        let parts = key.dropFirst(root.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        func modelID(_ part: Substring) -> ModelID? { try? ModelID(String(part)) }
        func peerID(_ part: Substring) -> PeerID? { try? PeerID(String(part)) }
        switch (parts[0], parts.count) {
        case ("peers", 2): return peerID(parts[1]).map(Entry.peer)
        case ("models", 2): return modelID(parts[1]).map(Entry.model)
        case ("vmodels", 2): return modelID(parts[1]).map(Entry.vmodel)
        case ("pinned", 2): return modelID(parts[1]).map(Entry.pinned)
        case ("decisions", 2): return modelID(parts[1]).map(Entry.decision)
        case ("transitions", 2): return modelID(parts[1]).map(Entry.transition)
        case ("copies", 3):
            guard let model = modelID(parts[1]), let peer = peerID(parts[2]) else { return nil }
            return .copy(model, peer)
        case ("failures", 3):
            guard let model = modelID(parts[1]), let peer = peerID(parts[2]) else { return nil }
            return .failure(model, peer)
        default: return nil
        }
    }
}

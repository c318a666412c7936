/// How a request reached this peer, carried between peers in the `mm-hop` header.
public enum Hop: String, Sendable, Hashable {
    /// From a client: may be served here, forwarded to a holder, or cause a load anywhere.
    case external
    /// From a peer that believes this one holds the model: serve it or answer "not here".
    case hitOnly = "hit-only"
    /// From a peer that chose this one to load the model: serve it, loading it here if needed.
    case loadLocal = "load-local"
}

/// What to do with one attempt at a request.
public enum RouteDecision: Sendable, Hashable {
    /// A copy is here (loaded, or loading: wait for it).
    case serveLocally
    /// Send it on; the receiver never forwards again, so a request makes at most two hops.
    case forward(to: PeerID, hop: Hop)
    /// Claim a copy here, load it, then serve.
    case loadLocally
    /// Answer a hit-only hop that finds no copy here.
    case notHere
    case fail(RoutingFailure)
}

public enum RoutingFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Loads failed on several peers recently; the failure records say why.
    case loadFailed(model: ModelID, message: String, failures: Int)
    case cannotPlace(PlacementRefusal)

    public var description: String {
        switch self {
        case .loadFailed(let model, let message, let failures):
            return "\(model) failed to load on \(failures) peer\(failures == 1 ? "" : "s") recently: \(message)"
        case .cannotPlace(let refusal):
            return refusal.description
        }
    }
}

/// The routing loop's decision for one attempt, as a pure function of the request, this peer's
/// own state and the cluster view.
public struct RoutePlanner: Sendable {
    public var placement: PlacementPolicy
    /// This many unexpired failure records stop further load attempts until they expire.
    public var maxLoadFailures: Int

    public init(placement: PlacementPolicy = PlacementPolicy(), maxLoadFailures: Int = MeshDefaults.maxLoadFailures) {
        self.placement = placement
        self.maxLoadFailures = maxLoadFailures
    }

    public struct Request: Sendable {
        public var model: ModelID
        public var record: ModelRecord
        public var hop: Hop
        /// Peers tried already in this request, or known unreachable.
        public var excluded: Set<PeerID>
        /// Expected memory size, for placement.
        public var sizeBytes: Int64

        public init(model: ModelID, record: ModelRecord, hop: Hop, excluded: Set<PeerID> = [], sizeBytes: Int64) {
            self.model = model
            self.record = record
            self.hop = hop
            self.excluded = excluded
            self.sizeBytes = sizeBytes
        }
    }

    /// This peer's side of the decision.
    public struct Local: Sendable {
        public var peer: PeerID
        /// The state of this peer's copy of the model, if it has one.
        public var copy: LocalCache.State?
        /// Requests in flight on this peer now (all models).
        public var inFlight: Int
        /// Requests this peer has outstanding at each other peer now.
        public var outstanding: [PeerID: Int]

        public init(peer: PeerID, copy: LocalCache.State?, inFlight: Int = 0, outstanding: [PeerID: Int] = [:]) {
            self.peer = peer
            self.copy = copy
            self.inFlight = inFlight
            self.outstanding = outstanding
        }
    }

    public func decide(
        _ request: Request, local: Local, view: ClusterView, now: MeshTime,
        using random: inout some RandomNumberGenerator
    ) -> RouteDecision {
        switch request.hop {
        case .hitOnly:
            return local.copy == nil ? .notHere : .serveLocally
        case .loadLocal:
            return local.copy == nil ? .loadLocally : .serveLocally
        case .external:
            break
        }
        // One pass over the other usable copies, building nothing when there are none (a local
        // hit with no other copy allocates nothing here).
        var remoteLoaded: [PeerID] = []
        var earliestLoading: (since: MeshTime, peer: PeerID)?
        for (peer, copy) in view.copies(of: request.model) where peer != local.peer && view.peers[peer] != nil && !request.excluded.contains(peer) {
            if copy.state == .loaded {
                remoteLoaded.append(peer)
            } else if earliestLoading.map({ (copy.since, peer) < ($0.since, $0.peer) }) ?? true {
                earliestLoading = (copy.since, peer)
            }
        }
        // Copies on peers that are leaving serve only when there is nothing else. Sorted, so that
        // the random choice below depends on the generator alone, not on how the dictionary
        // happens to be laid out (a seeded generator then replays a decision exactly).
        if remoteLoaded.count > 1 { remoteLoaded.sort() }
        if remoteLoaded.contains(where: { view.peers[$0]?.shuttingDown == true }) {
            let staying = remoteLoaded.filter { view.peers[$0]?.shuttingDown == false }
            if !staying.isEmpty { remoteLoaded = staying }
        }

        if let copy = local.copy, !request.excluded.contains(local.peer) {
            // Loaded here: serve unless a loaded remote copy is clearly less busy.
            // Loading here: wait for it, unless another copy is already loaded.
            guard let best = pickLeastLoaded(remoteLoaded, local: local, view: view, now: now, using: &random) else {
                return .serveLocally
            }
            if copy == .loading { return .forward(to: best, hop: .hitOnly) }
            return local.inFlight <= load(of: best, local: local, view: view, now: now) ? .serveLocally : .forward(to: best, hop: .hitOnly)
        }
        if let best = pickLeastLoaded(remoteLoaded, local: local, view: view, now: now, using: &random) {
            return .forward(to: best, hop: .hitOnly)
        }
        // Only loading copies: join the one that started first.
        if let earliest = earliestLoading {
            return .forward(to: earliest.peer, hop: .hitOnly)
        }
        return miss(request, local: local, view: view, now: now)
    }

    /// No usable copy: choose where to load one, or give up with the reason.
    func miss(_ request: Request, local: Local, view: ClusterView, now: MeshTime) -> RouteDecision {
        let failures = view.failures(of: request.model)
        if failures.count >= maxLoadFailures, let last = failures.values.max(by: { $0.time < $1.time }) {
            return .fail(.loadFailed(model: request.model, message: last.message, failures: failures.count))
        }
        // The view may still show a copy here that just failed or left: this peer knows better.
        let stale = local.copy == nil && view.copies(of: request.model)[local.peer] != nil ? local.peer : nil
        switch placement.choose(
            for: request.model, record: request.record, sizeBytes: request.sizeBytes, view: view,
            excluded: request.excluded, now: now, staleHolder: stale
        ) {
        case .peer(let peer):
            return peer == local.peer ? .loadLocally : .forward(to: peer, hop: .loadLocal)
        case .none(.allFailed(let model, let message)):
            return .fail(.loadFailed(model: model, message: message, failures: failures.count))
        case .none(let refusal):
            return .fail(.cannotPlace(refusal))
        }
    }

    /// Power of two choices: sample two holders, keep the less loaded.
    func pickLeastLoaded(
        _ peers: [PeerID], local: Local, view: ClusterView, now: MeshTime,
        using random: inout some RandomNumberGenerator
    ) -> PeerID? {
        switch peers.count {
        case 0: return nil
        case 1: return peers[0]
        default:
            let first = Int.random(in: 0..<peers.count, using: &random)
            var second = Int.random(in: 0..<(peers.count - 1), using: &random)
            if second >= first { second += 1 }
            let a = peers[first], b = peers[second]
            return load(of: a, local: local, view: view, now: now) <= load(of: b, local: local, view: view, now: now) ? a : b
        }
    }

    /// A peer's load as seen from here: its gossiped in-flight count, or, when that is stale,
    /// what this peer alone has outstanding there; whichever is larger.
    func load(of peer: PeerID, local: Local, view: ClusterView, now: MeshTime) -> Int {
        let gossiped = view.report(for: peer, now: now, maxAge: placement.reportMaxAge)?.inFlight ?? 0
        return max(gossiped, local.outstanding[peer] ?? 0)
    }
}

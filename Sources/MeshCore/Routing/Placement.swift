/// Chooses the peer that should load a new copy of a model.
///
/// Eligible peers are live, not shutting down, not excluded by the request, not holding the model
/// already, without a recent load failure for it, carrying the model's labels, running its
/// format in a ready runtime pool, and with a pool big enough for it (a peer's free memory is its
/// pool's). Among them, in order: peers with room before full ones; peers in a zone that has no copy
/// yet; then, with room, fewest models and most free memory. When every candidate is full: the
/// model's two homes first (the first two full peers by the model's rendezvous hash among those
/// with the cost-aware policy, the one whose cheapest copy is worth less first), so a model's
/// misses always compete on the same peers, which keep its use count; then peers with the oldest
/// least recently used model. Full peers whose LRU model is within one churn-guard age of the
/// oldest count as equally good: otherwise every miss in a gossip interval would go to the one
/// peer with the oldest model (a herd the simulator showed refusing a fifth of requests).
/// Peers much busier (gossiped in-flight requests) than the calmest candidate come after the rest.
/// Remaining ties go to a per-model rendezvous hash, so peers deciding independently agree.
public struct PlacementPolicy: Sendable {
    public var minChurnAge: Duration
    /// Gossip older than this is ignored.
    public var reportMaxAge: Duration

    public init(minChurnAge: Duration = MeshDefaults.minChurnAge, reportMaxAge: Duration = MeshDefaults.reportMaxAge) {
        self.minChurnAge = minChurnAge
        self.reportMaxAge = reportMaxAge
    }

    /// `staleHolder`: a peer the view shows holding the model although it knows it does not
    /// (its copy just failed or left, and the record's deletion is on its way); it may be chosen.
    public func choose(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView,
        excluded: Set<PeerID>, now: MeshTime, staleHolder: PeerID? = nil
    ) -> Placement {
        // Routing needs only the best peer: a linear scan instead of sorting every candidate, as
        // this runs on every miss over every peer. The same order as `rank`.
        switch candidates(for: model, record: record, sizeBytes: sizeBytes, view: view, excluded: excluded, now: now, staleHolder: staleHolder) {
        case .success(let candidates): return .peer(candidates.min(by: Candidate.isBetter)!.peer)
        case .failure(let refusal): return .none(refusal)
        }
    }

    /// Every eligible peer, best first, or why there is none.
    public func rank(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView,
        excluded: Set<PeerID>, now: MeshTime
    ) -> Result<[PeerID], PlacementRefusal> {
        candidates(for: model, record: record, sizeBytes: sizeBytes, view: view, excluded: excluded, now: now)
            .map { $0.sorted(by: Candidate.isBetter).map(\.peer) }
    }

    /// Every eligible peer, unordered and marked busy or not, or why there is none.
    func candidates(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView,
        excluded: Set<PeerID>, now: MeshTime, staleHolder: PeerID? = nil
    ) -> Result<[Candidate], PlacementRefusal> {
        guard !view.peers.isEmpty else { return .failure(.noPeers) }
        var holders = view.copies(of: model)
        if let staleHolder { holders[staleHolder] = nil }
        let failed = view.failures(of: model)
        let labels = Set(record.labels)
        let zonesWithCopies = Set(holders.keys.compactMap { view.peers[$0]?.zone })
        let modelHash = StableHash.of(model.rawValue)
        let format = ModelFormat(record.type)
        // One pass over the peers (this runs on every miss): each filter below counts the peers
        // that pass it, so that an empty stage names the same refusal as filtering stage by stage.
        var available = 0, labelled = 0, running = 0, roomy = 0, healthy = 0
        var poolsDown = false
        var largestCapacity: Int64 = 0
        // Gathered in the same pass, for the marks below.
        var calmest = Int.max
        var oldestLRU: MeshTime?
        var candidates: [Candidate] = []
        candidates.reserveCapacity(view.peers.count)
        for (peer, peerRecord) in view.peers {
            // (Empty sets are checked first: most misses have no exclusions, holders, failures or
            // labels, and a lookup hashes the peer id even in an empty set.)
            guard !peerRecord.shuttingDown, excluded.isEmpty || !excluded.contains(peer),
                  holders.isEmpty || holders[peer] == nil else { continue }
            available += 1
            guard labels.isEmpty || labels.isSubset(of: peerRecord.labels) else { continue }
            labelled += 1
            // The pool the copy would go to, when the peer has several (one pool, or none
            // published by an older peer: the whole peer).
            var pool: RuntimePool?
            var capacity = peerRecord.capacityBytes
            if let pools = peerRecord.pools {
                switch peerRecord.pool(for: format) {
                case .pool(let match):
                    capacity = match.capacityBytes
                    if pools.count > 1 { pool = match }
                case .notReady: poolsDown = true; continue
                case .none: continue
                }
            }
            running += 1
            largestCapacity = max(largestCapacity, capacity)
            guard capacity >= sizeBytes else { continue }
            roomy += 1
            guard failed.isEmpty || failed[peer] == nil else { continue }
            healthy += 1
            let report = view.report(for: peer, now: now, maxAge: reportMaxAge)
            let holding = view.holdings(of: peer)
            // With one pool everything the peer holds is in it; with several, the pool's own use
            // as the peer last gossiped it.
            let used = pool.map { report?.poolUsedBytes?[$0.name] ?? 0 } ?? max(holding.bytes, report?.usedBytes ?? 0)
            let free = capacity.subtractingSaturating(used)
            let lru = report?.lruTime
            let full = free < sizeBytes
            let inFlight = (report?.inFlight ?? 0).addingSaturating(report?.loading ?? 0)
            calmest = min(calmest, inFlight)
            if full, let lru, oldestLRU.map({ lru < $0 }) ?? true { oldestLRU = lru }
            candidates.append(Candidate(
                peer: peer, full: full, inFlight: inFlight,
                sameZone: !zonesWithCopies.isEmpty && (peerRecord.zone.map { zonesWithCopies.contains($0) } ?? false),
                count: max(holding.count, report?.modelCount ?? 0),
                free: free, lru: lru, evictionValue: report?.evictionValue,
                tieBreak: StableHash.rendezvous(keyHash: modelHash, peer.rawValue)
            ))
        }
        guard available > 0 else {
            if let last = failed.values.max(by: { $0.time < $1.time }) {
                return .failure(.allFailed(model: model, lastError: last.message))
            }
            return .failure(.noPeerLeft(model: model, holders: holders.count, excluded: excluded.count))
        }
        guard labelled > 0 else { return .failure(.missingLabels(model: model, labels: record.labels)) }
        guard running > 0 else {
            if poolsDown { return .failure(.runtimeNotReady(model: model, type: record.type)) }
            // Peers that run it were tried, or hold it already.
            if view.someoneRuns(type: record.type) { return .failure(.noPeerLeft(model: model, holders: holders.count, excluded: excluded.count)) }
            return .failure(.noRuntime(model: model, type: record.type, served: view.servedFormats))
        }
        guard roomy > 0 else {
            return .failure(.tooLarge(model: model, neededBytes: sizeBytes, largestCapacityBytes: largestCapacity))
        }
        guard healthy > 0 else {
            return .failure(.allFailed(model: model, lastError: failed.values.max { $0.time < $1.time }?.message ?? ""))
        }
        // A peer far busier than the calmest candidate serves this copy badly: it goes last.
        let busyAbove = calmest.multipliedSaturating(by: 2).addingSaturating(busyMargin)
        let step = max(1, minChurnAge.milliseconds)
        let homes = Self.homes(among: candidates)
        // Marked in place: this runs on every miss, over every peer.
        for index in candidates.indices {
            let peer = candidates[index].peer
            candidates[index].home = peer == homes.first || peer == homes.second
            candidates[index].busy = candidates[index].inFlight > busyAbove
            if candidates[index].full, let lru = candidates[index].lru, let oldestLRU {
                candidates[index].lruStep = (lru - oldestLRU).milliseconds / step
            }
        }
        return .success(candidates)
    }

    /// A model's homes: the two full candidates, among those that report what their cheapest
    /// model is worth (peers with the cost-aware policy), that rank first by the model's
    /// rendezvous hash. Sending its misses there keeps its use counts in one or two places —
    /// where the policy needs them — and choosing the one with the cheaper victim of the two
    /// evens out memory between peers (two random choices).
    static func homes(among candidates: [Candidate]) -> (first: PeerID?, second: PeerID?) {
        var first: Candidate?, second: Candidate?
        for candidate in candidates where candidate.full && candidate.evictionValue != nil {
            if first.map({ candidate.tieBreak > $0.tieBreak }) ?? true {
                second = first
                first = candidate
            } else if second.map({ candidate.tieBreak > $0.tieBreak }) ?? true {
                second = candidate
            }
        }
        return (first?.peer, second?.peer)
    }

    /// In-flight requests beyond twice the calmest candidate's (plus this margin) mark a peer busy.
    public var busyMargin = 4

    struct Candidate {
        var peer: PeerID
        var full: Bool
        var inFlight: Int
        var busy = false
        var sameZone: Bool
        var count: Int
        var free: Int64
        var lru: MeshTime?
        /// For a full peer: how many churn-guard ages its LRU model is younger than the oldest
        /// candidate's (unknown: last).
        var lruStep = Int64.max
        var evictionValue: Double?
        /// One of the model's two homes (see ``homes(among:)``).
        var home = false
        var tieBreak: UInt64

        static func isBetter(_ a: Candidate, _ b: Candidate) -> Bool {
            if a.full != b.full { return !a.full }
            if a.busy != b.busy { return !a.busy }
            if a.sameZone != b.sameZone { return !a.sameZone }
            if a.full {
                // A home whose cheapest model is worth less; then (peers that evict by LRU) the
                // older LRU model, an unknown one last.
                if a.home != b.home { return a.home }
                if a.home, a.evictionValue != b.evictionValue { return (a.evictionValue ?? .infinity) < (b.evictionValue ?? .infinity) }
                if a.lruStep != b.lruStep { return a.lruStep < b.lruStep }
            } else {
                if a.count != b.count { return a.count < b.count }
                if a.free != b.free { return a.free > b.free }
            }
            return a.tieBreak > b.tieBreak
        }
    }
}

public enum Placement: Sendable, Hashable {
    case peer(PeerID)
    case none(PlacementRefusal)
}

/// Why no peer can take a new copy, phrased for the user.
public enum PlacementRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case noPeers
    case noPeerLeft(model: ModelID, holders: Int, excluded: Int)
    case missingLabels(model: ModelID, labels: [String])
    case tooLarge(model: ModelID, neededBytes: Int64, largestCapacityBytes: Int64)
    case allFailed(model: ModelID, lastError: String)
    /// No live peer runs the model's format.
    case noRuntime(model: ModelID, type: String, served: [String])
    /// The peers that run it have their runtime server down or starting.
    case runtimeNotReady(model: ModelID, type: String)

    public var description: String {
        switch self {
        case .noPeers:
            return "no peer is registered in the cluster"
        case .noPeerLeft(let model, let holders, let excluded):
            return "no peer is left to load \(model) (\(holders) hold a copy, \(excluded) were tried or are unreachable)"
        case .missingLabels(let model, let labels):
            return "no live peer has the labels \(labels.joined(separator: ", ")) that \(model) requires"
        case .tooLarge(let model, let needed, let largest):
            return "\(model) needs \(ByteCount(needed)) but the largest peer holds \(ByteCount(largest)); it fits nowhere"
        case .allFailed(let model, let lastError):
            return "\(model) failed to load on every eligible peer recently: \(lastError)"
        case .noRuntime(let model, let type, let served):
            return "no live peer runs model type \"\(type)\" that \(model) needs; the peers run \(served.isEmpty ? "no types" : served.joined(separator: ", "))"
        case .runtimeNotReady(let model, let type):
            return "the runtimes that run model type \"\(type)\" (for \(model)) are not ready on any live peer; retry when they are back"
        }
    }
}

/// Bytes in human units for messages.
public struct ByteCount: CustomStringConvertible, Sendable {
    public var bytes: Int64
    public init(_ bytes: Int64) { self.bytes = bytes }

    public var description: String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) bytes" }
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) \(units[unit])"
    }
    /// `1Gi`, `512Mi`, `64Ki`, `2G`, `500M`, or plain bytes (as Kubernetes writes quantities);
    /// nil for anything else, zero or negative included.
    public static func parse(_ text: String) -> Int64? {
        let units: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
                                         ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        var number = text
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = String(text.dropLast(suffix.count))
            scale = factor
            break
        }
        guard let value = Double(number), value > 0, value * scale < 9e18 else { return nil }
        return Int64(value * scale)
    }
}

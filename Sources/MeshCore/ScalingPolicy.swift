/// Decides copy counts: adds copies of hot models, removes copies idle for a while, keeps models
/// with `minCopies` at their count. One peer decides per model — the holder that ranks first for
/// it by rendezvous hash (for a model with no copy, the first live peer) — so peers never race
/// over the same model; the etcd claim still guards every added copy.
public struct ScalingPolicy: Sendable {
    /// A copy serving more than this many requests per second gets company.
    public var scaleUpRequestsPerSecond: Double
    /// Requests in flight per copy beyond which a model counts as queueing.
    public var scaleUpInFlight: Double
    /// Below this rate (total, per second) a model counts as idle.
    public var idleRequestsPerSecond: Double
    /// A model idle this long loses a copy (down to `max(minCopies, 1)`).
    public var scaleDownAfter: Duration
    /// At most this many copies are added in one decision.
    public var maxAddsPerDecision: Int
    /// After removing a copy, wait this long before removing another.
    public var removalCooldown: Duration
    /// Hot for this long before adding copies (the rates are already averaged over seconds).
    public var sustain: Duration
    public var placement: PlacementPolicy
    /// The size a model without a hint or a measurement is planned with (``ModelSize``).
    public var defaultModelSizeBytes: Int64 = MeshDefaults.defaultModelSizeBytes

    public init(scaleUpRequestsPerSecond: Double = MeshDefaults.scaleUpRequestsPerSecond, scaleUpInFlight: Double = MeshDefaults.scaleUpInFlight,
                idleRequestsPerSecond: Double? = nil, scaleDownAfter: Duration = MeshDefaults.scaleDownAfter,
                maxAddsPerDecision: Int = 2, removalCooldown: Duration = .seconds(10),
                sustain: Duration = .seconds(1), placement: PlacementPolicy = PlacementPolicy()) {
        self.scaleUpRequestsPerSecond = scaleUpRequestsPerSecond
        self.scaleUpInFlight = scaleUpInFlight
        self.idleRequestsPerSecond = idleRequestsPerSecond ?? scaleUpRequestsPerSecond / 10
        self.scaleDownAfter = scaleDownAfter
        self.maxAddsPerDecision = maxAddsPerDecision
        self.removalCooldown = removalCooldown
        self.sustain = sustain
        self.placement = placement
    }

    /// What the decider remembers about a model between decisions.
    public struct State: Sendable, Hashable {
        /// Last time the model's rate was above idle.
        public var lastBusy: MeshTime
        /// When the model became hot, while it stays hot.
        public var hotSince: MeshTime?
        public var lastRemoval: MeshTime?

        public init(lastBusy: MeshTime) {
            self.lastBusy = lastBusy
        }
    }

    /// What a decision does; written as `add` or `remove` in the decision record.
    public enum Action: String, Sendable, Hashable, Codable {
        /// Load copies on `peers`.
        case add
        /// Remove the copy on the first of `peers`.
        case remove
    }

    /// A decision with the numbers behind it, for logs and status.
    public struct Decision: Sendable, Hashable, Codable {
        public var model: ModelID
        public var time: MeshTime
        public var action: Action
        public var peers: [PeerID]
        public var copiesBefore: Int
        public var totalRequestsPerSecond: Double
        public var reason: String
    }

    /// The models `me` decides for: those it holds and those with `minCopies`, when it is their
    /// decider (in id order, so ticks are reproducible).
    public func modelsToDecide(held: some Collection<ModelID>, view: ClusterView, me: PeerID) -> [ModelID] {
        Set(held).union(view.pinned.keys).filter { decider(for: $0, view: view) == me }.sorted()
    }

    /// Who decides for `model`: the first holder by rendezvous hash, or the first active peer
    /// when no copy exists.
    public func decider(for model: ModelID, view: ClusterView) -> PeerID? {
        let holders = view.copies(of: model).keys.filter { view.peers[$0].map { !$0.shuttingDown } ?? false }
        let candidates = holders.isEmpty ? view.activePeers : Array(holders)
        return StableHash.winner(for: model.rawValue, among: candidates)
    }

    /// Decides for one model. `rates` holds each holder's current rate for the model (from
    /// gossip, and this peer's own tracker). Returns the action to take, if any, and the state to
    /// keep.
    public func decide(
        model: ModelID, record: ModelRecord, view: ClusterView, rates: [PeerID: LoadReport.ModelRate],
        state: State?, now: MeshTime
    ) -> (Decision?, State) {
        let copies = view.copies(of: model).filter { view.peers[$0.key] != nil }
        let loaded = copies.filter { $0.value.state == .loaded }
        let total = copies.keys.reduce(0.0) { $0 + (rates[$1]?.perSecond ?? 0) }
        let inFlight = copies.keys.reduce(0) { $0.addingSaturating(rates[$1]?.inFlight ?? 0) }
        var state = state ?? State(lastBusy: now)
        if total >= idleRequestsPerSecond { state.lastBusy = now }

        let threshold = record.scaleUpRequestsPerSecond ?? scaleUpRequestsPerSecond
        // Counting eligible peers walks every peer, so it is done only when a copy may be added:
        // the decider runs for every held model every interval.
        func eligible() -> Int {
            let labels = Set(record.labels)
            return view.peers.values.reduce(0) { $0 + (!$1.shuttingDown && labels.isSubset(of: $1.labels) ? 1 : 0) }
        }
        func decision(_ action: Action, _ peers: [PeerID], _ reason: String) -> Decision {
            Decision(model: model, time: now, action: action, peers: peers, copiesBefore: copies.count, totalRequestsPerSecond: total, reason: reason)
        }

        // Keep models with a minimum count at it, whatever their traffic.
        if copies.count < record.minCopies, copies.count < min(record.minCopies, eligible()) {
            let targets = place(model, record: record, view: view, count: record.minCopies - copies.count, now: now)
            state.hotSince = nil
            guard !targets.isEmpty else { return (nil, state) }
            return (decision(.add, targets, "\(copies.count) of minCopies \(record.minCopies) copies"), state)
        }

        // Above maxCopies (a partition healed and a peer that was cut off restored its records):
        // remove one at once, whatever the traffic.
        if let maxCopies = record.maxCopies, loaded.count > maxCopies, copies.count == loaded.count {
            state.hotSince = nil
            return (decision(.remove, [fullestHolder(of: loaded.keys, view: view)], "\(loaded.count) copies, above maxCopies \(maxCopies)"), state)
        }

        // Hot: add copies, once copies still loading have landed.
        let copyCount = Double(max(1, copies.count))
        let perCopy: Double = total / copyCount
        let inFlightPerCopy: Double = Double(inFlight) / copyCount
        let queueing = inFlightPerCopy > scaleUpInFlight
        if perCopy > threshold || queueing {
            state.hotSince = state.hotSince ?? now
            let loading = copies.count - loaded.count
            guard now - state.hotSince! >= sustain, loading == 0 else { return (nil, state) }
            let eligibleCount = eligible()
            let ceiling = min(record.maxCopies ?? eligibleCount, eligibleCount)
            guard copies.count < ceiling else { return (nil, state) }
            // (A tiny per-model threshold makes the quotient huge or infinite: clamp before converting.)
            let needed = Int(min(Double(ceiling), (total / threshold).rounded(.up)))
            let wanted = min(ceiling, max(copies.count + 1, needed))
            let count = min(maxAddsPerDecision, wanted - copies.count)
            let targets = place(model, record: record, view: view, count: count, now: now)
            guard !targets.isEmpty else { return (nil, state) }
            let why = queueing && perCopy <= threshold
                ? "\(Formatting.decimal(inFlightPerCopy)) requests in flight per copy (threshold \(Formatting.decimal(scaleUpInFlight)))"
                : "\(Formatting.decimal(perCopy)) requests/s per copy over \(copies.count) cop\(copies.count == 1 ? "y" : "ies") (threshold \(Formatting.decimal(threshold)))"
            return (decision(.add, targets, why), state)
        }
        state.hotSince = nil

        // Idle for long enough: remove one copy, never below max(minCopies, 1), one at a time.
        let floor = max(record.minCopies, 1)
        let idle = now - state.lastBusy
        let cooled = state.lastRemoval.map { now - $0 >= removalCooldown } ?? true
        if loaded.count > floor, copies.count == loaded.count, idle >= scaleDownAfter, cooled {
            let victim = fullestHolder(of: loaded.keys, view: view)
            state.lastRemoval = now
            let why = "idle for \(Int(idle.seconds)) s (\(Formatting.decimal(total, 2)) requests/s, idle below \(Formatting.decimal(idleRequestsPerSecond, 2))); \(loaded.count) copies, floor \(floor)"
            return (decision(.remove, [victim], why), state)
        }
        return (nil, state)
    }

    /// The copy on the fullest peer goes first: its memory is worth most.
    private func fullestHolder(of holders: some Collection<PeerID>, view: ClusterView) -> PeerID {
        holders.min { a, b in
            let freeA = (view.peers[a]?.capacityBytes ?? 0) - view.holdings(of: a).bytes
            let freeB = (view.peers[b]?.capacityBytes ?? 0) - view.holdings(of: b).bytes
            return (freeA, a) < (freeB, b)
        }!
    }

    private func place(_ model: ModelID, record: ModelRecord, view: ClusterView, count: Int, now: MeshTime) -> [PeerID] {
        guard count > 0 else { return [] }
        let size = ModelSize.planned(model, record: record, view: view, defaultBytes: defaultModelSizeBytes)
        switch placement.rank(for: model, record: record, sizeBytes: size, view: view, excluded: [], now: now) {
        case .success(let ranked): return Array(ranked.prefix(count))
        case .failure: return []
        }
    }
}

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
        case .success(let scan):
            // Each candidate marked as it is compared, not written back.
            var best = scan.marked(scan.candidates[0])
            for candidate in scan.candidates.dropFirst() {
                let marked = scan.marked(candidate)
                if Candidate.isBetter(marked, best) { best = marked }
            }
            return .peer(view.peerIndex.details[Int(best.slot)].peer)
        case .failure(let refusal): return .none(refusal)
        }
    }

    /// Every eligible peer, best first, or why there is none.
    public func rank(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView,
        excluded: Set<PeerID>, now: MeshTime
    ) -> Result<[PeerID], PlacementRefusal> {
        candidates(for: model, record: record, sizeBytes: sizeBytes, view: view, excluded: excluded, now: now)
            .map { scan in scan.candidates.map(scan.marked).sorted(by: Candidate.isBetter).map { view.peerIndex.details[Int($0.slot)].peer } }
    }

    /// Every eligible peer, unordered and not yet marked, or why there is none.
    func candidates(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView,
        excluded: Set<PeerID>, now: MeshTime, staleHolder: PeerID? = nil
    ) -> Result<Scan, PlacementRefusal> {
        let index = view.peerIndex
        guard !index.slots.isEmpty else { return .failure(.noPeers) }
        var holders = view.copies(of: model)
        if let staleHolder { holders[staleHolder] = nil }
        let failed = view.failures(of: model)
        let labels = Set(record.labels)
        let zonesWithCopies = holders.keys.compactMap { view.peers[$0]?.zone.flatMap(index.zoneNumber(of:)) }
        let modelHash = StableHash.of(model.rawValue)
        // Holders, tried and failed peers marked by slot (a few lookups), and each distinct pool
        // list matched against the model's format once: the scan below hashes no peer id.
        let marks = SlotMarks(index: index, holders: holders.keys, excluded: excluded, failed: failed.keys)
        let format = ModelFormat(record.type)
        let pools = index.poolSets.map { PoolChoice(format: format, pools: $0) }
        // One pass over the peers (this runs on every miss): each filter below counts the peers
        // that pass it, so that an empty stage names the same refusal as filtering stage by stage.
        var available = 0, labelled = 0, running = 0, roomy = 0, healthy = 0
        var poolsDown = false
        var largestCapacity: Int64 = 0
        // Gathered in the same pass, for the marks below.
        var calmest = Int.max
        var oldestLRU: MeshTime?
        var candidates: [Candidate] = []
        candidates.reserveCapacity(index.slots.count)
        // Whole milliseconds, as times are kept: `Duration` arithmetic is not inlined.
        let maxAge = reportMaxAge.milliseconds
        let slots = index.slots
        for position in slots.indices {
            guard !slots[position].shuttingDown, !marks.has(SlotMarks.skipped, at: position) else { continue }
            available += 1
            guard labels.isEmpty || labels.isSubset(of: index.details[position].labels) else { continue }
            labelled += 1
            // The pool the copy would go to, when the peer has several (one pool, or none
            // published by an older peer: the whole peer).
            var ownPool = false
            var capacity = slots[position].capacityBytes
            let poolSet = slots[position].poolSet
            if poolSet >= 0 {
                switch pools[poolSet].state {
                case .ready: capacity = pools[poolSet].capacityBytes; ownPool = pools[poolSet].name != nil
                case .notReady: poolsDown = true; continue
                case .none: continue
                }
            }
            running += 1
            largestCapacity = max(largestCapacity, capacity)
            guard capacity >= sizeBytes else { continue }
            roomy += 1
            guard !marks.has(SlotMarks.failed, at: position) else { continue }
            healthy += 1
            // A report older than `maxAge` (or none: `Int64.min`, which saturates) is not used.
            let fresh = now.millisecondsSinceEpoch.subtractingSaturating(slots[position].report.time) <= maxAge
            let report = fresh ? slots[position].report : .absent
            // With one pool everything the peer holds is in it; with several, the pool's own use
            // as the peer last gossiped it.
            let used = ownPool ? poolUse(index, position, pools[poolSet], fresh)
                : max(slots[position].heldBytes, report.usedBytes)
            let free = capacity.subtractingSaturating(used)
            let lru = report.lruTime
            let full = free < sizeBytes
            let inFlight = report.busy
            calmest = min(calmest, inFlight)
            if full, let lru, oldestLRU.map({ lru < $0 }) ?? true { oldestLRU = lru }
            candidates.append(Candidate(
                slot: Int32(truncatingIfNeeded: position), full: full, inFlight: inFlight,
                sameZone: !zonesWithCopies.isEmpty && zonesWithCopies.contains(slots[position].zone),
                count: max(slots[position].heldCount, report.modelCount),
                free: free, lru: lru, evictionValue: report.evictionValue,
                tieBreak: StableHash.rendezvous(keyHash: modelHash, memberKey: slots[position].rendezvousKey)
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
        return .success(Scan(candidates: candidates, busyAbove: calmest.multipliedSaturating(by: 2).addingSaturating(busyMargin),
                             oldestLRU: oldestLRU, step: max(1, minChurnAge.milliseconds), homes: Self.homes(among: candidates)))
    }

    /// The eligible peers and what marking each needs from all of them.
    struct Scan {
        var candidates: [Candidate]
        var busyAbove: Int
        var oldestLRU: MeshTime?
        var step: Int64
        var homes: (first: Int32?, second: Int32?)

        /// `candidate` marked as a home, busy, and with its LRU step.
        func marked(_ candidate: Candidate) -> Candidate {
            var candidate = candidate
            candidate.home = candidate.slot == homes.first || candidate.slot == homes.second
            candidate.busy = candidate.inFlight > busyAbove
            if candidate.full, let lru = candidate.lru, let oldestLRU {
                candidate.lruStep = lru.millisecondsSinceEpoch.subtractingSaturating(oldestLRU.millisecondsSinceEpoch) / step
            }
            return candidate
        }
    }

    /// A multi-pool peer's use of `pool` as it last gossiped it (nothing known: empty).
    private func poolUse(_ index: PeerIndex, _ position: Int, _ pool: PoolChoice, _ fresh: Bool) -> Int64 {
        guard fresh, let name = pool.name else { return 0 }
        return index.details[position].poolUsedBytes?[name] ?? 0
    }

    /// A model's homes: the two full candidates, among those that report what their cheapest
    /// model is worth (peers with the cost-aware policy), that rank first by the model's
    /// rendezvous hash. Sending its misses there keeps its use counts in one or two places —
    /// where the policy needs them — and choosing the one with the cheaper victim of the two
    /// evens out memory between peers (two random choices).
    static func homes(among candidates: [Candidate]) -> (first: Int32?, second: Int32?) {
        var first: Candidate?, second: Candidate?
        for candidate in candidates where candidate.full && candidate.evictionValue != nil {
            if first.map({ candidate.tieBreak > $0.tieBreak }) ?? true {
                second = first
                first = candidate
            } else if second.map({ candidate.tieBreak > $0.tieBreak }) ?? true {
                second = candidate
            }
        }
        return (first?.slot, second?.slot)
    }

    /// In-flight requests beyond twice the calmest candidate's (plus this margin) mark a peer busy.
    public var busyMargin = 4

    /// One eligible peer (fields ordered so that it packs small: placement writes one per peer).
    struct Candidate {
        var inFlight: Int
        var count: Int
        var free: Int64
        var tieBreak: UInt64
        /// For a full peer: how many churn-guard ages its LRU model is younger than the oldest
        /// candidate's (unknown: last).
        var lruStep = Int64.max
        var lru: MeshTime?
        var evictionValue: Double?
        /// The peer's position in the view's peer index.
        var slot: Int32
        var full: Bool
        var sameZone: Bool
        var busy = false
        /// One of the model's two homes (see ``homes(among:)``).
        var home = false

        init(slot: Int32, full: Bool, inFlight: Int, sameZone: Bool, count: Int, free: Int64, lru: MeshTime?,
             evictionValue: Double?, tieBreak: UInt64) {
            self.slot = slot
            self.full = full
            self.inFlight = inFlight
            self.sameZone = sameZone
            self.count = count
            self.free = free
            self.lru = lru
            self.evictionValue = evictionValue
            self.tieBreak = tieBreak
        }

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

/// Peers a placement skips, marked by their position in the peer index.
struct SlotMarks {
    static let holder: UInt8 = 1
    static let excluded: UInt8 = 2
    static let failed: UInt8 = 4
    /// Holders and tried peers are not candidates at all.
    static let skipped = holder | excluded

    /// Empty when no peer is marked (most misses): nothing is allocated.
    private var bits: [UInt8] = []

    init(index: PeerIndex, holders: some Collection<PeerID>, excluded: Set<PeerID>, failed: some Collection<PeerID>) {
        guard !(holders.isEmpty && excluded.isEmpty && failed.isEmpty) else { return }
        bits = Array(repeating: 0, count: index.slots.count)
        mark(holders, Self.holder, in: index)
        mark(excluded, Self.excluded, in: index)
        mark(failed, Self.failed, in: index)
    }

    private mutating func mark(_ peers: some Sequence<PeerID>, _ mark: UInt8, in index: PeerIndex) {
        for peer in peers { if let position = index.position(of: peer) { bits[position] |= mark } }
    }

    func has(_ mark: UInt8, at position: Int) -> Bool { !bits.isEmpty && bits[position] & mark != 0 }
}

/// Where a model of one format would go among one list of pools (several peers publish the same
/// list, so it is worked out once per list).
struct PoolChoice {
    enum State { case ready, notReady, none }
    var state: State
    var capacityBytes: Int64 = 0
    /// The pool's name when the list has several pools (its own use is then gossiped apart).
    var name: String?

    init(format: ModelFormat, pools: [RuntimePool]) {
        switch PeerRecord.pool(for: format, in: pools) {
        case .pool(let pool):
            state = .ready
            capacityBytes = pool.capacityBytes
            if pools.count > 1 { name = pool.name }
        case .notReady: state = .notReady
        case .none: state = .none
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

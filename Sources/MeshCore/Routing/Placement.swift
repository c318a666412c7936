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
            // Marks (busy, home, LRU step) are worked out as candidates are compared; nothing is copied.
            let candidates = scan.candidates
            var best = 0
            for position in candidates.indices.dropFirst() where scan.isBetter(candidates[position], candidates[best]) {
                best = position
            }
            return .peer(view.peerIndex.details[Int(candidates[best].slot)].peer)
        case .failure(let refusal): return .none(refusal)
        }
    }

    /// Every eligible peer, best first, or why there is none.
    public func rank(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView,
        excluded: Set<PeerID>, now: MeshTime
    ) -> Result<[PeerID], PlacementRefusal> {
        candidates(for: model, record: record, sizeBytes: sizeBytes, view: view, excluded: excluded, now: now)
            .map { scan in scan.candidates.sorted(by: scan.isBetter).map { view.peerIndex.details[Int($0.slot)].peer } }
    }

    /// Every eligible peer, unordered, or why there is none.
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
        // One pass over the peers (this runs on every miss) gathers the candidates; only when
        // there are none does a second pass work out why.
        var calmest = Int32.max
        var oldestLRU = Int64.max
        var someFullReportValue = false
        var candidates: [Candidate] = []
        candidates.reserveCapacity(index.slots.count)
        // Whole milliseconds, as times are kept: `Duration` arithmetic is not inlined.
        let maxAge = reportMaxAge.milliseconds
        let nowMillis = now.millisecondsSinceEpoch
        let slots = index.slots
        for position in slots.indices {
            guard case .eligible(let capacity, let ownPool) = stage(of: position, in: index, marks: marks, labels: labels, pools: pools, sizeBytes: sizeBytes) else {
                continue
            }
            let slot = slots[position]
            // A report older than `maxAge` (or none: `Int64.min`, which saturates) is not used.
            let fresh = nowMillis.subtractingSaturating(slot.report.time) <= maxAge
            // With one pool everything the peer holds is in it; with several, the pool's own use
            // as the peer last gossiped it.
            let used = ownPool ? poolUse(index, position, pools[slot.poolSet], fresh)
                : max(slot.heldBytes, fresh ? slot.report.usedBytes : 0)
            let free = capacity.subtractingSaturating(used)
            let lru = fresh ? slot.report.lruTime?.millisecondsSinceEpoch ?? Candidate.unknownLRU : Candidate.unknownLRU
            let full = free < sizeBytes
            let inFlight = fresh ? Int32(clamping: slot.report.busy) : 0
            calmest = min(calmest, inFlight)
            let evictionValue = fresh ? slot.report.evictionValue : nil
            if full {
                oldestLRU = min(oldestLRU, lru)
                someFullReportValue = someFullReportValue || evictionValue != nil
            }
            candidates.append(Candidate(
                slot: Int32(truncatingIfNeeded: position), full: full, inFlight: inFlight,
                sameZone: !zonesWithCopies.isEmpty && zonesWithCopies.contains(slot.zone),
                count: Int32(clamping: max(slot.heldCount, fresh ? slot.report.modelCount : 0)),
                free: free, lru: lru, evictionValue: evictionValue
            ))
        }
        guard !candidates.isEmpty else {
            return .failure(refusal(for: model, record: record, sizeBytes: sizeBytes, view: view, marks: marks, labels: labels, pools: pools,
                                    holders: holders.count, excluded: excluded.count, failed: failed))
        }
        // A peer far busier than the calmest candidate serves this copy badly: it goes last.
        return .success(Scan(candidates: candidates, busyAbove: Int(calmest).multipliedSaturating(by: 2).addingSaturating(busyMargin),
                             oldestLRU: oldestLRU, step: max(1, minChurnAge.milliseconds), modelHash: modelHash, slots: slots,
                             homes: someFullReportValue ? Self.homes(among: candidates, modelHash: modelHash, slots: slots) : (nil, nil)))
    }

    /// How far a peer gets through placement's filters, in their order.
    enum Stage {
        /// Shutting down, holding the model already, or tried by this request.
        case unavailable
        /// Without the model's labels.
        case unlabelled
        /// Its pools do not run the model's format (`poolDown`: a pool that does is not ready).
        case notRunning(poolDown: Bool)
        /// The pool that runs it is smaller than the model.
        case tooSmall(capacity: Int64)
        /// A recent load of the model failed there.
        case failed(capacity: Int64)
        /// A candidate: the capacity of the pool the copy goes to (`ownPool`: one of several).
        case eligible(capacity: Int64, ownPool: Bool)
    }

    @inline(__always)
    private func stage(
        of position: Int, in index: PeerIndex, marks: SlotMarks, labels: Set<String>, pools: [PoolChoice], sizeBytes: Int64
    ) -> Stage {
        let slot = index.slots[position]
        guard !slot.shuttingDown, !marks.has(SlotMarks.skipped, at: position) else { return .unavailable }
        guard labels.isEmpty || labels.isSubset(of: index.details[position].labels) else { return .unlabelled }
        // The pool the copy would go to, when the peer has several (one pool, or none published
        // by an older peer: the whole peer).
        var ownPool = false
        var capacity = slot.capacityBytes
        if slot.poolSet >= 0 {
            switch pools[slot.poolSet].state {
            case .ready: capacity = pools[slot.poolSet].capacityBytes; ownPool = pools[slot.poolSet].name != nil
            case .notReady: return .notRunning(poolDown: true)
            case .none: return .notRunning(poolDown: false)
            }
        }
        guard capacity >= sizeBytes else { return .tooSmall(capacity: capacity) }
        guard !marks.has(SlotMarks.failed, at: position) else { return .failed(capacity: capacity) }
        return .eligible(capacity: capacity, ownPool: ownPool)
    }

    /// Why no peer is a candidate: the first filter that no peer passes, named for the user.
    private func refusal(
        for model: ModelID, record: ModelRecord, sizeBytes: Int64, view: ClusterView, marks: SlotMarks, labels: Set<String>,
        pools: [PoolChoice], holders: Int, excluded: Int, failed: [PeerID: FailureRecord]
    ) -> PlacementRefusal {
        var available = 0, labelled = 0, running = 0, roomy = 0
        var poolsDown = false
        var largestCapacity: Int64 = 0
        for position in view.peerIndex.slots.indices {
            switch stage(of: position, in: view.peerIndex, marks: marks, labels: labels, pools: pools, sizeBytes: sizeBytes) {
            case .unavailable: continue
            case .unlabelled: available += 1
            case .notRunning(let poolDown): available += 1; labelled += 1; poolsDown = poolsDown || poolDown
            case .tooSmall(let capacity):
                available += 1; labelled += 1; running += 1
                largestCapacity = max(largestCapacity, capacity)
            case .failed(let capacity), .eligible(let capacity, _):
                available += 1; labelled += 1; running += 1; roomy += 1
                largestCapacity = max(largestCapacity, capacity)
            }
        }
        let lastFailure = failed.values.max { $0.time < $1.time }?.message
        guard available > 0 else {
            if let lastFailure { return .allFailed(model: model, lastError: lastFailure) }
            return .noPeerLeft(model: model, holders: holders, excluded: excluded)
        }
        guard labelled > 0 else { return .missingLabels(model: model, labels: record.labels) }
        guard running > 0 else {
            if poolsDown { return .runtimeNotReady(model: model, type: record.type) }
            // Peers that run it were tried, or hold it already.
            if view.someoneRuns(type: record.type) { return .noPeerLeft(model: model, holders: holders, excluded: excluded) }
            return .noRuntime(model: model, type: record.type, served: view.servedFormats)
        }
        guard roomy > 0 else { return .tooLarge(model: model, neededBytes: sizeBytes, largestCapacityBytes: largestCapacity) }
        return .allFailed(model: model, lastError: lastFailure ?? "")
    }

    /// The eligible peers, and what comparing two of them needs from all of them.
    struct Scan {
        var candidates: [Candidate]
        var busyAbove: Int
        /// The oldest LRU time among full candidates, in milliseconds (``Candidate/unknownLRU``: none known).
        var oldestLRU: Int64
        var step: Int64
        var modelHash: UInt64
        /// The peer index's slots, for the rendezvous keys ties need.
        var slots: [PeerIndex.Slot]
        var homes: (first: Int32?, second: Int32?)

        func tieBreak(_ candidate: Candidate) -> UInt64 { candidate.tieBreak(modelHash, slots) }

        func isBusy(_ candidate: Candidate) -> Bool { Int(candidate.inFlight) > busyAbove }

        func isHome(_ candidate: Candidate) -> Bool { candidate.slot == homes.first || candidate.slot == homes.second }

        /// For a full peer: how many churn-guard ages its LRU model is younger than the oldest
        /// candidate's (unknown: last).
        func lruStep(_ candidate: Candidate) -> Int64 {
            guard candidate.lru != Candidate.unknownLRU, oldestLRU != Candidate.unknownLRU else { return .max }
            return candidate.lru.subtractingSaturating(oldestLRU) / step
        }

        /// Whether `a` ranks before `b` (the order the policy's documentation gives).
        @inline(__always)
        func isBetter(_ a: Candidate, _ b: Candidate) -> Bool {
            if a.full != b.full { return !a.full }
            let aBusy = isBusy(a), bBusy = isBusy(b)
            if aBusy != bBusy { return !aBusy }
            if a.sameZone != b.sameZone { return !a.sameZone }
            if a.full {
                // A home whose cheapest model is worth less; then (peers that evict by LRU) the
                // older LRU model, an unknown one last.
                let aHome = isHome(a), bHome = isHome(b)
                if aHome != bHome { return aHome }
                if aHome, a.evictionValue != b.evictionValue { return a.evictionValueOrInfinity < b.evictionValueOrInfinity }
                let aStep = lruStep(a), bStep = lruStep(b)
                if aStep != bStep { return aStep < bStep }
            } else {
                if a.count != b.count { return a.count < b.count }
                if a.free != b.free { return a.free > b.free }
            }
            return tieBreak(a) > tieBreak(b)
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
    static func homes(among candidates: [Candidate], modelHash: UInt64, slots: [PeerIndex.Slot]) -> (first: Int32?, second: Int32?) {
        var first: (slot: Int32, score: UInt64)?, second: (slot: Int32, score: UInt64)?
        for candidate in candidates where candidate.full && candidate.evictionValue != nil {
            let score = candidate.tieBreak(modelHash, slots)
            if first.map({ score > $0.score }) ?? true {
                second = first
                first = (candidate.slot, score)
            } else if second.map({ score > $0.score }) ?? true {
                second = (candidate.slot, score)
            }
        }
        return (first?.slot, second?.slot)
    }

    /// In-flight requests beyond twice the calmest candidate's (plus this margin) mark a peer busy.
    public var busyMargin = 4

    /// One eligible peer, as placement compares it (40 bytes and no references: placement
    /// writes one per peer on every miss; what depends on every candidate is in ``Scan``).
    struct Candidate {
        /// ``lru`` when the peer did not report one.
        static let unknownLRU = Int64.max

        var free: Int64
        /// The peer's LRU model's last use, in milliseconds since the epoch.
        var lru: Int64
        /// What the peer's cheapest copy is worth (cost-aware peers), when ``hasEvictionValue``.
        private var evictionValueIfAny: Double
        var inFlight: Int32
        var count: Int32
        /// The peer's position in the view's peer index.
        var slot: Int32
        var full: Bool
        var sameZone: Bool
        private var hasEvictionValue: Bool

        init(slot: Int32, full: Bool, inFlight: Int32, sameZone: Bool, count: Int32, free: Int64, lru: Int64, evictionValue: Double?) {
            self.slot = slot
            self.full = full
            self.inFlight = inFlight
            self.sameZone = sameZone
            self.count = count
            self.free = free
            self.lru = lru
            self.evictionValueIfAny = evictionValue ?? 0
            self.hasEvictionValue = evictionValue != nil
        }

        var evictionValue: Double? { hasEvictionValue ? evictionValueIfAny : nil }

        /// An unknown value counts as worth the most.
        var evictionValueOrInfinity: Double { hasEvictionValue ? evictionValueIfAny : .infinity }

        /// The tie-break every peer computes alike: the rendezvous score of the model and the
        /// peer, worked out only when a tie needs it.
        func tieBreak(_ modelHash: UInt64, _ slots: [PeerIndex.Slot]) -> UInt64 {
            StableHash.rendezvous(keyHash: modelHash, memberKey: slots[Int(slot)].rendezvousKey)
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

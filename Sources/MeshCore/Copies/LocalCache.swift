/// The memory ledger of one peer: which models it holds, how big they are, how often and how
/// recently each was used, what its load cost — and which to evict when a new model needs room.
///
/// The default policy keeps what would cost most to lose: each loaded model has a value,
/// `inflation + uses × load cost ÷ size` (GreedyDual-Size-Frequency), and the least valuable
/// go first; evicting one raises the inflation to its value, so models that stop being used age
/// out. A model used once and never again is the next to go, not a hot one; a small model that
/// is slow to load outlives a large quick one used as often. Uses survive a short absence: a
/// model evicted and loaded again starts from half its earlier count.
///
/// Sizes are estimates until a load finishes and ``resize(_:to:now:busy:)`` corrects them.
/// Evicted entries leave the ledger at once; the shell unloads them once their in-flight requests
/// are done.
public struct LocalCache: Sendable {
    public enum State: String, Sendable, Hashable { case loading, loaded }

    public enum Policy: String, Sendable, Hashable {
        /// Least valuable first: uses × load cost ÷ size, aged by inflation.
        case costAware = "cost-aware"
        /// Least recently used first.
        case leastRecentlyUsed = "lru"
    }

    public struct Entry: Sendable, Hashable {
        public var state: State
        public var sizeBytes: Int64
        public var lastUsed: MeshTime
        /// When the entry entered its state.
        public var since: MeshTime
        /// Uses while resident (plus half the uses before its last eviction).
        public var uses: Int = 1
        /// What loading it cost, in milliseconds (1 until a load has measured it).
        public var costMillis: Int64 = 1
        /// Its worth under ``Policy/costAware``: the lowest goes first.
        public var value: Double = 0
    }

    public enum Admission: Sendable, Hashable {
        /// Room was made; unload these first.
        case admitted(evicting: [ModelID])
        case alreadyPresent
        /// Larger than this peer's whole capacity.
        case tooLarge(neededBytes: Int64, capacityBytes: Int64)
        /// Room could only be made by evicting more models used within the churn guard than
        /// the caller allows now.
        case wouldChurn(neededBytes: Int64, youngestVictimIdle: Duration)
        /// Not enough evictable memory (the rest is loading or busy).
        case noRoom(neededBytes: Int64, reclaimableBytes: Int64)
    }

    public let policy: Policy
    public private(set) var capacityBytes: Int64
    public private(set) var entries: [ModelID: Entry] = [:]
    public private(set) var usedBytes: Int64 = 0
    /// The value of the last model evicted (cost-aware policy).
    public private(set) var inflation: Double = 0
    /// Uses of recently evicted models, so one that returns does not start from nothing.
    private var history = UseHistory(capacity: 4096)

    public init(capacityBytes: Int64, policy: Policy = .costAware) {
        self.capacityBytes = capacityBytes
        self.policy = policy
    }

    public var freeBytes: Int64 { capacityBytes - usedBytes }
    public var count: Int { entries.count }

    /// Last use of the least recently used loaded model.
    public var lruTime: MeshTime? {
        entries.values.lazy.filter { $0.state == .loaded }.map(\.lastUsed).min()
    }

    public func entry(_ model: ModelID) -> Entry? { entries[model] }

    /// Reserves `sizeBytes` for `model`, evicting the least valuable (or least recently used)
    /// loaded models that are not `busy`. Victims used less than `minChurnAge` ago are evicted
    /// only after every older one, and at most `youngEvictions` of them: churning models in use
    /// costs more than it saves.
    public mutating func admit(
        _ model: ModelID, sizeBytes: Int64, now: MeshTime, minChurnAge: Duration, busy: Set<ModelID> = [], youngEvictions: Int = 0
    ) -> Admission {
        if entries[model] != nil { return .alreadyPresent }
        guard sizeBytes <= capacityBytes else { return .tooLarge(neededBytes: sizeBytes, capacityBytes: capacityBytes) }
        var victims: [ModelID] = []
        var free = freeBytes
        if free < sizeBytes {
            let candidates = evictionOrder(now: now, minChurnAge: minChurnAge, busy: busy, excluding: model)
            var young: [Duration] = []
            for (candidate, entry) in candidates where free < sizeBytes {
                victims.append(candidate)
                free += entry.sizeBytes
                if now - entry.lastUsed < minChurnAge { young.append(now - entry.lastUsed) }
            }
            guard free >= sizeBytes else {
                return .noRoom(neededBytes: sizeBytes, reclaimableBytes: freeBytes + candidates.reduce(0) { $0 + $1.1.sizeBytes })
            }
            if young.count > youngEvictions, let youngest = young.min() {
                return .wouldChurn(neededBytes: sizeBytes, youngestVictimIdle: youngest)
            }
            for victim in victims { evict(victim) }
        }
        var entry = Entry(state: .loading, sizeBytes: sizeBytes, lastUsed: now, since: now)
        entry.uses = 1 + history.take(model) / 2
        entries[model] = entry
        usedBytes += sizeBytes
        return .admitted(evicting: victims)
    }

    /// Evictable models, first to go first: old before young (used within `minChurnAge`), and
    /// within each, by the policy.
    func evictionOrder(now: MeshTime, minChurnAge: Duration, busy: Set<ModelID>, excluding model: ModelID? = nil) -> [(ModelID, Entry)] {
        entries.filter { $0.key != model && $0.value.state == .loaded && !busy.contains($0.key) }
            .sorted { a, b in
                let youngA = now - a.value.lastUsed < minChurnAge, youngB = now - b.value.lastUsed < minChurnAge
                if youngA != youngB { return !youngA }
                return goesBefore(a, b)
            }
    }

    private func goesBefore(_ a: (key: ModelID, value: Entry), _ b: (key: ModelID, value: Entry)) -> Bool {
        switch policy {
        case .costAware:
            if a.value.value != b.value.value { return a.value.value < b.value.value }
            return (a.value.lastUsed, a.key) < (b.value.lastUsed, b.key)
        case .leastRecentlyUsed:
            return (a.value.lastUsed, a.key) < (b.value.lastUsed, b.key)
        }
    }

    /// Records the size a finished load measured. If the estimate was low and memory is now
    /// overcommitted, evicts idle models (the churn guard does not apply: the memory is already
    /// in use) and returns them.
    public mutating func resize(_ model: ModelID, to sizeBytes: Int64, now: MeshTime, busy: Set<ModelID> = []) -> [ModelID] {
        guard var entry = entries[model] else { return [] }
        usedBytes += sizeBytes - entry.sizeBytes
        entry.sizeBytes = sizeBytes
        entry.value = value(of: entry)
        entries[model] = entry
        guard usedBytes > capacityBytes else { return [] }
        var victims: [ModelID] = []
        for (candidate, _) in evictionOrder(now: now, minChurnAge: .zero, busy: busy, excluding: model) where usedBytes > capacityBytes {
            victims.append(candidate)
            evict(candidate)
        }
        return victims
    }

    /// The load finished; `cost` is what it took (fetching and loading).
    public mutating func markLoaded(_ model: ModelID, now: MeshTime, cost: Duration? = nil) {
        guard var entry = entries[model] else { return }
        entry.state = .loaded
        entry.since = now
        entry.lastUsed = max(entry.lastUsed, now)
        if let cost { entry.costMillis = max(1, cost.milliseconds) }
        entry.value = value(of: entry)
        entries[model] = entry
    }

    public mutating func touch(_ model: ModelID, now: MeshTime) {
        guard var entry = entries[model] else { return }
        entry.uses = entry.uses.addingSaturating(1)
        if entry.lastUsed < now { entry.lastUsed = now }
        entry.value = value(of: entry)
        entries[model] = entry
    }

    /// Takes `model` out of the ledger (its uses are remembered for a while).
    @discardableResult
    public mutating func remove(_ model: ModelID) -> Entry? {
        guard let entry = entries.removeValue(forKey: model) else { return nil }
        usedBytes -= entry.sizeBytes
        if entry.state == .loaded { history.remember(model, uses: entry.uses) }
        return entry
    }

    /// Puts back entries removed by an admission that was then abandoned.
    public mutating func restore(_ model: ModelID, _ entry: Entry) {
        guard entries[model] == nil else { return }
        _ = history.take(model)
        entries[model] = entry
        usedBytes += entry.sizeBytes
    }

    /// Changes the capacity (e.g. the runtime reported a different budget); does not evict.
    public mutating func setCapacity(_ bytes: Int64) { capacityBytes = bytes }

    /// Evicting raises the inflation to the victim's value, so what stays behind ages.
    private mutating func evict(_ model: ModelID) {
        guard let entry = remove(model) else { return }
        if policy == .costAware { inflation = max(inflation, entry.value) }
    }

    /// `inflation + uses × cost per MiB`.
    private func value(of entry: Entry) -> Double {
        let mebibytes = max(1.0, Double(entry.sizeBytes) / 1_048_576)
        return inflation + Double(entry.uses) * Double(entry.costMillis) / mebibytes
    }
}

/// Uses of models that left the cache, for a bounded number of them (oldest forgotten first).
struct UseHistory: Sendable {
    let capacity: Int
    private var uses: [ModelID: (count: Int, sequence: UInt64)] = [:]
    private var sequence: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func remember(_ model: ModelID, uses count: Int) {
        sequence += 1
        uses[model] = (count, sequence)
        guard uses.count > capacity else { return }
        // Forget the older half at once: O(n log n) per n/2 inserts.
        let cutoff = uses.values.map(\.sequence).sorted()[uses.count / 2]
        uses = uses.filter { $0.value.sequence >= cutoff }
    }

    mutating func take(_ model: ModelID) -> Int {
        uses.removeValue(forKey: model)?.count ?? 0
    }
}

/// The memory ledger of one peer: which models it holds, how big they are, how often and how
/// recently each was used, what its load cost — and which to evict when a new model needs room.
///
/// The default policy keeps what would cost most to lose: each model's value is its recent uses
/// × its load time ÷ its size, and the least valuable loaded model goes first. Uses are counted
/// whether or not the model is resident and halve every so often (``UseCounts``), so they measure
/// recent frequency: a model used once and never again goes before one used every few minutes,
/// however recently; a small model that is slow to load outlives a large quick one used as often;
/// and a model that returns after an eviction comes back with its count. Placement sends a
/// model's misses to the same peer while it can (its rendezvous home), so that peer's counts
/// cover the model's traffic.
///
/// Memory is split into runtime pools (``RuntimePool``), each with its own budget: a model is
/// admitted into its pool, and only models of that pool make room for it. A peer with only the
/// built-in runtimes has one pool, the whole capacity.
///
/// Sizes are estimates until a load finishes and ``resize(_:to:now:busy:)`` corrects them.
/// Evicted entries leave the ledger at once; the shell unloads them once their in-flight requests
/// are done.
public struct LocalCache: Sendable {
    public enum State: String, Sendable, Hashable { case loading, loaded }

    public enum Policy: String, Sendable, Hashable {
        /// Least valuable first: recent uses × load time ÷ size.
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
        /// What loading it cost, in milliseconds (1 until a load has measured it).
        public var costMillis: Int64 = 1
        /// The runtime pool it occupies.
        public var pool: String = RuntimePool.builtin
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
    /// The sum of the pools' budgets.
    public private(set) var capacityBytes: Int64
    public private(set) var entries: [ModelID: Entry] = [:]
    public private(set) var usedBytes: Int64 = 0
    /// Budget and use of each pool.
    public private(set) var pools: [String: Budget]

    public struct Budget: Sendable, Hashable {
        public var capacityBytes: Int64
        public var usedBytes: Int64 = 0
    }
    /// Recent uses of every model seen, resident or not.
    public private(set) var uses = UseCounts()

    /// One built-in pool of `capacityBytes`.
    public init(capacityBytes: Int64, policy: Policy = .costAware) {
        self.init(pools: [RuntimePool.builtin: capacityBytes], policy: policy)
    }

    /// Pools by name, each with its budget.
    public init(pools: [String: Int64], policy: Policy = .costAware) {
        self.pools = pools.mapValues { Budget(capacityBytes: $0) }
        self.capacityBytes = pools.values.reduce(0) { $0.addingSaturating($1) }
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
        _ model: ModelID, sizeBytes: Int64, pool: String = RuntimePool.builtin, now: MeshTime, minChurnAge: Duration,
        busy: Set<ModelID> = [], youngEvictions: Int = 0
    ) -> Admission {
        if entries[model] != nil { return .alreadyPresent }
        let budget = pools[pool] ?? Budget(capacityBytes: 0)
        guard sizeBytes <= budget.capacityBytes else { return .tooLarge(neededBytes: sizeBytes, capacityBytes: budget.capacityBytes) }
        var victims: [ModelID] = []
        var free = budget.capacityBytes - budget.usedBytes
        if free < sizeBytes {
            let candidates = evictionOrder(now: now, minChurnAge: minChurnAge, busy: busy, excluding: model, pool: pool)
            var young: [Duration] = []
            for (candidate, entry) in candidates where free < sizeBytes {
                victims.append(candidate)
                free += entry.sizeBytes
                if now - entry.lastUsed < minChurnAge { young.append(now - entry.lastUsed) }
            }
            guard free >= sizeBytes else {
                return .noRoom(neededBytes: sizeBytes, reclaimableBytes: budget.capacityBytes - budget.usedBytes + candidates.reduce(0) { $0 + $1.1.sizeBytes })
            }
            if young.count > youngEvictions, let youngest = young.min() {
                return .wouldChurn(neededBytes: sizeBytes, youngestVictimIdle: youngest)
            }
            for victim in victims { remove(victim) }
        }
        let entry = Entry(state: .loading, sizeBytes: sizeBytes, lastUsed: now, since: now, pool: pool)
        entries[model] = entry
        usedBytes += sizeBytes
        pools[pool, default: Budget(capacityBytes: 0)].usedBytes += sizeBytes
        return .admitted(evicting: victims)
    }

    /// Evictable models, first to go first, by the policy. (Under LRU every model used within
    /// `minChurnAge` comes after every older one by definition; under the cost-aware policy a
    /// recent model used once goes before an older one used often, and the caller limits how
    /// many recent ones go.)
    func evictionOrder(
        now: MeshTime, minChurnAge: Duration, busy: Set<ModelID>, excluding model: ModelID? = nil, pool: String = RuntimePool.builtin
    ) -> [(ModelID, Entry)] {
        let candidates = entries.filter { $0.key != model && $0.value.pool == pool && $0.value.state == .loaded && !busy.contains($0.key) }
        switch policy {
        case .costAware:
            return candidates.map { ($0.key, $0.value, value(of: $0.key, $0.value)) }
                .sorted { a, b in a.2 != b.2 ? a.2 < b.2 : (a.1.lastUsed, a.0) < (b.1.lastUsed, b.0) }
                .map { ($0.0, $0.1) }
        case .leastRecentlyUsed:
            return candidates.sorted { a, b in (a.value.lastUsed, a.key) < (b.value.lastUsed, b.key) }
        }
    }

    /// The value of the first model that would be evicted (cost-aware policy, loaded models).
    public func cheapestValue(now: MeshTime) -> Double? {
        guard policy == .costAware else { return nil }
        return entries.lazy.filter { $0.value.state == .loaded }.map { self.value(of: $0.key, $0.value) }.min()
    }

    /// What losing `model` would cost per byte freed: recent uses × load milliseconds ÷ MiB.
    public func value(of model: ModelID, _ entry: Entry) -> Double {
        let mebibytes = max(1.0, Double(entry.sizeBytes) / 1_048_576)
        return Double(max(1, uses.count(of: model))) * Double(entry.costMillis) / mebibytes
    }

    /// Records the size a finished load measured. If the estimate was low and memory is now
    /// overcommitted, evicts idle models (the churn guard does not apply: the memory is already
    /// in use) and returns them.
    public mutating func resize(_ model: ModelID, to sizeBytes: Int64, now: MeshTime, busy: Set<ModelID> = []) -> [ModelID] {
        guard var entry = entries[model] else { return [] }
        usedBytes += sizeBytes - entry.sizeBytes
        pools[entry.pool, default: Budget(capacityBytes: 0)].usedBytes += sizeBytes - entry.sizeBytes
        entry.sizeBytes = sizeBytes
        entries[model] = entry
        var victims: [ModelID] = []
        for (candidate, _) in evictionOrder(now: now, minChurnAge: .zero, busy: busy, excluding: model, pool: entry.pool) {
            guard let budget = pools[entry.pool], budget.usedBytes > budget.capacityBytes else { break }
            victims.append(candidate)
            remove(candidate)
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
        entries[model] = entry
    }

    public mutating func touch(_ model: ModelID, now: MeshTime) {
        guard var entry = entries[model] else { return }
        if policy == .costAware { uses.record(model, resident: entries.count) }
        if entry.lastUsed < now { entry.lastUsed = now }
        entries[model] = entry
    }

    /// Takes `model` out of the ledger (its use count stays).
    @discardableResult
    public mutating func remove(_ model: ModelID) -> Entry? {
        guard let entry = entries.removeValue(forKey: model) else { return nil }
        usedBytes -= entry.sizeBytes
        pools[entry.pool]?.usedBytes -= entry.sizeBytes
        return entry
    }

    /// Puts back entries removed by an admission that was then abandoned.
    public mutating func restore(_ model: ModelID, _ entry: Entry) {
        guard entries[model] == nil else { return }
        entries[model] = entry
        usedBytes += entry.sizeBytes
        pools[entry.pool, default: Budget(capacityBytes: 0)].usedBytes += entry.sizeBytes
    }

    /// Changes a pool's budget (its runtime reported a different one); does not evict.
    public mutating func setCapacity(_ bytes: Int64, of pool: String = RuntimePool.builtin) {
        pools[pool, default: Budget(capacityBytes: 0)].capacityBytes = bytes
        capacityBytes = pools.values.reduce(0) { $0.addingSaturating($1.capacityBytes) }
    }

    /// Models held in `pool`.
    public func models(in pool: String) -> [ModelID] {
        entries.filter { $0.value.pool == pool }.map(\.key)
    }
}

/// Recent uses per model, resident or not (TinyLFU's counting with its reset): every count halves
/// once the uses recorded since the last halving reach ``periodPerResident`` × the models
/// resident (at least ``minimumPeriod``), so a count reflects the last few periods; models whose
/// count halves to zero are forgotten, and past ``limit`` models the halving comes early.
public struct UseCounts: Sendable {
    public var periodPerResident = 10
    public var minimumPeriod = 64
    public var limit = 65_536
    private var counts: [ModelID: UInt32] = [:]
    private var sinceHalving = 0

    public init() {}

    public func count(of model: ModelID) -> UInt32 { counts[model] ?? 0 }

    public var tracked: Int { counts.count }

    /// One use of `model`; `resident` is how many models the cache holds now.
    public mutating func record(_ model: ModelID, resident: Int) {
        let count = counts[model] ?? 0
        counts[model] = count == .max ? count : count + 1
        sinceHalving += 1
        if sinceHalving >= max(minimumPeriod, periodPerResident * resident) || counts.count > limit { halve() }
    }

    private mutating func halve() {
        counts = counts.compactMapValues { $0 > 1 ? $0 / 2 : nil }
        sinceHalving = 0
    }
}

/// The memory ledger of one peer: which models it holds, how big they are, and when each was last
/// used. Decides what to evict, least recently used first, when a new model needs room.
///
/// Sizes are estimates until a load finishes and ``resize(_:to:now:busy:)`` corrects them.
/// Evicted entries leave the ledger at once; the shell unloads them once their in-flight requests
/// are done.
public struct LocalCache: Sendable {
    public enum State: String, Sendable, Hashable { case loading, loaded }

    public struct Entry: Sendable, Hashable {
        public var state: State
        public var sizeBytes: Int64
        public var lastUsed: MeshTime
        /// When the entry entered its state.
        public var since: MeshTime
    }

    public enum Admission: Sendable, Hashable {
        /// Room was made; unload these first.
        case admitted(evicting: [ModelID])
        case alreadyPresent
        /// Larger than this peer's whole capacity.
        case tooLarge(neededBytes: Int64, capacityBytes: Int64)
        /// Room could only be made by evicting models used within the churn guard.
        case wouldChurn(neededBytes: Int64, youngestVictimIdle: Duration)
        /// Not enough evictable memory (the rest is loading or busy).
        case noRoom(neededBytes: Int64, reclaimableBytes: Int64)
    }

    public private(set) var capacityBytes: Int64
    public private(set) var entries: [ModelID: Entry] = [:]
    public private(set) var usedBytes: Int64 = 0

    public init(capacityBytes: Int64) {
        self.capacityBytes = capacityBytes
    }

    public var freeBytes: Int64 { capacityBytes - usedBytes }
    public var count: Int { entries.count }

    /// Last use of the least recently used loaded model.
    public var lruTime: MeshTime? {
        entries.values.lazy.filter { $0.state == .loaded }.map(\.lastUsed).min()
    }

    public func entry(_ model: ModelID) -> Entry? { entries[model] }

    /// Reserves `sizeBytes` for `model`, evicting least recently used models that are not `busy`.
    /// Models used less than `minChurnAge` ago are not evicted: thrashing them would cost more
    /// than refusing this load.
    public mutating func admit(
        _ model: ModelID, sizeBytes: Int64, now: MeshTime, minChurnAge: Duration, busy: Set<ModelID> = []
    ) -> Admission {
        if entries[model] != nil { return .alreadyPresent }
        guard sizeBytes <= capacityBytes else { return .tooLarge(neededBytes: sizeBytes, capacityBytes: capacityBytes) }
        var victims: [ModelID] = []
        var free = freeBytes
        if free < sizeBytes {
            let candidates = entries
                .filter { $0.value.state == .loaded && !busy.contains($0.key) }
                .sorted { ($0.value.lastUsed, $0.key) < ($1.value.lastUsed, $1.key) }
            for (candidate, entry) in candidates where free < sizeBytes {
                victims.append(candidate)
                free += entry.sizeBytes
            }
            guard free >= sizeBytes else {
                return .noRoom(neededBytes: sizeBytes, reclaimableBytes: freeBytes + candidates.reduce(0) { $0 + $1.value.sizeBytes })
            }
            if let youngest = victims.compactMap({ entries[$0]?.lastUsed }).max(), now - youngest < minChurnAge {
                return .wouldChurn(neededBytes: sizeBytes, youngestVictimIdle: now - youngest)
            }
            for victim in victims { remove(victim) }
        }
        entries[model] = Entry(state: .loading, sizeBytes: sizeBytes, lastUsed: now, since: now)
        usedBytes += sizeBytes
        return .admitted(evicting: victims)
    }

    /// Records the size a finished load measured. If the estimate was low and memory is now
    /// overcommitted, evicts least recently used idle models (the churn guard does not apply: the
    /// memory is already in use) and returns them.
    public mutating func resize(_ model: ModelID, to sizeBytes: Int64, now: MeshTime, busy: Set<ModelID> = []) -> [ModelID] {
        guard var entry = entries[model] else { return [] }
        usedBytes += sizeBytes - entry.sizeBytes
        entry.sizeBytes = sizeBytes
        entries[model] = entry
        guard usedBytes > capacityBytes else { return [] }
        var victims: [ModelID] = []
        let candidates = entries
            .filter { $0.key != model && $0.value.state == .loaded && !busy.contains($0.key) }
            .sorted { ($0.value.lastUsed, $0.key) < ($1.value.lastUsed, $1.key) }
        for (candidate, _) in candidates where usedBytes > capacityBytes {
            victims.append(candidate)
            remove(candidate)
        }
        return victims
    }

    public mutating func markLoaded(_ model: ModelID, now: MeshTime) {
        guard entries[model] != nil else { return }
        entries[model]!.state = .loaded
        entries[model]!.since = now
        entries[model]!.lastUsed = max(entries[model]!.lastUsed, now)
    }

    public mutating func touch(_ model: ModelID, now: MeshTime) {
        guard let entry = entries[model], entry.lastUsed < now else { return }
        entries[model]!.lastUsed = now
    }

    @discardableResult
    public mutating func remove(_ model: ModelID) -> Entry? {
        guard let entry = entries.removeValue(forKey: model) else { return nil }
        usedBytes -= entry.sizeBytes
        return entry
    }

    /// Puts back entries removed by an admission that was then abandoned.
    public mutating func restore(_ model: ModelID, _ entry: Entry) {
        guard entries[model] == nil else { return }
        entries[model] = entry
        usedBytes += entry.sizeBytes
    }

    /// Changes the capacity (e.g. the runtime reported a different budget); does not evict.
    public mutating func setCapacity(_ bytes: Int64) { capacityBytes = bytes }
}

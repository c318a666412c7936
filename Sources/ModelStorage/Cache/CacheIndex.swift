import MeshCore

/// One complete model in the disk cache: a location at one version (ETag).
struct CacheEntry: Sendable, Hashable {
    /// Derived from identity and version: the same model at the same version has the same id.
    let id: String
    /// Unique per download (`<id>.<nonce>`), so removing an evicted copy can never hit a newer one.
    let directoryName: String
    let identity: String
    let version: String
    let bytes: Int64
    let fileCount: Int
    /// The file or directory name inside the entry's `content` directory.
    let contentName: String
    let isDirectory: Bool
    /// Validators for conditional HTTP requests.
    let etag: String?
    let lastModified: String?
    let source: String
    var lastUse: UInt64
}

/// What the disk cache holds, who uses what, and what to evict: the cache's decisions without
/// its I/O. The shell carries out the returned evictions and publishes downloads.
struct CacheIndex {
    let capacity: Int64
    private(set) var entries: [String: CacheEntry] = [:]
    /// Which entry each model's current load uses; such entries are never evicted.
    private(set) var pins: [ModelID: String] = [:]
    private var pinCounts: [String: Int] = [:]
    private(set) var usedBytes: Int64 = 0
    /// Bytes promised to downloads in progress.
    private(set) var reservedBytes: Int64 = 0
    private var clock: UInt64 = 0

    init(capacity: Int64) {
        self.capacity = capacity
    }

    // MARK: - Reading

    func entry(identity: String, version: String) -> CacheEntry? {
        entries[Self.entryID(identity: identity, version: version)].flatMap { $0.identity == identity ? $0 : nil }
    }

    /// The most recently used entry of a location, whatever its version (for conditional GETs).
    func newestEntry(identity: String) -> CacheEntry? {
        entries.values.filter { $0.identity == identity }.max { $0.lastUse < $1.lastUse }
    }

    func isPinned(_ id: String) -> Bool { pinCounts[id, default: 0] > 0 }

    var pinnedBytes: Int64 {
        pinCounts.keys.reduce(0) { $0 + (entries[$1]?.bytes ?? 0) }
    }

    // MARK: - Changes

    /// Adds an entry found on disk at start-up; older uses first keeps their LRU order.
    mutating func restore(_ entry: CacheEntry) {
        guard entries[entry.id] == nil else { return }
        var entry = entry
        clock += 1
        entry.lastUse = clock
        entries[entry.id] = entry
        usedBytes += entry.bytes
    }

    /// Marks `id` used now by `model`; the model's previous entry (if another) is released.
    @discardableResult
    mutating func use(_ id: String, by model: ModelID) -> CacheEntry? {
        guard entries[id] != nil else { return nil }
        clock += 1
        entries[id]!.lastUse = clock
        if pins[model] != id {
            release(model)
            pins[model] = id
            pinCounts[id, default: 0] += 1
        }
        return entries[id]
    }

    mutating func release(_ model: ModelID) {
        guard let id = pins.removeValue(forKey: model) else { return }
        let remaining = pinCounts[id, default: 1] - 1
        pinCounts[id] = remaining > 0 ? remaining : nil
    }

    enum Reservation: Equatable {
        /// Granted; these entries must be removed from disk first (they are out of the index).
        case granted(evicting: [CacheEntry])
        /// Even evicting everything not in use leaves too little room.
        case refused(available: Int64)
    }

    /// Makes room for `bytes` more, evicting least recently used entries that no load uses.
    mutating func reserve(_ bytes: Int64) -> Reservation {
        let victims = evictionCandidates(toFree: usedBytes + reservedBytes + bytes - capacity)
        guard let victims else {
            return .refused(available: capacity - reservedBytes - pinnedBytes)
        }
        for victim in victims { remove(victim.id) }
        reservedBytes += bytes
        return .granted(evicting: victims)
    }

    mutating func cancelReservation(_ bytes: Int64) {
        reservedBytes = max(0, reservedBytes - bytes)
    }

    /// Adds a published download in place of its reservation and pins it for `model`.
    ///
    /// Returns the entry to use (an identical one published first by a concurrent fetch wins,
    /// and the new copy is to be deleted), and the entries to delete: unused older versions of
    /// the same location and, when the download was bigger than reserved, least recently used
    /// entries until the cache fits again.
    mutating func commit(_ entry: CacheEntry, reserved: Int64, for model: ModelID) -> (use: CacheEntry, delete: [CacheEntry]) {
        cancelReservation(reserved)
        if let existing = entries[entry.id] {
            use(existing.id, by: model)
            return (entries[existing.id]!, [entry])
        }
        var entry = entry
        clock += 1
        entry.lastUse = clock
        entries[entry.id] = entry
        usedBytes += entry.bytes
        use(entry.id, by: model)
        var evicted = entries.values.filter { $0.identity == entry.identity && $0.id != entry.id && !isPinned($0.id) }
        for old in evicted { remove(old.id) }
        let overflow = usedBytes + reservedBytes - capacity
        if overflow > 0 {
            let victims = evictionCandidates(toFree: overflow, allowingPartial: true) ?? []
            for victim in victims { remove(victim.id) }
            evicted += victims
        }
        return (entries[entry.id]!, evicted)
    }

    /// Forgets an entry (evicted, or found broken).
    mutating func remove(_ id: String) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        usedBytes -= entry.bytes
    }

    /// Unpinned entries, least recently used first, until `bytes` are freed; nil when impossible
    /// (unless partial freeing is allowed).
    private func evictionCandidates(toFree bytes: Int64, allowingPartial: Bool = false) -> [CacheEntry]? {
        guard bytes > 0 else { return [] }
        var freed: Int64 = 0
        var victims: [CacheEntry] = []
        for entry in entries.values.filter({ !isPinned($0.id) }).sorted(by: { $0.lastUse < $1.lastUse }) {
            if freed >= bytes { break }
            victims.append(entry)
            freed += entry.bytes
        }
        return freed >= bytes || allowingPartial ? victims : nil
    }

    /// A directory name for a location at a version: stable across restarts, safe on any file system.
    static func entryID(identity: String, version: String) -> String {
        Hex.sha256("\(identity)\n\(version)").prefix(40).description
    }
}

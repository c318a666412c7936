/// A bounded cache of records read on demand (model and vmodel records) and kept fresh by the
/// cluster watch.
///
/// The watch updates entries that are cached; everything else is read from etcd on a miss. A read
/// races with the watch: an event for the key may be applied while the read is on its way, and
/// the read's older answer must not overwrite it. Keys being read are therefore tracked, and the
/// newest of "read result" and "event seen meanwhile" wins, by revision.
public struct RecordCache<Key: Hashable & Sendable, Record: Sendable>: Sendable {
    public struct Entry: Sendable {
        /// nil: known not to exist.
        public var record: Record?
        public var revision: Int64
        var lastUsed: UInt64
    }

    public let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var inFlightReads: [Key: Entry?] = [:]
    private var clock: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { entries.count }

    /// The cached entry (a hit marks it recently used).
    public mutating func lookup(_ key: Key) -> Entry? {
        guard var entry = entries[key] else { return nil }
        clock += 1
        entry.lastUsed = clock
        entries[key] = entry
        return entry
    }

    /// Call before reading `key` from etcd.
    public mutating func beginRead(_ key: Key) {
        if inFlightReads[key] == nil { inFlightReads[key] = .some(nil) }
    }

    /// Stores what a read returned at `revision`, unless the watch delivered something newer
    /// meanwhile; returns the entry that is now current.
    @discardableResult
    public mutating func finishRead(_ key: Key, record: Record?, revision: Int64) -> Entry {
        let seen = inFlightReads.removeValue(forKey: key) ?? nil
        clock += 1
        var entry = Entry(record: record, revision: revision, lastUsed: clock)
        if let seen = seen ?? nil, seen.revision > revision { entry = Entry(record: seen.record, revision: seen.revision, lastUsed: clock) }
        if let existing = entries[key], existing.revision > entry.revision { entry = Entry(record: existing.record, revision: existing.revision, lastUsed: clock) }
        insert(key, entry)
        return entry
    }

    /// Abandons a read that failed.
    public mutating func cancelRead(_ key: Key) {
        inFlightReads[key] = nil
    }

    /// Applies a watch event: a put (record) or a delete (nil) at `revision`.
    public mutating func apply(_ key: Key, record: Record?, revision: Int64) {
        if inFlightReads[key] != nil {
            inFlightReads[key] = .some(Entry(record: record, revision: revision, lastUsed: 0))
        }
        guard let existing = entries[key], existing.revision < revision else { return }
        entries[key] = Entry(record: record, revision: revision, lastUsed: existing.lastUsed)
    }

    /// Drops everything (after a resync, when events may have been missed).
    public mutating func removeAll() {
        entries.removeAll()
        inFlightReads.removeAll()
    }

    private mutating func insert(_ key: Key, _ entry: Entry) {
        entries[key] = entry
        guard entries.count > capacity else { return }
        // Evict the least recently used eighth in one pass, so a full cache costs O(n) per n/8 inserts.
        let victims = entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(max(1, capacity / 8))
        for victim in victims where victim.key != key { entries[victim.key] = nil }
    }
}

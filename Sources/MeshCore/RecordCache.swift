/// A bounded cache of records read on demand (model and vmodel records) and kept fresh by the
/// cluster watch.
///
/// The watch updates entries that are cached and adds records it sees written (a model is
/// registered to be used, so its first request finds it here instead of reading etcd); those
/// enter as least recently used, so a burst of registrations never pushes out the records that
/// requests use. Everything else is read from etcd on a miss. A read
/// races with the watch: an event for the key may be applied while the read is on its way, and
/// the read's older answer must not overwrite it. Keys being read are therefore tracked, and the
/// newest of "read result" and "event seen meanwhile" wins, by revision.
///
/// Names known not to exist are kept apart, in a smaller cache of their own: a client asking
/// for random names can fill that one, never push out the records that do exist.
public struct RecordCache<Key: Hashable & Sendable, Record: Sendable>: Sendable {
    public struct Entry: Sendable {
        /// nil: known not to exist.
        public var record: Record?
        public var revision: Int64
        var lastUsed: UInt64
    }

    public let capacity: Int
    /// How many names known not to exist are kept.
    public let absentCapacity: Int
    private var present: [Key: Entry] = [:]
    private var absent: [Key: Entry] = [:]
    private var inFlightReads: [Key: Entry?] = [:]
    private var clock: UInt64 = 0

    public init(capacity: Int, absentCapacity: Int? = nil) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.absentCapacity = max(1, absentCapacity ?? capacity / 8)
    }

    /// Records held, existing or not.
    public var count: Int { present.count + absent.count }
    public var absentCount: Int { absent.count }

    /// The cached entry (a hit marks it recently used).
    public mutating func lookup(_ key: Key) -> Entry? {
        clock += 1
        if var entry = present[key] {
            entry.lastUsed = clock
            present[key] = entry
            return entry
        }
        if var entry = absent[key] {
            entry.lastUsed = clock
            absent[key] = entry
            return entry
        }
        return nil
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
        if let existing = present[key] ?? absent[key], existing.revision > entry.revision {
            entry = Entry(record: existing.record, revision: existing.revision, lastUsed: clock)
        }
        insert(key, entry)
        return entry
    }

    /// Abandons a read that failed.
    public mutating func cancelRead(_ key: Key) {
        inFlightReads[key] = nil
    }

    /// Applies a watch event: a put (record) or a delete (nil) at `revision`. A put of a key not
    /// cached is added as the least recently used entry; a delete of one is not kept.
    public mutating func apply(_ key: Key, record: Record?, revision: Int64) {
        if inFlightReads[key] != nil {
            inFlightReads[key] = .some(Entry(record: record, revision: revision, lastUsed: 0))
        }
        guard let existing = present[key] ?? absent[key] else {
            if record != nil { insert(key, Entry(record: record, revision: revision, lastUsed: 0)) }
            return
        }
        guard existing.revision < revision else { return }
        insert(key, Entry(record: record, revision: revision, lastUsed: existing.lastUsed))
    }

    /// Drops everything (after a resync, when events may have been missed).
    public mutating func removeAll() {
        present.removeAll()
        absent.removeAll()
        inFlightReads.removeAll()
    }

    private mutating func insert(_ key: Key, _ entry: Entry) {
        if entry.record == nil {
            present[key] = nil
            absent[key] = entry
            Self.trim(&absent, to: absentCapacity, keeping: key)
        } else {
            absent[key] = nil
            present[key] = entry
            Self.trim(&present, to: capacity, keeping: key)
        }
    }

    /// Evicts the least recently used eighth in one pass, so a full cache costs O(n) per n/8 inserts.
    private static func trim(_ entries: inout [Key: Entry], to capacity: Int, keeping key: Key) {
        guard entries.count > capacity else { return }
        let victims = entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(max(1, capacity / 8))
        for victim in victims where victim.key != key { entries[victim.key] = nil }
    }
}

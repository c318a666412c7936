import MeshCore
import Testing

@Suite struct RecordCacheTests {
    @Test func readFillsAndWatchUpdates() {
        var cache = RecordCache<String, Int>(capacity: 10)
        #expect(cache.lookup("a") == nil)
        cache.beginRead("a")
        cache.finishRead("a", record: 1, revision: 5)
        #expect(cache.lookup("a")?.record == 1)
        cache.apply("a", record: 2, revision: 6)
        #expect(cache.lookup("a")?.record == 2)
        // An older event is ignored.
        cache.apply("a", record: 3, revision: 4)
        #expect(cache.lookup("a")?.record == 2)
        cache.apply("a", record: nil, revision: 7)
        #expect(cache.lookup("a") != nil)
        #expect(cache.lookup("a")?.record == nil)
    }

    /// A record the watch sees written is kept (its first request needs no read); a delete of a
    /// key not cached is not.
    @Test func writtenRecordsAreKeptButDeletesOfUncachedKeysAreNot() {
        var cache = RecordCache<String, Int>(capacity: 10)
        cache.apply("x", record: 1, revision: 3)
        #expect(cache.lookup("x")?.record == 1)
        #expect(cache.lookup("x")?.revision == 3)
        cache.apply("gone", record: nil, revision: 4)
        #expect(cache.lookup("gone") == nil)
        #expect(cache.count == 1)
    }

    /// Records written in a burst enter as least recently used: they push out each other, never
    /// a record requests use.
    @Test func aBurstOfWrittenRecordsCannotPushOutRecordsInUse() {
        var cache = RecordCache<Int, Int>(capacity: 64)
        for key in 0..<32 { cache.finishRead(key, record: key, revision: 1) }
        for key in 1000..<101_000 { cache.apply(key, record: key, revision: Int64(key)) }
        #expect(cache.count <= 64)
        for key in 0..<32 { #expect(cache.lookup(key)?.record == key) }
        #expect(cache.lookup(100_999)?.record == 100_999)
    }

    @Test func anEventDuringAReadWins() {
        var cache = RecordCache<String, Int>(capacity: 10)
        cache.beginRead("m")
        // Registered while our read of "absent" was on its way.
        cache.apply("m", record: 7, revision: 11)
        let entry = cache.finishRead("m", record: nil, revision: 10)
        #expect(entry.record == 7)
        #expect(cache.lookup("m")?.revision == 11)
    }

    @Test func aNewerReadBeatsAnOlderEventDuringIt() {
        var cache = RecordCache<String, Int>(capacity: 10)
        cache.beginRead("m")
        cache.apply("m", record: 1, revision: 8)
        let entry = cache.finishRead("m", record: 2, revision: 9)
        #expect(entry.record == 2)
    }

    @Test func staysWithinCapacityEvictingLeastRecentlyUsed() {
        var cache = RecordCache<Int, Int>(capacity: 16)
        for key in 0..<16 { cache.finishRead(key, record: key, revision: 1) }
        _ = cache.lookup(0)
        for key in 16..<40 { cache.finishRead(key, record: key, revision: 1) }
        #expect(cache.count <= 16)
        #expect(cache.lookup(39) != nil)
        #expect(cache.lookup(1) == nil)
    }

    /// Random names that do not exist fill their own small cache, never the records that exist.
    @Test func namesThatDoNotExistCannotPushOutRecords() {
        var cache = RecordCache<Int, Int>(capacity: 64)
        for key in 0..<32 { cache.finishRead(key, record: key, revision: 1) }
        for key in 1000..<101_000 { cache.finishRead(key, record: nil, revision: 1) }
        #expect(cache.absentCount <= cache.absentCapacity)
        #expect(cache.absentCapacity == 8)
        for key in 0..<32 { #expect(cache.lookup(key)?.record == key) }
        // A name that comes to exist leaves the absent cache.
        cache.finishRead(100_999, record: nil, revision: 1)
        cache.apply(100_999, record: 7, revision: 2)
        #expect(cache.lookup(100_999)?.record == 7)
    }
}

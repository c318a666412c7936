import MeshCore
@testable import ModelStorage
import Testing

@Suite(.timeLimit(.minutes(5))) struct CacheIndexTests {
    func entry(_ identity: String, version: String = "v1", bytes: Int64) -> CacheEntry {
        let id = CacheIndex.entryID(identity: identity, version: version)
        return CacheEntry(
            id: id, directoryName: "\(id).x", identity: identity, version: version, bytes: bytes, fileCount: 1,
            contentName: "m", isDirectory: false, etag: nil, lastModified: nil, source: identity, lastUse: 0
        )
    }

    @Test func reservationsEvictLeastRecentlyUsedUnpinnedEntries() {
        var index = CacheIndex(capacity: 100)
        #expect(index.reserve(40) == .granted(evicting: []))
        _ = index.commit(entry("a", bytes: 40), reserved: 40, for: modelID("a"))
        #expect(index.reserve(40) == .granted(evicting: []))
        _ = index.commit(entry("b", bytes: 40), reserved: 40, for: modelID("b"))
        #expect(index.usedBytes == 80)

        // Both in use: 20 bytes is all there is.
        #expect(index.reserve(30) == .refused(available: 20))
        index.release(modelID("a"))
        index.release(modelID("b"))
        index.use(entry("a", bytes: 40).id, by: modelID("a2"))
        index.release(modelID("a2"))
        guard case .granted(let evicted) = index.reserve(30) else { Issue.record("refused"); return }
        #expect(evicted.map(\.identity) == ["b"], "b was used least recently")
        #expect(index.reservedBytes == 30)
        index.cancelReservation(30)
        #expect(index.reservedBytes == 0)
    }

    @Test func newVersionReplacesUnusedOldVersionsAndDuplicatesKeepTheFirst() {
        var index = CacheIndex(capacity: 1_000)
        _ = index.commit(entry("m", version: "v1", bytes: 10), reserved: 10, for: modelID("x"))
        index.release(modelID("x"))
        let (used, deleted) = index.commit(entry("m", version: "v2", bytes: 20), reserved: 20, for: modelID("x"))
        #expect(used.version == "v2")
        #expect(deleted.map(\.version) == ["v1"])
        #expect(index.entries.count == 1)

        var duplicate = entry("m", version: "v2", bytes: 20)
        duplicate = CacheEntry(
            id: duplicate.id, directoryName: "\(duplicate.id).other", identity: "m", version: "v2", bytes: 20, fileCount: 1,
            contentName: "m", isDirectory: false, etag: nil, lastModified: nil, source: "m", lastUse: 0
        )
        let (kept, extra) = index.commit(duplicate, reserved: 20, for: modelID("y"))
        #expect(kept.directoryName == used.directoryName)
        #expect(extra.map(\.directoryName) == ["\(duplicate.id).other"])
        #expect(index.usedBytes == 20)
    }

    @Test func pinsFollowTheModelsLatestFetch() {
        var index = CacheIndex(capacity: 1_000)
        _ = index.commit(entry("m", version: "v1", bytes: 10), reserved: 10, for: modelID("x"))
        let v1 = entry("m", version: "v1", bytes: 10).id
        _ = index.use(v1, by: modelID("y"))
        // y keeps v1 in use while x moves to v2: v1 stays.
        let (_, deleted) = index.commit(entry("m", version: "v2", bytes: 10), reserved: 10, for: modelID("x"))
        #expect(deleted.isEmpty)
        #expect(index.isPinned(v1))
        index.release(modelID("y"))
        #expect(!index.isPinned(v1))
    }
}

import MeshCore
import Testing

@Suite struct LocalCacheTests {
    @Test func admitsWhileThereIsRoom() {
        var cache = LocalCache(capacityBytes: 300)
        let clock = FakeClock()
        #expect(cache.admit(model("a"), sizeBytes: 100, now: clock.now, minChurnAge: .zero) == .admitted(evicting: []))
        #expect(cache.admit(model("a"), sizeBytes: 100, now: clock.now, minChurnAge: .zero) == .alreadyPresent)
        #expect(cache.usedBytes == 100)
        #expect(cache.entry(model("a"))?.state == .loading)
    }

    @Test func evictsTheLeastRecentlyUsedToMakeRoom() {
        var cache = LocalCache(capacityBytes: 200)
        var clock = FakeClock()
        for name in ["a", "b"] {
            _ = cache.admit(model(name), sizeBytes: 100, now: clock.now, minChurnAge: .zero)
            cache.markLoaded(model(name), now: clock.now)
            clock.advance(.seconds(10))
        }
        cache.touch(model("a"), now: clock.now)
        clock.advance(.seconds(10))
        #expect(cache.admit(model("c"), sizeBytes: 100, now: clock.now, minChurnAge: .seconds(5)) == .admitted(evicting: [model("b")]))
        #expect(Set(cache.entries.keys) == [model("a"), model("c")])
        #expect(cache.usedBytes == 200)
    }

    @Test func churnGuardRefusesToEvictRecentlyUsedModels() {
        var cache = LocalCache(capacityBytes: 100)
        var clock = FakeClock()
        _ = cache.admit(model("a"), sizeBytes: 100, now: clock.now, minChurnAge: .zero)
        cache.markLoaded(model("a"), now: clock.now)
        clock.advance(.seconds(3))
        #expect(cache.admit(model("b"), sizeBytes: 50, now: clock.now, minChurnAge: .seconds(30))
            == .wouldChurn(neededBytes: 50, youngestVictimIdle: .seconds(3)))
        #expect(cache.entry(model("a")) != nil)
        clock.advance(.seconds(30))
        #expect(cache.admit(model("b"), sizeBytes: 50, now: clock.now, minChurnAge: .seconds(30)) == .admitted(evicting: [model("a")]))
    }

    @Test func busyAndLoadingModelsAreNotEvicted() {
        var cache = LocalCache(capacityBytes: 200)
        let clock = FakeClock()
        _ = cache.admit(model("loading"), sizeBytes: 100, now: clock.now, minChurnAge: .zero)
        _ = cache.admit(model("busy"), sizeBytes: 100, now: clock.now, minChurnAge: .zero)
        cache.markLoaded(model("busy"), now: clock.now)
        #expect(cache.admit(model("new"), sizeBytes: 100, now: clock.now, minChurnAge: .zero, busy: [model("busy")])
            == .noRoom(neededBytes: 100, reclaimableBytes: 0))
        #expect(cache.admit(model("new"), sizeBytes: 100, now: clock.now, minChurnAge: .zero) == .admitted(evicting: [model("busy")]))
    }

    @Test func tooLargeForTheWholeCapacity() {
        var cache = LocalCache(capacityBytes: 100)
        #expect(cache.admit(model("huge"), sizeBytes: 101, now: FakeClock().now, minChurnAge: .zero)
            == .tooLarge(neededBytes: 101, capacityBytes: 100))
        #expect(cache.count == 0)
    }

    @Test func resizeAfterLoadEvictsWhenTheEstimateWasLow() {
        var cache = LocalCache(capacityBytes: 300)
        var clock = FakeClock()
        for name in ["old", "mid"] {
            _ = cache.admit(model(name), sizeBytes: 100, now: clock.now, minChurnAge: .zero)
            cache.markLoaded(model(name), now: clock.now)
            clock.advance(.seconds(1))
        }
        _ = cache.admit(model("new"), sizeBytes: 50, now: clock.now, minChurnAge: .zero)
        #expect(cache.resize(model("new"), to: 150, now: clock.now) == [model("old")])
        #expect(cache.usedBytes == 250)
        #expect(cache.resize(model("new"), to: 120, now: clock.now) == [])
        #expect(cache.usedBytes == 220)
    }

    @Test func lruTimeIsTheOldestLoadedUse() {
        var cache = LocalCache(capacityBytes: 1000)
        var clock = FakeClock()
        #expect(cache.lruTime == nil)
        let start = clock.now
        _ = cache.admit(model("a"), sizeBytes: 1, now: clock.now, minChurnAge: .zero)
        cache.markLoaded(model("a"), now: clock.now)
        clock.advance(.seconds(5))
        _ = cache.admit(model("b"), sizeBytes: 1, now: clock.now, minChurnAge: .zero)
        #expect(cache.lruTime == start)
        cache.touch(model("a"), now: clock.now)
        #expect(cache.lruTime == clock.now)
        #expect(cache.remove(model("a"))?.sizeBytes == 1)
        #expect(cache.lruTime == nil)
    }
}

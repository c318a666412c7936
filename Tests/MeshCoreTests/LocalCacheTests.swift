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

    // MARK: Cost-aware eviction

    /// Loads `name` (size `size`, load cost `cost`) and uses it `uses` times.
    func load(_ name: String, into cache: inout LocalCache, size: Int64 = 100, cost: Duration = .seconds(1), uses: Int = 1, clock: FakeClock) {
        _ = cache.admit(model(name), sizeBytes: size, now: clock.now, minChurnAge: .zero)
        cache.markLoaded(model(name), now: clock.now, cost: cost)
        for _ in 0..<uses { cache.touch(model(name), now: clock.now) }
    }

    @Test func aFrequentlyUsedModelOutlivesMoreRecentOneOffs() {
        var cache = LocalCache(capacityBytes: 300)
        var clock = FakeClock()
        load("hot", into: &cache, uses: 50, clock: clock)
        clock.advance(.seconds(10))
        load("once-1", into: &cache, clock: clock)
        load("once-2", into: &cache, clock: clock)
        clock.advance(.seconds(10))
        #expect(cache.admit(model("new"), sizeBytes: 100, now: clock.now, minChurnAge: .zero) == .admitted(evicting: [model("once-1")]))
        // The same history under LRU loses the hot model.
        var lru = LocalCache(capacityBytes: 300, policy: .leastRecentlyUsed)
        clock = FakeClock()
        load("hot", into: &lru, uses: 50, clock: clock)
        clock.advance(.seconds(10))
        load("once-1", into: &lru, clock: clock)
        load("once-2", into: &lru, clock: clock)
        #expect(lru.admit(model("new"), sizeBytes: 100, now: clock.now, minChurnAge: .zero) == .admitted(evicting: [model("hot")]))
    }

    @Test func aSmallSlowModelOutlivesALargeQuickOneUsedAsOften() {
        var cache = LocalCache(capacityBytes: 400 * MiB)
        let clock = FakeClock()
        load("small-slow", into: &cache, size: 50 * MiB, cost: .seconds(20), uses: 5, clock: clock)
        load("large-quick", into: &cache, size: 300 * MiB, cost: .seconds(2), uses: 5, clock: clock)
        let slow = cache.value(of: model("small-slow"), cache.entry(model("small-slow"))!)
        let quick = cache.value(of: model("large-quick"), cache.entry(model("large-quick"))!)
        #expect(slow == 5 * 20_000 / 50 && quick == 5 * 2_000 / 300.0)
        #expect(cache.cheapestValue(now: clock.now) == quick)
        #expect(cache.admit(model("new"), sizeBytes: 100 * MiB, now: clock.now, minChurnAge: .zero) == .admitted(evicting: [model("large-quick")]))
    }

    @Test func aModelEvictedAndLoadedAgainKeepsItsUses() {
        var cache = LocalCache(capacityBytes: 100)
        var clock = FakeClock()
        load("returning", into: &cache, uses: 20, clock: clock)
        clock.advance(.seconds(1))
        load("other", into: &cache, clock: clock)
        #expect(cache.entry(model("returning")) == nil)
        #expect(cache.uses.count(of: model("returning")) == 20)
        clock.advance(.seconds(1))
        // Back again, it outranks the model used once.
        #expect(cache.admit(model("returning"), sizeBytes: 100, now: clock.now, minChurnAge: .zero) == .admitted(evicting: [model("other")]))
    }

    @Test func recentOneOffsGoBeforeOlderValuableModelsAndOnlyAsManyAsAllowed() {
        var cache = LocalCache(capacityBytes: 300)
        var clock = FakeClock()
        load("old-but-valuable", into: &cache, uses: 100, clock: clock)
        clock.advance(.seconds(60))
        load("young-1", into: &cache, clock: clock)
        load("young-2", into: &cache, clock: clock)
        // Evicting a model used within the churn guard needs the caller's allowance.
        #expect(cache.admit(model("a"), sizeBytes: 100, now: clock.now, minChurnAge: .seconds(30))
            == .wouldChurn(neededBytes: 100, youngestVictimIdle: .zero))
        #expect(cache.admit(model("a"), sizeBytes: 100, now: clock.now, minChurnAge: .seconds(30), youngEvictions: 1) == .admitted(evicting: [model("young-1")]))
        // Under LRU the old model goes first, with no allowance needed.
        var lru = LocalCache(capacityBytes: 300, policy: .leastRecentlyUsed)
        clock = FakeClock()
        load("old-but-valuable", into: &lru, uses: 100, clock: clock)
        clock.advance(.seconds(60))
        load("young-1", into: &lru, clock: clock)
        load("young-2", into: &lru, clock: clock)
        #expect(lru.admit(model("a"), sizeBytes: 100, now: clock.now, minChurnAge: .seconds(30)) == .admitted(evicting: [model("old-but-valuable")]))
    }

    @Test func useCountsHalveSoAModelThatStopsBeingUsedLosesItsPlace() {
        var counts = UseCounts()
        counts.minimumPeriod = 10
        for _ in 0..<8 { counts.record(model("formerly-hot"), resident: 1) }
        #expect(counts.count(of: model("formerly-hot")) == 8)
        for index in 0..<40 { counts.record(model("other-\(index % 4)"), resident: 1) }
        #expect(counts.count(of: model("formerly-hot")) == 0)
        #expect(counts.count(of: model("other-0")) > 0)
        #expect(counts.tracked <= 5)
    }
}

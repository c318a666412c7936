import MeshCore
@testable import MeshSimulation
import Testing

/// Tiny traces whose every hit, load and eviction can be worked out on paper.
@Suite struct HandTraceTests {
    /// One peer with room for two of three equal models, loads of one second, no churn guard.
    @Test func lruOnOnePeer() {
        var configuration = handConfiguration(peers: 1, capacity: 250 * MiB)
        configuration.minChurnAge = .zero
        configuration.evictionPolicy = .leastRecentlyUsed
        let catalog = ModelCatalog(sizes: [100 * MiB, 100 * MiB, 100 * MiB], loadMillis: [1000, 1000, 1000])
        let trace = handTrace([
            (0, 0, 0),      // m0: nothing anywhere: load here (done at 1 s)
            (500, 0, 0),    // m0: still loading: wait for it
            (2000, 0, 0),   // m0: loaded: hit
            (3000, 1, 0),   // m1: load, room for it
            (5000, 2, 0),   // m2: full: evict m0 (last used at 2 s; m1 at 4 s)
            (7000, 0, 0),   // m0: evict m1 (4 s; m2 at 6 s)
            (9000, 1, 0),   // m1: evict m2 (6 s; m0 at 8 s)
        ], durationMillis: 10_000)
        let simulator = runMesh(configuration, catalog, trace)
        let statistics = simulator.statistics
        #expect(statistics.requests == 7)
        #expect(statistics.count(.localHit) == 1)
        #expect(statistics.count(.joinedLoad) == 1)
        #expect(statistics.count(.causedLoad) == 5)
        #expect(statistics.count(.failed) == 0)
        #expect(statistics.requestLoads == 5)
        #expect(statistics.evictions == 3)
        #expect(statistics.tally.hits == 1)
        // Left holding m0 and m1, and the view says the same.
        let peer = simulator.peers[0]
        #expect(Set(peer.ledger.cache.entries.keys) == [catalog.ids[0], catalog.ids[1]])
        #expect(simulator.view.holdings(of: peer.id).models == [catalog.ids[0], catalog.ids[1]])
    }

    /// The same models with the cost-aware policy: a model used often survives a stream of
    /// one-off models, where LRU would evict it for each.
    @Test func aFrequentlyUsedModelOutlivesOneOffs() {
        var configuration = handConfiguration(peers: 1, capacity: 250 * MiB)
        configuration.minChurnAge = .zero
        let catalog = ModelCatalog(sizes: [100 * MiB, 100 * MiB, 100 * MiB, 100 * MiB], loadMillis: [1000, 1000, 1000, 1000])
        let trace = handTrace([
            (0, 0, 0), (2000, 0, 0), (2100, 0, 0), (2200, 0, 0),   // m0: loaded, then used three times
            (3000, 1, 0),                                          // m1: room for it
            (5000, 2, 0),                                          // m2: full: evicts m1 (used once), not m0
            (7000, 3, 0),                                          // m3: evicts m2 (used once)
            (9000, 0, 0),                                          // m0: still here
        ], durationMillis: 12_000)
        let statistics = runMesh(configuration, catalog, trace).statistics
        #expect(statistics.count(.localHit) == 4)
        #expect(statistics.requestLoads == 4)
        #expect(statistics.evictions == 2)
        var lru = configuration
        lru.evictionPolicy = .leastRecentlyUsed
        // Under LRU m0 (last used at 2.2 s) goes for m2, and its last request loads it again.
        #expect(runMesh(lru, catalog, trace).statistics.requestLoads == 5)
    }

    /// The churn guard limits how fast recently used models are evicted: the third model waits
    /// for the limit (one eviction of a recent model per 10 s) instead of being refused.
    @Test func theChurnGuardMakesLoadsWaitNotFail() {
        var configuration = handConfiguration(peers: 1, capacity: 250 * MiB)
        configuration.churnLimitPerSecond = 0.1
        let catalog = ModelCatalog(sizes: [100 * MiB, 100 * MiB, 100 * MiB, 100 * MiB], loadMillis: [1000, 1000, 1000, 1000])
        let trace = handTrace([(0, 0, 0), (3000, 1, 0), (5000, 2, 0), (5500, 3, 0)], durationMillis: 30_000)
        let statistics = runMesh(configuration, catalog, trace).statistics
        #expect(statistics.count(.failed) == 0)
        #expect(statistics.count(.causedLoad) == 4)
        // m2 evicts at once (the limit's burst); m3 waits for the next allowance, about 10 s.
        #expect(statistics.refusedByChurnGuard >= 1)
        #expect(statistics.roomWaitMillis >= 9000)
        var impatient = configuration
        impatient.requestTimeout = .seconds(2)
        #expect(runMesh(impatient, catalog, trace).statistics.failures[.deadline] == 1)
    }

    /// Two peers: a miss is placed by rendezvous hash (both are empty), and a request reaching
    /// the other peer is forwarded to the holder as a hit.
    @Test func forwardedHitOnTwoPeers() {
        let configuration = handConfiguration(peers: 2, capacity: 1 << 30)
        let catalog = ModelCatalog(sizes: [100 * MiB], loadMillis: [1000])
        // Draw 0 reaches the first live peer, draw 1 the second.
        let trace = handTrace([(0, 0, 0), (2000, 0, 0), (3000, 0, 1)], durationMillis: 5000)
        let simulator = runMesh(configuration, catalog, trace)
        let statistics = simulator.statistics
        let p0 = simulator.peers[0].id, p1 = simulator.peers[1].id
        let holder = StableHash.rendezvous("m0", p0.rawValue) > StableHash.rendezvous("m0", p1.rawValue) ? p0 : p1
        #expect(simulator.view.copies(of: catalog.ids[0]).keys.sorted() == [holder])
        #expect(statistics.count(.causedLoad) == 1)
        #expect(statistics.count(.localHit) == 1)
        #expect(statistics.count(.forwardedHit) == 1)
        #expect(statistics.requestLoads == 1)
        #expect(statistics.tally.hits == 2)
    }

    /// A load that measures more than the registration said (no size hint: the default is
    /// planned) makes room afterwards.
    @Test func underestimatedSizeEvictsAfterTheLoad() {
        var configuration = handConfiguration(peers: 1, capacity: 300 * MiB)
        configuration.minChurnAge = .zero
        configuration.defaultModelBytes = 100 * MiB
        let catalog = ModelCatalog(sizes: [100 * MiB, 100 * MiB, 150 * MiB], loadMillis: [100, 100, 100], sizeHints: false)
        let trace = handTrace([(0, 0, 0), (1000, 1, 0), (2000, 2, 0)], durationMillis: 5000)
        let simulator = runMesh(configuration, catalog, trace)
        // m2 was planned at 100 MiB (it fit), measured 150 MiB: m0, the LRU, goes.
        #expect(simulator.statistics.evictions == 0)
        #expect(simulator.statistics.resizeEvictions == 1)
        #expect(simulator.peers[0].ledger.cache.usedBytes == 250 * MiB)
        #expect(simulator.view.copies(of: catalog.ids[0]).isEmpty)
    }
}

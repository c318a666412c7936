import MeshCore
@testable import MeshSimulation
import Testing

@Suite struct BaselineTests {
    /// a b c repeated with room for two: LRU never hits; MIN keeps the one needed soonest.
    @Test func beladyOnACyclicTrace() {
        var configuration = handConfiguration(peers: 1, capacity: 200 * MiB)
        configuration.minChurnAge = .zero
        let catalog = ModelCatalog(sizes: [100 * MiB, 100 * MiB, 100 * MiB], loadMillis: [10, 10, 10])
        let sequence: [Int32] = [0, 1, 2, 0, 1, 2, 0, 1, 2]
        let trace = handTrace(sequence.enumerated().map { (Int64($0.offset) * 1000, $0.element, 0) }, durationMillis: 10_000)
        let belady = BeladyBaseline.run(configuration: configuration, catalog: catalog, trace: trace)
        let lru = RandomLRUBaseline.run(configuration: configuration, catalog: catalog, trace: trace)
        // MIN: a b c(evict b) a✓ b(evict a) c✓ a(evict c) b✓ c: three hits.
        #expect(belady.tally.hits == 3)
        #expect(belady.loads == 6)
        #expect(belady.evictions == 4)
        #expect(lru.tally.hits == 0)
        #expect(lru.loads == 9)
        #expect(lru.evictions == 7)
    }

    @Test(arguments: [3, 5, 8] as [UInt64])
    func beladyIsAnUpperBound(seed: UInt64) {
        var configuration = smallConfiguration(seed: seed)
        configuration.killEvery = nil
        let report = Simulation.run(configuration)
        #expect(report.belady.tally.hitRatio >= report.mesh.tally.hitRatio)
        #expect(report.belady.tally.hitRatio >= report.randomLRU.tally.hitRatio)
        // The mesh pools memory across peers; independent LRUs duplicate hot models.
        #expect(report.mesh.tally.hitRatio > report.randomLRU.tally.hitRatio)
        #expect(report.belady.tally.requests == report.workload.requests)
        #expect(report.randomLRU.tally.requests == report.workload.requests)
    }

    @Test func randomLRUBaselineRoutesLikeTheMeshEntryDraw() {
        // Two peers, one model: draws alternate the peer, so each peer loads its own copy.
        let configuration = handConfiguration(peers: 2, capacity: 1 << 30)
        let catalog = ModelCatalog(sizes: [100 * MiB], loadMillis: [100])
        let trace = handTrace([(0, 0, 0), (1000, 0, 1), (2000, 0, 0), (3000, 0, 1)], durationMillis: 5000)
        let result = RandomLRUBaseline.run(configuration: configuration, catalog: catalog, trace: trace)
        #expect(result.loads == 2)
        #expect(result.tally.hits == 2)
    }
}

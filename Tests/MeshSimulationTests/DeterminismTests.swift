import MeshCore
@testable import MeshSimulation
import Testing

@Suite struct DeterminismTests {
    @Test func theSameSeedReplaysTheSameRun() {
        let configuration = smallConfiguration(seed: 11)
        let first = Simulation.run(configuration)
        let second = Simulation.run(configuration)
        #expect(first.mesh.requests == first.workload.requests)
        #expect(first.mesh == second.mesh)
        #expect(first.randomLRU == second.randomLRU)
        #expect(first.belady == second.belady)
        // The runs did something worth comparing: loads, evictions, deaths.
        #expect(first.mesh.loads > 100)
        #expect(first.mesh.evictions > 0)
        #expect(first.mesh.membership.contains { !$0.joined })
    }

    @Test func anotherSeedGivesAnotherTrace() {
        let catalog = ModelCatalog(smallConfiguration(seed: 1))
        let a = Trace.generate(smallConfiguration(seed: 1), catalog: catalog)
        let b = Trace.generate(smallConfiguration(seed: 2), catalog: catalog)
        #expect(a.models != b.models)
        #expect(a.times != b.times)
    }

    @Test func traceFollowsTheConfiguredRateAndPopularity() {
        var configuration = smallConfiguration()
        configuration.duration = .seconds(600)
        let catalog = ModelCatalog(configuration)
        let trace = Trace.generate(configuration, catalog: catalog)
        // 60 requests/s for 600 s: 36,000 expected, Poisson spread about ±190.
        #expect(abs(trace.count - 36_000) < 1_000)
        #expect(trace.times == trace.times.sorted())
        #expect(trace.times.allSatisfy { $0 >= 0 && $0 < 600_000 })
        let zipf = ZipfDistribution(count: configuration.models, exponent: configuration.zipfExponent)
        let top = catalog.modelsByRank[0]
        let share = Double(trace.models.filter { $0 == top }.count) / Double(trace.count)
        #expect(abs(share - zipf.probability(ofRank: 0)) < 0.01)
        // A death every 30 s (the first at 30 s), each followed by a join 5 s later.
        #expect(trace.membership.first == MembershipEvent(time: 30_000, change: trace.membership[0].change))
        #expect(trace.membership.filter { $0.change == .join }.count == 19)
    }
}

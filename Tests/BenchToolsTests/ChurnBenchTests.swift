@testable import MeshBench
import Testing

@Suite struct ZipfSamplerTests {
    @Test func ranksAreDrawnInProportionToTheirWeights() {
        let sampler = ZipfSampler(count: 200, exponent: 1.1)
        var random = SplitMix(seed: 7)
        var counts = [Int](repeating: 0, count: 200)
        let draws = 200_000
        for _ in 0..<draws { counts[sampler.next(using: &random)] += 1 }
        for rank in [0, 1, 9, 99] {
            let expected = sampler.probability(of: rank) * Double(draws)
            #expect(abs(Double(counts[rank]) - expected) < 5 * expected.squareRoot() + 5, "rank \(rank): \(counts[rank]) vs \(expected)")
        }
        // Rank 1 is 2^1.1 times as likely as rank 2.
        #expect(abs(sampler.probability(of: 0) / sampler.probability(of: 1) - 2.1435) < 0.001)
    }

    @Test func exponentZeroIsUniform() {
        let sampler = ZipfSampler(count: 4, exponent: 0)
        #expect((0..<4).map(sampler.probability(of:)) == [0.25, 0.25, 0.25, 0.25])
        var random = SplitMix(seed: 1)
        #expect(Set((0..<1000).map { _ in sampler.next(using: &random) }) == [0, 1, 2, 3])
    }
}

@Suite struct PooledLRUTests {
    @Test func missesAreFirstUsesAndReturnsAfterEviction() {
        // Capacity 2: a b a c (evicts b) b (evicts a) a (evicts c).
        let cache = PooledLRU.replay(["a", "b", "a", "c", "b", "a"], capacity: 2)
        #expect(cache.requests == 6)
        #expect(cache.misses == 5)
        #expect(abs(cache.missRatio - 5.0 / 6) < 1e-9)
    }

    @Test func aWorkingSetThatFitsMissesOncePerModel() {
        let trace = (0..<100).map { "m\($0 % 10)" }
        #expect(PooledLRU.replay(trace, capacity: 10).misses == 10)
        #expect(PooledLRU.replay(trace, capacity: 9).misses == 100)
    }
}

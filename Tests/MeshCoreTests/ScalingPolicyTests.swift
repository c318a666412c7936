import MeshCore
import Testing

@Suite struct ScalingPolicyTests {
    let policy = ScalingPolicy(scaleUpRequestsPerSecond: 10, scaleUpInFlight: 8, idleRequestsPerSecond: 1,
                               scaleDownAfter: .seconds(60), maxAddsPerDecision: 2, removalCooldown: .seconds(10), sustain: .seconds(1))
    let m = model("hot")

    func rates(_ values: [String: Double], inFlight: [String: Int] = [:]) -> [PeerID: LoadReport.ModelRate] {
        Dictionary(uniqueKeysWithValues: values.map { (peer($0.key), LoadReport.ModelRate(model: model("hot"), perSecond: $0.value, inFlight: inFlight[$0.key] ?? 0)) })
    }

    @Test func addsCopiesWhenTheRatePerCopyStaysHigh() {
        var view = view(peers: ["a", "b", "c", "d"])
        view.addCopy(m, on: peer("a"))
        var clock = FakeClock()
        let (first, state) = policy.decide(model: m, record: modelRecord(), view: view, rates: rates(["a": 35]), state: nil, now: clock.now)
        // Hot, but not for long enough yet.
        #expect(first == nil)
        #expect(state.hotSince == clock.now)
        clock.advance(.seconds(1))
        let (second, _) = policy.decide(model: m, record: modelRecord(), view: view, rates: rates(["a": 35]), state: state, now: clock.now)
        let decision = try! #require(second)
        #expect(decision.action == .add)
        // 35 rps needs 4 copies at 10 each; at most 2 are added per decision.
        #expect(decision.peers.count == 2)
        #expect(!decision.peers.contains(peer("a")))
        #expect(decision.reason == "35.0 requests/s per copy over 1 copy (threshold 10.0)")
    }

    @Test func respectsMaxCopiesAndWaitsForLoadingCopies() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(m, on: peer("a"))
        view.addCopy(m, on: peer("b"), state: .loading)
        var clock = FakeClock()
        var state = ScalingPolicy.State(lastBusy: clock.now)
        state.hotSince = clock.now - .seconds(5)
        #expect(policy.decide(model: m, record: modelRecord(), view: view, rates: rates(["a": 100]), state: state, now: clock.now).0 == nil)
        view.addCopy(m, on: peer("b"))
        clock.advance(.seconds(1))
        #expect(policy.decide(model: m, record: modelRecord(maxCopies: 2), view: view, rates: rates(["a": 100, "b": 100]), state: state, now: clock.now).0 == nil)
        let decision = policy.decide(model: m, record: modelRecord(), view: view, rates: rates(["a": 100, "b": 100]), state: state, now: clock.now).0
        #expect(decision?.peers == [peer("c")])
    }

    /// After a partition heals, a peer that was cut off may restore its copy record beside the
    /// copies the others loaded meanwhile: the excess goes at once, busy or not.
    @Test func copiesAboveMaxCopiesAreRemovedAtOnce() {
        var view = view(peers: ["a", "b", "c"])
        var two = view
        for holder in ["a", "b", "c"] { view.addCopy(m, on: peer(holder)) }
        let clock = FakeClock()
        let state = ScalingPolicy.State(lastBusy: clock.now)
        let decision = policy.decide(model: m, record: modelRecord(maxCopies: 2), view: view, rates: rates(["a": 100, "b": 100, "c": 100]),
                                     state: state, now: clock.now).0
        #expect(decision?.action == .remove)
        #expect(decision?.peers.count == 1)
        #expect(decision?.reason == "3 copies, above maxCopies 2")
        // At maxCopies nothing is removed while the model is busy.
        for holder in ["a", "b"] { two.addCopy(m, on: peer(holder)) }
        #expect(policy.decide(model: m, record: modelRecord(maxCopies: 2), view: two, rates: rates(["a": 100, "b": 100]), state: state, now: clock.now).0 == nil)
    }

    @Test func perModelThresholdOverridesTheDefault() {
        var view = view(peers: ["a", "b"])
        view.addCopy(m, on: peer("a"))
        let clock = FakeClock()
        var state = ScalingPolicy.State(lastBusy: clock.now)
        state.hotSince = clock.now - .seconds(5)
        var record = modelRecord()
        record.scaleUpRequestsPerSecond = 50
        #expect(policy.decide(model: m, record: record, view: view, rates: rates(["a": 35]), state: state, now: clock.now).0 == nil)
    }

    @Test func queueingCopiesGetCompanyToo() {
        var view = view(peers: ["a", "b"])
        view.addCopy(m, on: peer("a"))
        let clock = FakeClock()
        var state = ScalingPolicy.State(lastBusy: clock.now)
        state.hotSince = clock.now - .seconds(2)
        let decision = policy.decide(model: m, record: modelRecord(), view: view, rates: rates(["a": 2], inFlight: ["a": 20]), state: state, now: clock.now).0
        #expect(decision?.peers == [peer("b")])
        #expect(decision?.reason == "20.0 requests in flight per copy (threshold 8.0)")
    }

    @Test func removesOneIdleCopyAtATimeDownToOne() {
        var view = view(peers: ["a", "b", "c"])
        for name in ["a", "b", "c"] { view.addCopy(m, on: peer(name)) }
        var clock = FakeClock()
        var state = ScalingPolicy.State(lastBusy: clock.now)
        clock.advance(.seconds(59))
        #expect(policy.decide(model: m, record: modelRecord(), view: view, rates: [:], state: state, now: clock.now).0 == nil)
        clock.advance(.seconds(1))
        let (first, afterFirst) = policy.decide(model: m, record: modelRecord(), view: view, rates: [:], state: state, now: clock.now)
        #expect(first?.action == .remove)
        #expect(first?.peers.count == 1)
        state = afterFirst
        view.apply(.copyDeleted(m, first!.peers[0]))
        // The cooldown holds the next removal back.
        clock.advance(.seconds(5))
        #expect(policy.decide(model: m, record: modelRecord(), view: view, rates: [:], state: state, now: clock.now).0 == nil)
        clock.advance(.seconds(5))
        let (second, afterSecond) = policy.decide(model: m, record: modelRecord(), view: view, rates: [:], state: state, now: clock.now)
        #expect(second?.action == .remove)
        view.apply(.copyDeleted(m, second!.peers[0]))
        clock.advance(.seconds(60))
        // The last copy stays: only memory pressure evicts it.
        #expect(policy.decide(model: m, record: modelRecord(), view: view, rates: [:], state: afterSecond, now: clock.now).0 == nil)
    }

    @Test func trafficKeepsCopies() {
        var view = view(peers: ["a", "b"])
        for name in ["a", "b"] { view.addCopy(m, on: peer(name)) }
        var clock = FakeClock()
        var state: ScalingPolicy.State? = nil
        for _ in 0..<10 {
            let (decision, next) = policy.decide(model: m, record: modelRecord(), view: view, rates: rates(["a": 1, "b": 1]), state: state, now: clock.now)
            #expect(decision == nil)
            state = next
            clock.advance(.seconds(30))
        }
    }

    @Test func neverBelowMinCopies() {
        var view = view(peers: ["a", "b", "c"])
        for name in ["a", "b"] { view.addCopy(m, on: peer(name)) }
        var clock = FakeClock()
        let state = ScalingPolicy.State(lastBusy: clock.now)
        clock.advance(.seconds(600))
        #expect(policy.decide(model: m, record: modelRecord(minCopies: 2), view: view, rates: [:], state: state, now: clock.now).0 == nil)
    }

    @Test func restoresMinCopiesWithoutTraffic() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(m, on: peer("a"))
        let decision = policy.decide(model: m, record: modelRecord(minCopies: 3), view: view, rates: [:], state: nil, now: FakeClock().now).0
        #expect(decision?.action == .add)
        #expect(Set(decision?.peers ?? []) == [peer("b"), peer("c")])
        #expect(decision?.reason == "1 of minCopies 3 copies")
        // A minimum above the number of peers is met as far as it can be.
        var full = view
        full.addCopy(m, on: peer("b"))
        full.addCopy(m, on: peer("c"))
        #expect(policy.decide(model: m, record: modelRecord(minCopies: 5), view: full, rates: [:], state: nil, now: FakeClock().now).0 == nil)
    }

    @Test func exactlyOneDeciderPerModel() {
        var view = view(peers: ["a", "b", "c", "d"])
        view.addCopy(m, on: peer("b"))
        view.addCopy(m, on: peer("d"))
        let decider = try! #require(policy.decider(for: m, view: view))
        #expect([peer("b"), peer("d")].contains(decider))
        // Every peer, computing from the same view, names the same decider.
        for _ in 0..<5 { #expect(policy.decider(for: m, view: view) == decider) }
        // Without copies, some active peer decides; shutting-down peers never do.
        let empty = ScalingPolicyTests.viewWithShuttingDown()
        #expect(policy.decider(for: model("unplaced"), view: empty) == peer("up"))
        // Different models spread their deciders.
        let deciders = Set((0..<40).compactMap { policy.decider(for: model("model-\($0)"), view: view) })
        #expect(deciders.count == 4)
    }

    static func viewWithShuttingDown() -> ClusterView {
        view(peers: ["up", "leaving"], records: ["leaving": peerRecord(shuttingDown: true)])
    }
}

@Suite struct RateTrackerTests {
    @Test func averagesOverTheWindow() {
        var tracker = RateTracker(window: 5)
        var clock = FakeClock()
        clock.now = MeshTime(millisecondsSinceEpoch: 1_000_000_000)
        for _ in 0..<5 {
            tracker.record(model("m"), count: 10, at: clock.now)
            clock.advance(.seconds(1))
        }
        // 50 requests over the 5 full seconds plus 0 of the current one.
        #expect(abs(tracker.rate(of: model("m"), at: clock.now) - 10) < 0.01)
        clock.advance(.milliseconds(500))
        #expect(abs(tracker.rate(of: model("m"), at: clock.now) - 50.0 / 5.5) < 0.01)
        #expect(tracker.rates(at: clock.now).map(\.0) == [model("m")])
    }

    @Test func forgetsSilentModels() {
        var tracker = RateTracker(window: 3)
        var clock = FakeClock()
        tracker.record(model("m"), at: clock.now)
        clock.advance(.seconds(10))
        #expect(tracker.rate(of: model("m"), at: clock.now) == 0)
        tracker.prune(at: clock.now)
        #expect(tracker.rates(at: clock.now).isEmpty)
    }
}

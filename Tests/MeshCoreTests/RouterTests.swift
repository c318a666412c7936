import MeshCore
import Testing

@Suite struct RouterTests {
    let router = RoutePlanner(placement: PlacementPolicy(minChurnAge: .seconds(30)), maxLoadFailures: 3)
    let clock = FakeClock()
    let me = peer("a")

    func decide(_ view: ClusterView, hop: Hop = .external, local: LocalCache.State? = nil, inFlight: Int = 0,
                outstanding: [PeerID: Int] = [:], excluded: Set<PeerID> = [], seed: UInt64 = 1) -> RouteDecision {
        var random = SeededRandom(seed: seed)
        return router.decide(
            RoutePlanner.Request(model: model("m"), record: modelRecord(), hop: hop, excluded: excluded, sizeBytes: 10 * MiB),
            local: RoutePlanner.Local(peer: me, copy: local, inFlight: inFlight, outstanding: outstanding),
            view: view, now: clock.now, using: &random
        )
    }

    @Test func servesALocalCopy() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("a"))
        #expect(decide(view, local: .loaded) == .serveLocally)
        #expect(decide(view, local: .loading) == .serveLocally)
    }

    @Test func forwardsToAHolderAsHitOnly() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("b"))
        #expect(decide(view) == .forward(to: peer("b"), hop: .hitOnly))
    }

    @Test func prefersLoadedCopiesAndTheEarliestLoadingOne() {
        var view = view(peers: ["a", "b", "c", "d"])
        view.addCopy(model("m"), on: peer("c"), state: .loading, since: clock.now - .seconds(1))
        view.addCopy(model("m"), on: peer("d"), state: .loading, since: clock.now - .seconds(2))
        #expect(decide(view) == .forward(to: peer("d"), hop: .hitOnly))
        view.addCopy(model("m"), on: peer("b"), state: .loaded)
        #expect(decide(view) == .forward(to: peer("b"), hop: .hitOnly))
    }

    @Test func aLoadingLocalCopyDefersToALoadedRemoteOne() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        #expect(decide(view, local: .loading) == .forward(to: peer("b"), hop: .hitOnly))
    }

    @Test func excludedHoldersAreSkippedAndTheMissPathPlacesANewCopy() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        #expect(decide(view, excluded: [peer("b")]) == .loadLocally)
    }

    @Test func missPlacesOnTheBestPeer() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("other"), on: peer("a"))
        #expect(decide(view) == .forward(to: peer("b"), hop: .loadLocal))
        #expect(decide(view, excluded: [peer("b")]) == .loadLocally)
    }

    /// The view still shows a copy here that this peer no longer has (its load just failed or
    /// it left): this peer may load it again instead of finding "no peer left".
    @Test func aStaleCopyRecordOfThisPeerDoesNotBlockALoadHere() {
        var view = view(peers: ["a"])
        view.addCopy(model("m"), on: me, state: .loading)
        #expect(decide(view) == .loadLocally)
    }

    @Test func hopsNeverForwardAgain() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        #expect(decide(view, hop: .hitOnly) == .notHere)
        #expect(decide(view, hop: .hitOnly, local: .loading) == .serveLocally)
        #expect(decide(view, hop: .loadLocal) == .loadLocally)
        #expect(decide(view, hop: .loadLocal, local: .loaded) == .serveLocally)
    }

    @Test func repeatedFailuresAnswerWithTheLastError() {
        var view = view(peers: ["a", "b", "c", "d"])
        for (index, name) in ["b", "c", "d"].enumerated() {
            view.apply(.failurePut(model("m"), peer(name), FailureRecord(time: clock.now + .seconds(Int64(index)), message: "error \(index)")))
        }
        #expect(decide(view) == .fail(.loadFailed(model: model("m"), message: "error 2", failures: 3)))
    }

    @Test func fewerFailuresAvoidTheFailedPeers() {
        var view = view(peers: ["a", "b"])
        view.apply(.failurePut(model("m"), peer("a"), FailureRecord(time: clock.now, message: "oom")))
        #expect(decide(view) == .forward(to: peer("b"), hop: .loadLocal))
    }

    @Test func balancesBetweenCopiesByLoad() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("b"))
        view.addCopy(model("m"), on: peer("c"))
        // With two candidates, power of two choices always compares both.
        for seed in 1...20 {
            #expect(decide(view, outstanding: [peer("b"): 5, peer("c"): 1], seed: UInt64(seed)) == .forward(to: peer("c"), hop: .hitOnly))
        }
        view.receive(LoadReport(peer: peer("c"), time: clock.now, inFlight: 9, loading: 0, usedBytes: 0, capacityBytes: 1, modelCount: 1, lruTime: nil, rates: []))
        #expect(decide(view, outstanding: [peer("b"): 5, peer("c"): 1]) == .forward(to: peer("b"), hop: .hitOnly))
    }

    @Test func keepsTheLocalCopyUnlessItIsBusier() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("a"))
        view.addCopy(model("m"), on: peer("b"))
        #expect(decide(view, local: .loaded, inFlight: 0, outstanding: [peer("b"): 0]) == .serveLocally)
        #expect(decide(view, local: .loaded, inFlight: 2, outstanding: [peer("b"): 2]) == .serveLocally)
        #expect(decide(view, local: .loaded, inFlight: 6, outstanding: [peer("b"): 1]) == .forward(to: peer("b"), hop: .hitOnly))
    }

    @Test func unplaceableModelsGetTheReason() {
        let view = view(peers: ["a"], records: ["a": peerRecord(capacity: 1 * MiB)])
        #expect(decide(view) == .fail(.cannotPlace(.tooLarge(model: model("m"), neededBytes: 10 * MiB, largestCapacityBytes: 1 * MiB))))
    }
}

@Suite struct RouterShutdownTests {
    @Test func anExcludedLocalCopyIsNotServedAndLeavingPeersAreAvoided() {
        let planner = RoutePlanner()
        var view = view(peers: ["a", "b", "c"], records: ["b": peerRecord(shuttingDown: true)])
        view.addCopy(model("m"), on: peer("a"))
        view.addCopy(model("m"), on: peer("b"))
        view.addCopy(model("m"), on: peer("c"))
        var random = SeededRandom()
        // "a" is leaving and asks the mesh for a copy elsewhere: never itself, never another leaver.
        for _ in 0..<10 {
            let decision = planner.decide(
                RoutePlanner.Request(model: model("m"), record: modelRecord(), hop: .external, excluded: [peer("a")], sizeBytes: 1),
                local: RoutePlanner.Local(peer: peer("a"), copy: .loaded), view: view, now: FakeClock().now, using: &random
            )
            #expect(decision == .forward(to: peer("c"), hop: .hitOnly))
        }
    }
}

import MeshCore
import Testing

/// The request machine, one test per row of the routing table (DESIGN.md) and per way an
/// action can go, with a fake clock and a seeded random source.
@Suite struct RequestRouteTests {
    let clock = SteppingClock()
    let me = peer("a")
    let settings = RequestRoute.Settings(planner: RoutePlanner(placement: PlacementPolicy(minChurnAge: .seconds(30))), maxAttempts: 4,
                                         defaultModelSizeBytes: 10 * MiB)

    func route(hop: Hop = .external, goal: RequestRoute.Goal = .serve, excluded: Set<PeerID> = [], deadline: Duration? = nil) -> RequestRoute {
        RequestRoute(model: model("m"), hop: hop, goal: goal, me: me, excluded: excluded,
                     deadline: deadline.map { clock.now + $0 }, settings: settings)
    }

    func next(_ route: inout RequestRoute, _ view: ClusterView, local: LocalCache.State? = nil, record: ModelRecord? = modelRecord()) -> RequestRoute.Action {
        var random = SeededRandom()
        return route.next(record: record, view: view, local: RoutePlanner.Local(peer: me, copy: local), now: clock.now, using: &random)
    }

    // MARK: The routing table

    /// Row 1: a loaded copy here, not overloaded: serve locally.
    @Test func aLoadedCopyHereIsServedHere() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: me)
        var route = route()
        #expect(next(&route, view, local: .loaded) == .serveHere)
    }

    /// Row 2: copies elsewhere: forward as a hit-only hop.
    @Test func aCopyElsewhereIsReachedByAHitOnlyHop() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        var route = route()
        #expect(next(&route, view) == .forward(peer("b"), .hitOnly))
    }

    /// Row 3: no usable copy: placement picks a target and the request goes there as a
    /// load-local hop (or loads here when this peer is the target).
    @Test func noCopyPlacesOneAsALoadLocalHopOrHere() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("other"), on: me)
        var route = route()
        #expect(next(&route, view) == .forward(peer("b"), .loadLocal))
        var alone = self.route(excluded: [peer("b")])
        #expect(next(&alone, view) == .loadHere(decidedAt: view.revision))
    }

    /// Row 4: a refused connection excludes the peer and the loop tries again.
    @Test func anUnreachablePeerIsExcludedAndTheNextAttemptGoesElsewhere() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("b"))
        view.addCopy(model("m"), on: peer("c"))
        var route = route()
        guard case .forward(let first, .hitOnly) = next(&route, view) else { Issue.record("no forward"); return }
        route.record(.unreachable(first, reason: "connection refused", refused: true))
        guard case .forward(let second, .hitOnly) = next(&route, view) else { Issue.record("no second forward"); return }
        #expect(second != first)
        #expect(route.excluded.contains(first))
    }

    /// Row 4: "not here" excludes the peer without a problem line, and waits for the revision it saw.
    @Test func aNotHereDeclineExcludesAndWaitsForTheDeclinersRevision() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("b"))
        var route = route()
        #expect(next(&route, view) == .forward(peer("b"), .hitOnly))
        route.record(.declined(peer("b"), .notHere, message: "m is not loaded on b", revision: view.revision + 5))
        #expect(next(&route, view) == .waitForView(revision: view.revision + 5))
        #expect(route.problems.isEmpty)
        view.advance(to: view.revision + 5)
        #expect(next(&route, view) != .forward(peer("b"), .hitOnly))
    }

    /// Under memory pressure every holder may evict the model while requests are on their way:
    /// the peers whose copy went away load it again rather than the request being refused.
    @Test func peersWhoseCopyWasEvictedUnderTheRequestCanLoadItAgain() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: me)
        view.addCopy(model("m"), on: peer("b"))
        view.addCopy(model("m"), on: peer("c"))
        var route = route()
        #expect(next(&route, view, local: .loaded) == .serveHere)
        route.record(.local(.removed(model("m"))))
        for _ in 0..<2 {
            guard case .forward(let holder, .hitOnly) = next(&route, view) else { Issue.record("no forward"); return }
            route.record(.declined(holder, .notHere, message: "m was unloaded from \(holder)", revision: nil))
        }
        // Every peer declined because its copy is gone, and the mirror now shows the copy
        // records deleted: one of them is asked to load it rather than the request failing with
        // "no peer left".
        for holder in ["a", "b", "c"] { view.apply(.copyDeleted(model("m"), peer(holder))) }
        let action = next(&route, view)
        #expect(action == .loadHere(decidedAt: view.revision) || action == .forward(peer("b"), .loadLocal) || action == .forward(peer("c"), .loadLocal),
                "\(action)")
        #expect(route.attempts == 4)
    }

    /// The default size is a guess: on peers smaller than it, a model without a size hint is
    /// still placed (its load measures the real size); a hint larger than every peer is refused.
    @Test func theDefaultSizeDoesNotRefuseAModelOnSmallPeers() {
        let small = view(peers: ["a", "b"], records: ["a": peerRecord(capacity: 4 * MiB), "b": peerRecord(capacity: 6 * MiB)])
        var route = route()
        let action = next(&route, small)
        #expect(action == .loadHere(decidedAt: small.revision) || action == .forward(peer("b"), .loadLocal), "\(action)")
        #expect(ModelSize.planned(model("m"), record: modelRecord(), view: small, defaultBytes: 10 * MiB) == 6 * MiB)
        var hinted = modelRecord()
        hinted.sizeHintBytes = 10 * MiB
        var refused = self.route()
        guard case .fail(let error) = next(&refused, small, record: hinted) else { Issue.record("a 10 MiB hint was placed on 6 MiB peers"); return }
        #expect(error.message.contains("fits nowhere"), "\(error.message)")
    }

    /// A peer that failed (not just lost its copy) stays excluded.
    @Test func aFailedPeerIsNotReadmitted() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        var route = route(excluded: [me])
        #expect(next(&route, view) == .forward(peer("b"), .hitOnly))
        route.record(.unreachable(peer("b"), reason: "connection refused", refused: true))
        guard case .fail(let error) = next(&route, view) else { Issue.record("did not fail"); return }
        #expect(error.kind == .unavailable)
    }

    /// Row 4: a load failure there excludes the peer and names the failure.
    @Test func aLoadFailureElsewhereIsNamedWhenEverythingFails() {
        let view = view(peers: ["a", "b"])
        var route = route(excluded: [me])
        #expect(next(&route, view) == .forward(peer("b"), .loadLocal))
        route.record(.declined(peer("b"), .loadFailed, message: "loading m failed: bad file", revision: nil))
        guard case .fail(let error) = next(&route, view) else { Issue.record("did not fail"); return }
        #expect(error.kind == .unavailable)
        #expect(error.message.contains("b: loading m failed: bad file"), "\(error.message)")
    }

    /// A hit-only hop that finds no copy answers "not here"; a hop never forwards again.
    @Test func aHitOnlyHopWithoutACopyDeclinesAsNotHere() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        var route = route(hop: .hitOnly)
        guard case .fail(let error) = next(&route, view) else { Issue.record("did not decline"); return }
        #expect(error.decline?.outcome == .notHere)
        #expect(error.decline?.revision == view.revision)
    }

    /// A hop for a model this peer does not know is declined with the revision it looked at, not
    /// answered 404: the sender's view may be ahead (a vmodel just moved off the model, and the
    /// sender reads the vmodel again) or behind (the model was just registered).
    @Test func aHopForAModelNotRegisteredHereIsDeclinedWithTheRevision() {
        let view = view(peers: ["a", "b"])
        for hop in [Hop.hitOnly, .loadLocal] {
            var route = route(hop: hop)
            guard case .fail(let error) = next(&route, view, record: nil) else { Issue.record("did not decline"); return }
            #expect(error.decline == HopDecline(outcome: .unregistered, revision: view.revision))
        }
        var claimed = route(hop: .loadLocal)
        #expect(next(&claimed, view) == .loadHere(decidedAt: view.revision))
        claimed.record(.local(.unregistered(model("m"))))
        guard case .fail(let error) = next(&claimed, view) else { Issue.record("did not decline"); return }
        #expect(error.decline == HopDecline(outcome: .unregistered, revision: nil))
    }

    /// The sender of that hop: behind the decliner, it waits for its view and fails with "not
    /// registered"; ahead of it, it tries another peer; told by the store, it fails at once.
    @Test func anUnregisteredDeclineFailsOnlyOnceThisViewAgrees() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("b"))
        view.addCopy(model("m"), on: peer("c"))
        var behind = route(excluded: [me])
        guard case .forward(let first, .hitOnly) = next(&behind, view) else { Issue.record("no forward"); return }
        behind.record(.declined(first, .unregistered, message: "model m is not registered on \(first)", revision: view.revision + 3))
        #expect(next(&behind, view) == .waitForView(revision: view.revision + 3))
        var caughtUp = view
        caughtUp.advance(to: view.revision + 3)
        guard case .fail(let gone) = next(&behind, caughtUp, record: nil) else { Issue.record("did not fail"); return }
        #expect(gone.kind == .notFound)

        var ahead = route(excluded: [me])
        guard case .forward(let lagging, .hitOnly) = next(&ahead, view) else { Issue.record("no forward"); return }
        ahead.record(.declined(lagging, .unregistered, message: "model m is not registered on \(lagging)", revision: view.revision - 1))
        guard case .forward(let other, .hitOnly) = next(&ahead, view) else { Issue.record("no second forward"); return }
        #expect(other != lagging)

        var told = route(excluded: [me])
        guard case .forward(let claimer, _) = next(&told, view) else { Issue.record("no forward"); return }
        told.record(.declined(claimer, .unregistered, message: "m was unregistered", revision: nil))
        guard case .fail(let error) = next(&told, view) else { Issue.record("did not fail"); return }
        #expect(error.kind == .notFound)
    }

    /// A load-local hop loads here, then serves: one decision plus the serve after the load.
    @Test func aLoadLocalHopLoadsThenServes() {
        let view = view(peers: ["a", "b"])
        var route = route(hop: .loadLocal)
        #expect(next(&route, view) == .loadHere(decidedAt: view.revision))
        route.record(.loadStarted)
        #expect(next(&route, view, local: .loading) == .serveHere)
        route.record(.local(.removed(model("m"))))
        guard case .fail(let error) = next(&route, view) else { Issue.record("hop retried"); return }
        #expect(error.decline?.outcome == .notHere)
    }

    // MARK: Local outcomes

    @Test func aLostClaimWaitsForTheWinnersRevisionWithoutExcludingThisPeer() {
        let view = view(peers: ["a"])
        var route = route()
        #expect(next(&route, view) == .loadHere(decidedAt: view.revision))
        route.record(.local(.lostRace(model("m"), holders: [peer("b")], revision: 42)))
        #expect(next(&route, view) == .waitForView(revision: 42))
        #expect(!route.excluded.contains(me))
    }

    @Test func aRefusalHereExcludesThisPeerAndTriesElsewhere() {
        let view = view(peers: ["a", "b"])
        var route = route(excluded: [peer("b")])
        #expect(next(&route, view) == .loadHere(decidedAt: view.revision))
        route.record(.local(.refused(model("m"), reason: "full")))
        #expect(route.excluded.contains(me))
        guard case .fail(let error) = next(&route, view) else { Issue.record("did not fail"); return }
        #expect(error.message.contains("this peer cannot load m: full"), "\(error.message)")
    }

    @Test func anUnregisteredModelIsNotFound() {
        let view = view(peers: ["a"])
        var route = route()
        guard case .fail(let error) = next(&route, view, record: nil) else { Issue.record("did not fail"); return }
        #expect(error.kind == .notFound)
        var racing = self.route()
        _ = next(&racing, view)
        racing.record(.local(.unregistered(model("m"))))
        guard case .fail(let raced) = next(&racing, view) else { Issue.record("did not fail"); return }
        #expect(raced.kind == .notFound)
    }

    // MARK: Budgets

    @Test func attemptsAreBoundedAndTheErrorListsWhatWasTried() {
        var view = view(peers: ["a", "b", "c", "d", "e", "f"])
        for name in ["b", "c", "d", "e", "f"] { view.addCopy(model("m"), on: peer(name)) }
        var route = route(excluded: [me])
        for _ in 0..<4 {
            guard case .forward(let target, _) = next(&route, view) else { Issue.record("stopped early"); return }
            route.record(.unreachable(target, reason: "connection refused", refused: true))
        }
        guard case .fail(let error) = next(&route, view) else { Issue.record("went on"); return }
        #expect(route.attempts == 4)
        #expect(error.message.contains("could not be served after 4 attempts"), "\(error.message)")
    }

    @Test func thePassedDeadlineEndsTheRouteWithDeadlineExceeded() {
        var view = view(peers: ["a", "b"])
        view.addCopy(model("m"), on: peer("b"))
        var route = route(deadline: .seconds(1))
        #expect(next(&route, view) == .forward(peer("b"), .hitOnly))
        route.record(.unreachable(peer("b"), reason: "timed out", refused: false))
        clock.advance(.seconds(2))
        guard case .fail(let error) = next(&route, view) else { Issue.record("went on"); return }
        #expect(error.kind == .deadlineExceeded)
    }

    @Test func aFailedRouteStaysFailed() {
        let view = view(peers: ["a"])
        var route = route()
        let first = next(&route, view, record: nil)
        #expect(next(&route, view) == first)
    }

    // MARK: Copy additions

    @Test func aCopyAdditionGoesToThePreferredPeerFirstThenWherePlacementSays() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("m"), on: peer("b"))
        var route = route(goal: .addCopy(preferring: peer("c")))
        #expect(next(&route, view) == .forward(peer("c"), .loadLocal))
        route.record(.declined(peer("c"), .unavailable, message: "full", revision: nil))
        #expect(next(&route, view) == .loadHere(decidedAt: view.revision))
        route.record(.loadStarted)
        #expect(next(&route, view) == .finished(me))
    }

    @Test func aCopyAdditionFinishesWhenTheHopLoadedIt() {
        let view = view(peers: ["a", "b"])
        var route = route(goal: .addCopy(preferring: nil), excluded: [me])
        #expect(next(&route, view) == .forward(peer("b"), .loadLocal))
        route.record(.copyAdded(peer("b")))
        #expect(next(&route, view) == .finished(peer("b")))
    }

    @Test func aCopyAdditionWithNowhereToGoFailsWithThePlacementReason() {
        var view = view(peers: ["a"])
        view.addCopy(model("m"), on: me)
        var route = route(goal: .addCopy(preferring: nil))
        guard case .fail(let error) = next(&route, view) else { Issue.record("did not fail"); return }
        #expect(error.message.contains("no peer is left to load m"), "\(error.message)")
        #expect(route.routingFailure != nil)
    }

    @Test func aCopyAdditionAnsweredNotFoundStops() {
        let view = view(peers: ["a", "b"])
        var route = route(goal: .addCopy(preferring: peer("b")))
        _ = next(&route, view)
        route.record(.peerFailed(peer("b"), .notFound("model m is not registered")))
        guard case .fail(let error) = next(&route, view) else { Issue.record("went on"); return }
        #expect(error.kind == .notFound)
    }
}

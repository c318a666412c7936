import MeshCore
@testable import MeshPeer
import Testing

/// The router as a peer runs it, in process: several peers' shells over one in-memory store,
/// hops as direct calls, a manual clock. One test per row of DESIGN.md's routing table.
@Suite(.timeLimit(.minutes(1))) struct RouterShellTests {
    let store = InMemoryMeshStore()
    let clock = ManualClock()
    let network = InProcessNetwork()

    func peers(_ names: String...) async throws -> [ShellPeer] {
        var peers: [ShellPeer] = []
        for name in names {
            let peer = try await ShellPeer.make(name, store: store, clock: clock)
            network.add(peer)
            peers.append(peer)
        }
        return peers
    }

    /// Runs every peer's services around `body`.
    func running(_ peers: [ShellPeer], _ body: () async throws -> Void) async throws {
        guard let first = peers.first else { return try await body() }
        try await first.running { try await running(Array(peers.dropFirst()), body) }
    }

    func route(_ model: ModelID, at peer: ShellPeer, timeout: Duration = .seconds(10)) async throws -> String {
        try await peer.router.route(network.call(at: peer.id), model: model, hop: .external, excluded: [], deadline: .now + timeout)
    }

    /// Waits until every peer's view shows `model` loaded on `holder`.
    func waitUntilLoaded(_ model: ModelID, on holder: PeerID, seenBy peers: [ShellPeer]) async {
        for peer in peers {
            await peer.mirror.waitUntil(timeout: .seconds(5)) { $0.copies(of: model)[holder]?.state == .loaded }
        }
    }

    // MARK: The routing table

    /// Row 1: a loaded copy here is served here, without a hop.
    @Test func aLoadedCopyHereIsServedHere() async throws {
        let peers = try await peers("a", "b")
        let model = try await register("m", in: store, clock: clock)
        try await running(peers) { () async throws in
            #expect((try await route(model, at: peers[0])) != "")
            let holder = try #require(store.copies(of: model).keys.first)
            let entry = peers.first { $0.id == holder }!
            await waitUntilLoaded(model, on: holder, seenBy: peers)
            let hopsBefore = network.hops.count
            #expect((try await route(model, at: entry)) == holder.rawValue)
            #expect(network.hops.count == hopsBefore)
        }
    }

    /// Row 2: a copy elsewhere is reached with a hit-only hop.
    @Test func aCopyElsewhereIsReachedByAHitOnlyHop() async throws {
        let peers = try await peers("a", "b")
        let model = try await register("m", in: store, clock: clock)
        try await running(peers) { () async throws in
            // Loaded on b through a load-local hop to b.
            let b = peers[1]
            #expect((try await b.router.route(network.call(at: b.id), model: model, hop: .loadLocal, excluded: [], deadline: .now + .seconds(5))) == "b")
            await waitUntilLoaded(model, on: b.id, seenBy: peers)
            #expect((try await route(model, at: peers[0])) == "b")
            #expect(network.hops.last == InProcessNetwork.Hop(from: peers[0].id, to: b.id, kind: .hitOnly))
        }
    }

    /// Row 3: no copy: placement picks a peer (here b, which holds fewer models) and the request
    /// goes there as a load-local hop; b loads it once and serves.
    @Test func aMissIsLoadedOnThePlacedPeerThroughALoadLocalHop() async throws {
        let peers = try await peers("a", "b")
        let other = try await register("other", in: store, clock: clock)
        let model = try await register("m", in: store, clock: clock)
        try await running(peers) { () async throws in
            let a = peers[0], b = peers[1]
            #expect((try await a.router.route(network.call(at: a.id), model: other, hop: .loadLocal, excluded: [], deadline: .now + .seconds(5))) == "a")
            await waitUntilLoaded(other, on: a.id, seenBy: peers)
            #expect((try await route(model, at: a)) == "b")
            #expect(network.hops.last == InProcessNetwork.Hop(from: a.id, to: b.id, kind: .loadLocal))
            #expect(b.runtime.loads == [model])
            #expect(store.copies(of: model)[b.id]?.state == .loaded)
        }
    }

    /// Row 3, many at once: a burst of first requests through both peers loads the model once.
    @Test func aBurstOfFirstRequestsLoadsTheModelOnce() async throws {
        let peers = try await peers("a", "b")
        let model = try await register("m", in: store, clock: clock)
        for peer in peers { peer.runtime.hold(model) }
        try await running(peers) { () async throws in
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<20 {
                    group.addTask { try await route(model, at: peers[index % 2]) }
                }
                try await Task.sleep(for: .milliseconds(200))
                for peer in peers { peer.runtime.release(model) }
                var servedBy = Set<String>()
                for try await reply in group { servedBy.insert(reply) }
                #expect(servedBy.count == 1)
            }
            #expect(peers.reduce(0) { $0 + $1.runtime.loads.count } == 1)
            #expect(store.copies(of: model).count == 1)
        }
    }

    /// Row 4: a refused connection excludes the peer, marks it unreachable, and the request
    /// goes to another copy.
    @Test func aRefusedConnectionExcludesThePeerAndTheRequestGoesElsewhere() async throws {
        let peers = try await peers("a", "b", "c")
        let model = try await register("m", in: store, clock: clock)
        try await running(peers) { () async throws in
            let (a, b, c) = (peers[0], peers[1], peers[2])
            for holder in [b, c] {
                _ = try await holder.router.route(network.call(at: holder.id), model: model, hop: .loadLocal, excluded: [], deadline: .now + .seconds(5))
                await waitUntilLoaded(model, on: holder.id, seenBy: peers)
            }
            network.takeDown(b.id)
            // Power of two choices tries b first about half the time: ask until it has.
            var asked = 0
            while !network.hops.contains(where: { $0.from == a.id && $0.to == b.id }) && asked < 64 {
                #expect(try await route(model, at: a) == "c")
                asked += 1
            }
            #expect(a.health.unreachable(at: clock.now).contains(b.id))
            // Marked unreachable, b is not tried again.
            let triedB = network.hops.filter { $0.to == b.id }.count
            for _ in 0..<8 { #expect(try await route(model, at: a) == "c") }
            #expect(network.hops.filter { $0.to == b.id }.count == triedB)
            // The mark lifts after the quarantine.
            clock.advance(.seconds(16))
            #expect(!a.health.unreachable(at: clock.now).contains(b.id))
        }
    }

    /// Row 4: a load that fails records the failure, and the request is loaded on another peer.
    @Test func aFailedLoadIsRecordedAndAnotherPeerLoads() async throws {
        let peers = try await peers("a", "b")
        let other = try await register("other", in: store, clock: clock)
        let model = try await register("m", in: store, clock: clock)
        let (a, b) = (peers[0], peers[1])
        a.runtime.fail(model)
        try await running(peers) { () async throws in
            // b holds a model already, so placement tries a (fewer models) first.
            #expect((try await b.router.route(network.call(at: b.id), model: other, hop: .loadLocal, excluded: [], deadline: .now + .seconds(5))) == "b")
            await waitUntilLoaded(other, on: b.id, seenBy: peers)
            #expect((try await route(model, at: a)) == "b")
            #expect(a.runtime.loads == [model])
            #expect(store.failures(of: model)[a.id]?.message.contains("is configured to fail") == true)
        }
    }

    /// A model whose loads fail everywhere answers with the failures, and each is recorded.
    @Test func loadsThatFailEverywhereAreRecordedAndNamed() async throws {
        let peers = try await peers("a", "b")
        let model = try await register("m", in: store, clock: clock)
        for peer in peers { peer.runtime.fail(model) }
        try await running(peers) { () async throws in
            do {
                _ = try await route(model, at: peers[0])
                Issue.record("a model that fails everywhere was served")
            } catch let error as MeshError {
                #expect(error.kind == .unavailable)
                #expect(error.message.contains("is configured to fail"), "\(error.message)")
            }
            #expect(store.failures(of: model).count == 2)
            #expect(store.copies(of: model).isEmpty)
        }
    }

    /// A hit-only hop to a peer without a copy is declined as "not here"; it never forwards.
    @Test func aHitOnlyHopWithoutACopyIsDeclined() async throws {
        let peers = try await peers("a", "b")
        let model = try await register("m", in: store, clock: clock)
        try await running(peers) { () async throws in
            let b = peers[1]
            do {
                _ = try await b.router.route(network.call(at: b.id), model: model, hop: .hitOnly, excluded: [], deadline: .now + .seconds(5))
                Issue.record("served without a copy")
            } catch let error as MeshError {
                #expect(error.decline?.outcome == .notHere)
            }
            #expect(network.hops.isEmpty)
        }
    }

    @Test func aLoadStillRunningAtTheDeadlineAnswersDeadlineExceeded() async throws {
        let peers = try await peers("a")
        let model = try await register("m", in: store, clock: clock)
        peers[0].runtime.hold(model)
        try await running(peers) { () async throws in
            do {
                _ = try await route(model, at: peers[0], timeout: .milliseconds(300))
                Issue.record("answered before the load")
            } catch let error as MeshError {
                #expect(error.kind == .deadlineExceeded)
            }
            peers[0].runtime.release(model)
        }
    }

    @Test func anUnknownModelIsNotFoundAndABadNameIsInvalid() async throws {
        let peers = try await peers("a")
        try await running(peers) { () async throws in
            await #expect(throws: MeshError.notFound("model ghost is not registered")) { try await peers[0].router.resolve("ghost") }
            await #expect(throws: MeshError.self) { try await peers[0].router.resolve("../etc") }
        }
    }

    /// Copy additions go first to the peer the copy scaler chose.
    @Test func aCopyAdditionGoesToThePreferredPeer() async throws {
        let peers = try await peers("a", "b", "c")
        let model = try await register("m", in: store, clock: clock)
        try await running(peers) { () async throws in
            let a = peers[0]
            let peer = try await a.router.addCopy(of: model, preferring: peers[2].id, call: network.call(at: a.id), deadline: .now + .seconds(5))
            #expect(peer == peers[2].id)
            #expect(peers[2].runtime.loads == [model])
        }
    }
}

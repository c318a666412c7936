import MeshCore
@testable import MeshPeer
import Testing

/// The copy machine as the shell carries it out, over an in-memory store: what reaches the store
/// and the runtime at each state transition.
@Suite(.timeLimit(.minutes(1))) struct LocalModelsShellTests {
    let store = InMemoryMeshStore()
    let clock = ManualClock()

    func peer(capacity: Int64 = 100 << 20) async throws -> ShellPeer {
        try await ShellPeer.make("a", store: store, clock: clock, capacity: capacity)
    }

    /// Claiming writes a `loading` record; the finished load turns it `loaded`.
    @Test func aClaimIsALoadingRecordAndAFinishedLoadALoadedOne() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        peer.runtime.hold(model)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
            #expect(store.copies(of: model)[peer.id]?.state == .loading)
            #expect(peer.local.state(of: model) == .loading)
            peer.runtime.release(model)
            let use = try await peer.local.acquire(model, until: .now + .seconds(5))
            #expect(use.instance.sizeBytes == 10 << 20)
            await peer.local.release(use)
            #expect(store.copies(of: model)[peer.id]?.state == .loaded)
            #expect(peer.local.state(of: model) == .loaded)
        }
    }

    /// A claim that loses to another peer's gives the memory back and reports the race.
    @Test func aLostClaimLeavesNothingBehind() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            let view = peer.mirror.view
            _ = try await store.putCopy(model, on: try PeerID("b"), record: CopyRecord(state: .loading, since: clock.now, sizeBytes: 1), lease: .none)
            do {
                try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: view, until: .now + .seconds(5))
                Issue.record("claimed over another peer's copy")
            } catch let failure as CopyFailure {
                guard case .lostRace(_, let holders, _) = failure else { Issue.record("\(failure)"); return }
                #expect(holders == [try PeerID("b")])
            }
            #expect(peer.local.state(of: model) == nil)
            #expect(peer.local.loadReport(now: clock.now).usedBytes == 0)
            #expect(peer.runtime.loads.isEmpty)
        }
    }

    /// A failed load deletes the copy record, records the failure, and fails the waiters.
    @Test func aFailedLoadIsRecordedAndItsWaitersFail() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        peer.runtime.fail(model)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
            await #expect(throws: CopyFailure.self) { try await peer.local.acquire(model, until: .now + .seconds(5)) }
            await peer.mirror.waitUntil(timeout: .seconds(5)) { !$0.failures(of: model).isEmpty }
            #expect(store.copies(of: model).isEmpty)
            #expect(store.failures(of: model)[peer.id]?.message.contains("is configured to fail") == true)
        }
    }

    /// Removing an idle copy deletes its record and unloads it.
    @Test func removingAnIdleCopyUnloadsIt() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
            await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
            await peer.local.remove(model, reason: "test")
            #expect(store.copies(of: model).isEmpty)
            #expect(try await eventually { peer.runtime.unloads == [model] })
        }
    }

    /// A copy removed while serving drains: it unloads when its last request ends.
    @Test func aBusyCopyDrainsBeforeItUnloads() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
            let use = try await peer.local.acquire(model, until: .now + .seconds(5))
            await peer.local.remove(model, reason: "test")
            #expect(peer.local.state(of: model) == nil)
            try await Task.sleep(for: .milliseconds(50))
            #expect(peer.runtime.unloads.isEmpty)
            await peer.local.release(use)
            #expect(try await eventually { peer.runtime.unloads == [model] })
        }
    }

    /// Unregistering a model unloads every copy (the mirror sees the record go).
    @Test func anUnregisteredModelLeavesThePeer() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
            await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
            #expect(try await store.unregister(model) == .removed)
            #expect(try await eventually { peer.runtime.unloads == [model] })
            #expect(peer.local.state(of: model) == nil)
        }
    }

    /// A full peer evicts to make room, recently used models at most as fast as the churn limit
    /// allows: beyond it, a request's load waits for room until its deadline.
    @Test func aFullPeerEvictsAndTheChurnLimitMakesLoadsWait() async throws {
        let peer = try await ShellPeer.make("a", store: store, clock: clock, capacity: 20 << 20, churnLimitPerSecond: 0.01)
        let models = [try await register("first", in: store, clock: clock), try await register("second", in: store, clock: clock),
                      try await register("third", in: store, clock: clock), try await register("fourth", in: store, clock: clock)]
        try await peer.running { () async throws in
            for model in models.prefix(2) {
                try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
                await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
                clock.advance(.seconds(1))
            }
            // The limit's burst: one recently used model may go at once (the least valuable, first).
            try await peer.local.load(models[2], record: try #require(try await store.modelRecord(models[2])), view: peer.mirror.view, until: .now + .seconds(5))
            #expect(peer.local.state(of: models[0]) == nil)
            #expect(peer.local.state(of: models[1]) == .loaded)
            // The next one would be too soon: it waits, here past its short deadline.
            let started = ContinuousClock.now
            await #expect(throws: CopyFailure.self) {
                try await peer.local.load(models[3], record: try #require(try await store.modelRecord(models[3])), view: peer.mirror.view, until: .now + .milliseconds(300))
            }
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(peer.local.state(of: models[1]) == .loaded)
        }
    }

    /// After a lost lease, every copy record is written again under the new one.
    @Test func copyRecordsAreRestoredUnderANewLease() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
            await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
            store.expireLease(peer.lease)
            #expect(store.copies(of: model).isEmpty)
            let fresh = try await store.grantLease(ttl: 10).lease
            await peer.local.restoreCopyRecords(lease: fresh)
            #expect(store.copies(of: model)[peer.id]?.state == .loaded)
        }
    }
}

/// Polls `condition` (in process, briefly) until it holds or a few seconds pass.
func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

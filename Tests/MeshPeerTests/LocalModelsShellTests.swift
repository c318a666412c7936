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
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
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
            try await store.putCopy(model, on: try PeerID("b"), record: CopyRecord(state: .loading, since: clock.now, sizeBytes: 1), lease: .none)
            do {
                try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: view)
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
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
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
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
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
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
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
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
            await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
            #expect(try await store.unregister(model) == .removed)
            #expect(try await eventually { peer.runtime.unloads == [model] })
            #expect(peer.local.state(of: model) == nil)
        }
    }

    /// A full peer evicts its least recently used idle model to make room, once the churn guard allows.
    @Test func aFullPeerEvictsTheLeastRecentlyUsedModel() async throws {
        let peer = try await peer(capacity: 20 << 20)
        let first = try await register("first", in: store, clock: clock)
        let second = try await register("second", in: store, clock: clock)
        let third = try await register("third", in: store, clock: clock)
        try await peer.running { () async throws in
            for model in [first, second] {
                try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
                await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
                clock.advance(.seconds(1))
            }
            // Both used within the churn guard: refused.
            await #expect(throws: CopyFailure.self) {
                try await peer.local.load(third, record: try #require(try await store.modelRecord(third)), view: peer.mirror.view)
            }
            clock.advance(.seconds(31))
            await peer.mirror.waitUntil(timeout: .seconds(5)) { $0.copies(of: second)[peer.id]?.state == .loaded }
            try await peer.local.load(third, record: try #require(try await store.modelRecord(third)), view: peer.mirror.view)
            #expect(peer.local.state(of: first) == nil)
            #expect(peer.local.state(of: second) == .loaded)
            #expect(store.copies(of: first).isEmpty)
        }
    }

    /// After a lost lease, every copy record is written again under the new one.
    @Test func copyRecordsAreRestoredUnderANewLease() async throws {
        let peer = try await peer()
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view)
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

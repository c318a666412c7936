import MeshCore
@testable import MeshPeer
import Testing

/// The copy audit as the shell carries it out: records and holdings that drifted apart converge
/// on what the peer holds, and records another lease owns are never touched.
@Suite(.timeLimit(.minutes(1))) struct CopyAuditShellTests {
    let store = InMemoryMeshStore()
    let clock = ManualClock()

    /// Loads `model` on `peer` and waits until it is served.
    func load(_ model: ModelID, on peer: ShellPeer) async throws {
        try await peer.local.load(model, record: try #require(try await store.modelRecord(model)), view: peer.mirror.view, until: .now + .seconds(5))
        await peer.local.release(try await peer.local.acquire(model, until: .now + .seconds(5)))
    }

    /// The audit's view of this peer's records, as the store holds them now.
    func recorded(on peer: ShellPeer, _ models: [ModelID]) -> Set<ModelID> {
        Set(models.filter { store.copies(of: $0)[peer.id] != nil })
    }

    @Test func anOrphanedRecordIsDeletedInTheSecondRound() async throws {
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let orphan = try await register("orphan", in: store, clock: clock)
        try await peer.running { () async throws in
            // A claim that timed out after the store applied it: a record, no copy.
            _ = try await store.putCopy(orphan, on: peer.id, record: CopyRecord(state: .loading, since: clock.now, sizeBytes: 1), lease: peer.lease)
            #expect(await peer.local.auditCopyRecords(recorded: recorded(on: peer, [orphan])).isEmpty)
            #expect(store.copies(of: orphan)[peer.id] != nil)
            #expect(await peer.local.auditCopyRecords(recorded: recorded(on: peer, [orphan])) == [.orphanRecord(orphan)])
            #expect(store.copies(of: orphan)[peer.id] == nil)
        }
    }

    @Test func aRecordOwnedByAnotherLeaseIsLeftAlone() async throws {
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let model = try await register("theirs", in: store, clock: clock)
        let otherLease = try await store.grantLease(ttl: 10).lease
        try await peer.running { () async throws in
            // Another process with this peer id (a successor) wrote it.
            _ = try await store.putCopy(model, on: peer.id, record: CopyRecord(state: .loaded, since: clock.now, sizeBytes: 1), lease: otherLease)
            for _ in 0..<3 { await peer.local.auditCopyRecords(recorded: recorded(on: peer, [model])) }
            #expect(store.copies(of: model)[peer.id] != nil)
        }
    }

    @Test func aMissingRecordIsWrittenAgain() async throws {
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let model = try await register("m", in: store, clock: clock)
        try await peer.running { () async throws in
            try await load(model, on: peer)
            store.removeUnseen(copyOf: model, on: peer.id)
            #expect(await peer.local.auditCopyRecords(recorded: []).isEmpty)
            #expect(await peer.local.auditCopyRecords(recorded: []) == [.missingRecord(model)])
            #expect(store.copies(of: model)[peer.id]?.state == .loaded)
            #expect(peer.local.state(of: model) == .loaded)
        }
    }

    /// Unregistered while this peer could not see it (a partition): the audit's write finds the
    /// model gone, and the copy is unloaded instead of re-creating its record.
    @Test func aCopyOfAModelUnregisteredUnseenIsUnloaded() async throws {
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let model = try await register("gone", in: store, clock: clock)
        try await peer.running { () async throws in
            try await load(model, on: peer)
            store.removeUnseen(model: model)
            await peer.local.auditCopyRecords(recorded: [])
            #expect(await peer.local.auditCopyRecords(recorded: []) == [.missingRecord(model)])
            #expect(store.copies(of: model).isEmpty)
            // Unloads run as jobs: the copy leaves the ledger first, the runtime unloads after.
            let unloaded = await waitUntil { peer.local.state(of: model) == nil && peer.runtime.unloads.contains(model) }
            #expect(unloaded)
        }
    }

    /// A successor with this peer id owns the key: this process stops serving the copy and does
    /// not overwrite the successor's record.
    @Test func aRecordWriteThatFindsAnotherLeaseGivesTheCopyUp() async throws {
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let model = try await register("m", in: store, clock: clock)
        let successor = try await store.grantLease(ttl: 10).lease
        try await peer.running { () async throws in
            try await load(model, on: peer)
            store.removeUnseen(copyOf: model, on: peer.id)
            let theirs = CopyRecord(state: .loading, since: clock.now, sizeBytes: 7)
            _ = try await store.putCopy(model, on: peer.id, record: theirs, lease: successor)
            await peer.local.restoreCopyRecords(lease: peer.lease)
            #expect(store.copies(of: model)[peer.id] == theirs)
            let removed = await waitUntil { peer.local.state(of: model) == nil }
            #expect(removed)
        }
    }
}

/// Polls `condition` for up to five seconds (loads and unloads run as jobs on other tasks).
private func waitUntil(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

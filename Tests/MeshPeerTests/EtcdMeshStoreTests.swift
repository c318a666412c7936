import EtcdGateway
import Logging
import MeshCore
@testable import MeshPeer
import MeshTestSupport
import Testing

/// The store's copy writes and its watch check against a real etcd.
@Suite(.timeLimit(.minutes(2))) struct EtcdMeshStoreTests {
    let layout = KeyLayout(prefix: "/mm/test")
    let a = try! PeerID("a")

    func store(_ endpoints: [String]) -> EtcdMeshStore {
        EtcdMeshStore(endpoints: endpoints, layout: layout, logger: testLogger("store"))
    }

    func record(_ size: Int64 = 1) -> CopyRecord { CopyRecord(state: .loaded, since: .epoch, sizeBytes: size) }

    func registered(_ name: String, in store: EtcdMeshStore) async throws -> ModelID {
        let id = try ModelID(name)
        _ = try await store.register(id, ModelRecord(type: "synthetic", storage: .uri("file:///\(name)"), created: .epoch))
        return id
    }

    /// A copy record's deletion comes through the change feed with the revision that deleted it,
    /// after the revision its claim wrote at: what tells a peer an old record's deletion from the
    /// deletion of the copy it holds now (``CopyLedger/recordDeleted(_:revision:now:)``).
    @Test func aCopyDeletionCarriesItsRevision() async throws {
        try await withEtcd { server, _ in
            let store = store([server.clientURL])
            defer { Task { await store.close() } }
            let model = try await registered("m", in: store)
            let lease = try await store.grantLease(ttl: 30).lease
            guard case .claimed(let claimed) = try await store.claimCopy(model, on: a, record: record(), lease: lease, decidedAt: 0) else {
                Issue.record("the claim did not hold")
                return
            }
            #expect(try await store.deleteCopy(model, on: a, lease: lease))
            var deletedAt: Int64?
            for try await batch in store.changes(after: claimed) {
                for case .cluster(.copyDeleted(model, a), let revision) in batch.events { deletedAt = revision }
                if deletedAt != nil { break }
            }
            #expect(deletedAt == claimed + 1)
        }
    }

    @Test func copyWritesAndDeletesOnlyTouchTheirOwnLeasesKeys() async throws {
        try await withEtcd { server, etcd in
            let store = store([server.clientURL])
            defer { Task { await store.close() } }
            let model = try await registered("m", in: store)
            let mine = try await store.grantLease(ttl: 30).lease, theirs = try await store.grantLease(ttl: 30).lease

            #expect(try await store.putCopy(model, on: a, record: record(1), lease: mine) == .written)
            // Rewriting our own record is fine.
            #expect(try await store.putCopy(model, on: a, record: record(2), lease: mine) == .written)
            // Another process with the same peer id cannot overwrite it, nor delete it.
            #expect(try await store.putCopy(model, on: a, record: record(3), lease: theirs) == .ownedByAnotherLease)
            #expect(try await store.deleteCopy(model, on: a, lease: theirs) == false)
            let kept = try #require(try await etcd.get(layout.copy(model, on: a)))
            #expect(kept.lease == mine)
            #expect(try RecordCoding.decode(CopyRecord.self, from: kept.value).sizeBytes == 2)
            // The owner deletes it; a second delete finds nothing.
            #expect(try await store.deleteCopy(model, on: a, lease: mine))
            #expect(try await store.deleteCopy(model, on: a, lease: mine) == false)
            #expect(try await etcd.get(layout.copy(model, on: a)) == nil)
        }
    }

    @Test func noCopyRecordOutlivesItsModel() async throws {
        try await withEtcd { server, etcd in
            let store = store([server.clientURL])
            defer { Task { await store.close() } }
            let model = try await registered("m", in: store)
            let lease = try await store.grantLease(ttl: 30).lease
            #expect(try await store.unregister(model) == .removed)
            #expect(try await store.putCopy(model, on: a, record: record(), lease: lease) == .modelGone)
            #expect(try await etcd.get(layout.copy(model, on: a)) == nil)
        }
    }

    @Test func changedAfterSeesTheMeshsKeysOnly() async throws {
        try await withEtcd { server, etcd in
            let store = store([server.clientURL])
            defer { Task { await store.close() } }
            let before = try await store.currentRevision()
            _ = try await etcd.put("/elsewhere/key", "not the mesh's")
            #expect(try await store.currentRevision() > before)
            #expect(try await store.changed(after: before, timeout: .milliseconds(500)) == false)
            _ = try await registered("m", in: store)
            #expect(try await store.changed(after: before, timeout: .seconds(5)))
        }
    }

    /// The mirror's watch runs through a connection that goes silent without closing, while
    /// requests fail over to a second endpoint: the check notices etcd moved on, and the mirror
    /// reads the cluster again through the endpoint that works.
    @Test func aMirrorWhoseWatchWentSilentCatchesUp() async throws {
        try await withEtcd { server, _ in
            let proxy = try await StallingProxy.start(upstreamPort: server.clientPort)
            defer { Task { await proxy.stop() } }
            // Requests and the watch start on the proxy (the first endpoint).
            let silent = store([proxy.endpointURL, server.clientURL])
            let writer = store([server.clientURL])
            defer { Task { await silent.close(); await writer.close() } }
            let mirror = ClusterMirror(store: silent, watchCheckInterval: .milliseconds(300), logger: testLogger("mirror"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await mirror.run() }
                defer { group.cancelAll() }
                try await mirror.waitUntilSynced()
                let model = try await registered("before", in: writer)
                let lease = try await writer.grantLease(ttl: 60).lease
                _ = try await writer.putCopy(model, on: a, record: record(), lease: lease)
                #expect(await mirror.waitUntil(timeout: .seconds(10)) { $0.copies[model]?[a] != nil })

                proxy.stall()
                let later = try await registered("after", in: writer)
                _ = try await writer.putCopy(later, on: a, record: record(), lease: lease)
                // The request timeout (5 s) moves reads to the second endpoint; the check then
                // finds the watch behind and the mirror re-reads.
                #expect(await mirror.waitUntil(timeout: .seconds(30)) { $0.copies[later]?[a] != nil })
                // A deletion alone is seen too, on the new watch.
                #expect(try await writer.deleteCopy(model, on: a, lease: lease))
                #expect(await mirror.waitUntil(timeout: .seconds(10)) { $0.copies[model] == nil })
            }
        }
    }
}

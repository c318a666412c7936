import EtcdGateway
import MeshTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct TxnTests {
    @Test func compareAndSwapSucceedsThenConflicts() async throws {
        try await withEtcd { _, etcd throws in
            let created = try await etcd.put("/cas/k", "v1")
            let revision = created.header.revision

            let swap = Txn(if: [Compare(.key("/cas/k"), .modRevision(revision), .equal)], then: [.put("/cas/k", "v2")])
            let first = try await etcd.txn(swap)
            #expect(first.succeeded)
            #expect(try await etcd.get("/cas/k")?.valueString == "v2")

            // The same swap again: the key changed since `revision`, so the compare fails and the
            // failure branch reads the current value.
            let again = Txn(
                if: [Compare(.key("/cas/k"), .modRevision(revision), .equal)],
                then: [.put("/cas/k", "v3")],
                else: [.range(.key("/cas/k"))]
            )
            let second = try await etcd.txn(again)
            #expect(!second.succeeded)
            #expect(second.ranges.first?.kvs.first?.valueString == "v2")
            #expect(try await etcd.get("/cas/k")?.valueString == "v2")
        }
    }

    @Test func createOnlyIfAbsent() async throws {
        try await withEtcd { _, etcd throws in
            let create = Txn(if: [.absent("/once")], then: [.put("/once", "first")])
            #expect(try await etcd.txn(create).succeeded)
            let repeated = Txn(if: [.absent("/once")], then: [.put("/once", "second")])
            #expect(try await !etcd.txn(repeated).succeeded)
            #expect(try await etcd.get("/once")?.valueString == "first")
            #expect(try await etcd.txn(Txn(if: [.present("/once")], then: [])).succeeded)
        }
    }

    @Test func comparesOnValueVersionAndLease() async throws {
        try await withEtcd { _, etcd throws in
            let lease = try await etcd.grantLease(ttl: 30)
            try await etcd.put("/cmp", "hello", lease: lease.id)
            try await etcd.put("/cmp", "hello", lease: lease.id)

            #expect(try await etcd.txn(Txn(if: [Compare(.key("/cmp"), .value(Array("hello".utf8)), .equal)], then: [])).succeeded)
            #expect(try await !etcd.txn(Txn(if: [Compare(.key("/cmp"), .value(Array("bye".utf8)), .equal)], then: [])).succeeded)
            #expect(try await etcd.txn(Txn(if: [Compare(.key("/cmp"), .version(2), .equal)], then: [])).succeeded)
            #expect(try await etcd.txn(Txn(if: [Compare(.key("/cmp"), .version(1), .greater)], then: [])).succeeded)
            #expect(try await etcd.txn(Txn(if: [Compare(.key("/cmp"), .lease(lease.id), .equal)], then: [])).succeeded)
            #expect(try await !etcd.txn(Txn(if: [Compare(.key("/cmp"), .lease(.none), .equal)], then: [])).succeeded)
            let createRevision = try #require(try await etcd.get("/cmp")).createRevision
            #expect(try await etcd.txn(Txn(if: [Compare(.key("/cmp"), .createRevision(createRevision), .equal)], then: [])).succeeded)
        }
    }

    /// The copy-claim pattern: decide on a read of the whole prefix, then add a key only if no key
    /// under the prefix changed since that read.
    @Test func rangeCompareFailsWhenAKeyAppearsInThePrefix() async throws {
        try await withEtcd { _, etcd throws in
            try await etcd.put("/copies/m/peer-a", "loaded")
            let view = try await etcd.range(.prefix("/copies/m/"))
            let decidedAt = view.header.revision

            // Another writer adds a key in the prefix after the read.
            try await etcd.put("/copies/m/peer-b", "loading")

            let claim = Txn(
                if: [.unchangedSince(.prefix("/copies/m/"), revision: decidedAt)],
                then: [.put("/copies/m/peer-c", "loading")],
                else: [.range(.prefix("/copies/m/"))]
            )
            let result = try await etcd.txn(claim)
            #expect(!result.succeeded)
            #expect(result.ranges.first?.kvs.map(\.keyString) == ["/copies/m/peer-a", "/copies/m/peer-b"])
            #expect(try await etcd.get("/copies/m/peer-c") == nil)

            // Deciding again on the fresh read succeeds.
            let fresh = try #require(result.ranges.first).header.revision
            let retry = Txn(if: [.unchangedSince(.prefix("/copies/m/"), revision: fresh)], then: [.put("/copies/m/peer-c", "loading")])
            #expect(try await etcd.txn(retry).succeeded)
        }
    }

    @Test func rangeCompareOnAnEmptyPrefixSucceeds() async throws {
        try await withEtcd { _, etcd throws in
            let revision = try await etcd.range(.prefix("/copies/new/")).header.revision
            let claim = Txn(if: [.unchangedSince(.prefix("/copies/new/"), revision: revision)], then: [.put("/copies/new/p", "loading")])
            #expect(try await etcd.txn(claim).succeeded)
        }
    }

    @Test func nestedOperationsReturnTheirResults() async throws {
        try await withEtcd { _, etcd throws in
            try await etcd.put("/n/a", "1")
            let result = try await etcd.txn(Txn(
                if: [.present("/n/a")],
                then: [.put(key: "/n/b", value: Array("2".utf8), prevKV: true), .range(.prefix("/n/")), .delete(.key("/n/a"), prevKV: true)]
            ))
            #expect(result.succeeded)
            #expect(result.results.count == 3)
            #expect(result.ranges.first?.kvs.count == 2)
            guard case .delete(let deleted) = result.results[2] else {
                Issue.record("expected a delete result, got \(result.results[2])")
                return
            }
            #expect(deleted.deleted == 1)
            #expect(deleted.previous.first?.valueString == "1")
        }
    }
}

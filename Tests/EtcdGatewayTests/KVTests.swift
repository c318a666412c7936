import EtcdGateway
import MeshTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct KVTests {
    @Test func putGetAndDelete() async throws {
        try await withEtcd { _, etcd throws in
            let put = try await etcd.put("/t/a", "one")
            #expect(put.header.revision > 1)
            let got = try #require(try await etcd.get("/t/a"))
            #expect(got.valueString == "one")
            #expect(got.version == 1)
            #expect(got.createRevision == put.header.revision)
            #expect(got.lease == .none)

            let second = try await etcd.put("/t/a", "two", prevKV: true)
            #expect(second.previous?.valueString == "one")
            #expect(try await etcd.get("/t/a")?.version == 2)

            let deleted = try await etcd.delete(.key("/t/a"), prevKV: true)
            #expect(deleted.deleted == 1)
            #expect(deleted.previous.map(\.valueString) == ["two"])
            #expect(try await etcd.get("/t/a") == nil)
        }
    }

    @Test func rangeOptions() async throws {
        try await withEtcd { _, etcd throws in
            for name in ["b", "a", "c", "d"] { try await etcd.put("/r/\(name)", "value-\(name)") }
            try await etcd.put("/other", "x")
            try await etcd.put("/r", "the prefix itself")

            let all = try await etcd.range(.prefix("/r/"))
            #expect(all.kvs.map(\.keyString) == ["/r/a", "/r/b", "/r/c", "/r/d"])
            #expect(all.count == 4)
            #expect(!all.more)

            let limited = try await etcd.range(.prefix("/r/"), RangeOptions(limit: 2))
            #expect(limited.kvs.map(\.keyString) == ["/r/a", "/r/b"])
            #expect(limited.more)
            #expect(limited.count == 4)

            let keysOnly = try await etcd.range(.prefix("/r/"), RangeOptions(keysOnly: true))
            #expect(keysOnly.kvs.allSatisfy { $0.value.isEmpty })
            #expect(keysOnly.kvs.count == 4)

            let countOnly = try await etcd.range(.prefix("/r/"), RangeOptions(countOnly: true))
            #expect(countOnly.kvs.isEmpty)
            #expect(countOnly.count == 4)

            let descending = try await etcd.range(.prefix("/r/"), RangeOptions(sortOrder: .descend, sortTarget: .key))
            #expect(descending.kvs.map(\.keyString) == ["/r/d", "/r/c", "/r/b", "/r/a"])

            let byCreation = try await etcd.range(.prefix("/r/"), RangeOptions(sortOrder: .ascend, sortTarget: .create))
            #expect(byCreation.kvs.map(\.keyString) == ["/r/b", "/r/a", "/r/c", "/r/d"])

            let everything = try await etcd.range(.from(""))
            #expect(everything.count == 6)
        }
    }

    @Test func readsAnOlderRevision() async throws {
        try await withEtcd { _, etcd throws in
            let first = try await etcd.put("/h/k", "old")
            try await etcd.put("/h/k", "new")
            let old = try await etcd.range(.key("/h/k"), RangeOptions(revision: first.header.revision))
            #expect(old.kvs.first?.valueString == "old")
            #expect(try await etcd.get("/h/k")?.valueString == "new")
        }
    }

    @Test func getAllPagesAtOneRevision() async throws {
        try await withEtcd { _, etcd throws in
            for index in 0..<25 { try await etcd.put("/p/key-\(String(index + 100))", "\(index)") }
            let (kvs, revision) = try await etcd.getAll(prefix: "/p/", pageSize: 7)
            #expect(kvs.count == 25)
            #expect(kvs.map(\.keyString) == (0..<25).map { "/p/key-\($0 + 100)" })
            #expect(revision == (try await etcd.status()).header.revision)
        }
    }

    @Test func binaryValuesSurviveTheGateway() async throws {
        try await withEtcd { _, etcd throws in
            let bytes: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 10, 13, 0x22]
            try await etcd.put("/bin", value: bytes)
            #expect(try await etcd.get("/bin")?.value == bytes)
        }
    }

    @Test func unreachableEndpointIsNamed() async throws {
        let port = FreePort.next()
        let etcd = EtcdClient(EtcdClient.Configuration(endpoints: ["127.0.0.1:\(port)"]))
        defer { Task { try? await etcd.shutdown() } }
        await #expect(throws: EtcdError.unreachable(endpoints: ["http://127.0.0.1:\(port)"], reason: "connection refused")) {
            _ = try await etcd.get("/x")
        }
        let error = EtcdError.unreachable(endpoints: ["http://127.0.0.1:\(port)"], reason: "connection refused")
        #expect(error.description == "etcd at http://127.0.0.1:\(port) is not reachable (connection refused)")
    }

    @Test func compactedRevisionIsReported() async throws {
        try await withEtcd { _, etcd throws in
            let first = try await etcd.put("/c/k", "1")
            let second = try await etcd.put("/c/k", "2")
            try await etcd.compact(revision: second.header.revision)
            await #expect(throws: EtcdError.compacted(requestedRevision: first.header.revision, compactRevision: 0)) {
                _ = try await etcd.range(.key("/c/k"), RangeOptions(revision: first.header.revision))
            }
            #expect(EtcdError.compacted(requestedRevision: 42, compactRevision: 57).description
                == "revision 42 has been compacted (etcd keeps history from revision 57); re-read and watch again")
        }
    }
}

import EtcdGateway
import MeshTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct WatchTests {
    @Test func deliversPutsAndDeletesInOrder() async throws {
        try await withEtcd { _, etcd throws in
            let start = try await etcd.put("/w/other", "outside the prefix")
            var iterator = etcd.watch(.prefix("/w/k/"), from: start.header.revision + 1, prevKV: true).makeAsyncIterator()
            try await etcd.put("/w/k/1", "a")
            try await etcd.put("/w/k/1", "b")
            try await etcd.put("/w/other", "ignored")
            try await etcd.delete(.key("/w/k/1"))
            try await etcd.put("/w/k/2", "c")

            var events: [WatchEvent] = []
            while events.count < 4, let batch = try await iterator.next() {
                events.append(contentsOf: batch.events)
            }
            #expect(events.map(\.kind) == [.put, .put, .delete, .put])
            #expect(events.map(\.kv.keyString) == ["/w/k/1", "/w/k/1", "/w/k/1", "/w/k/2"])
            #expect(events.map(\.kv.valueString) == ["a", "b", "", "c"])
            #expect(events[1].previous?.valueString == "a")
            #expect(events[2].previous?.valueString == "b")
            #expect(events.map(\.kv.modRevision) == events.map(\.kv.modRevision).sorted())
        }
    }

    @Test func watchFromNowSkipsHistory() async throws {
        try await withEtcd { _, etcd throws in
            try await etcd.put("/now/old", "before")
            var iterator = etcd.watch(.prefix("/now/")).makeAsyncIterator()
            // The watch is created lazily by the first next(); give it a moment to be in place.
            let reader = Task { () -> [String] in
                var keys: [String] = []
                while keys.isEmpty, let batch = try await iterator.next() { keys += batch.events.map(\.kv.keyString) }
                return keys
            }
            try await Task.sleep(for: .milliseconds(300))
            try await etcd.put("/now/new", "after")
            #expect(try await reader.value == ["/now/new"])
        }
    }

    @Test func resumesAcrossAnEtcdRestartWithoutLossOrRepetition() async throws {
        try await withEtcd { server, etcd throws in
            let base = try await etcd.put("/r/marker", "start").header.revision
            let total = 30
            let watcher = Task { () -> [String] in
                var values: [String] = []
                for try await batch in etcd.watch(.prefix("/r/n/"), from: base + 1) {
                    values += batch.events.map(\.kv.valueString)
                    if values.count >= total { break }
                }
                return values
            }
            for index in 0..<10 { try await etcd.put("/r/n/\(index)", "\(index)") }
            try await Task.sleep(for: .milliseconds(300))
            // A crash: the watch's connection is cut without a goodbye.
            await server.kill9()
            try await server.restart()
            for index in 10..<20 { try await etcd.put("/r/n/\(index)", "\(index)") }
            try await Task.sleep(for: .milliseconds(300))
            // And a clean restart, with writes right after it.
            await server.stop()
            try await server.restart()
            for index in 20..<total { try await etcd.put("/r/n/\(index)", "\(index)") }
            let values = try await watcher.value
            #expect(values == (0..<total).map(String.init))
        }
    }

    @Test func reportsCompactionSoTheCallerCanResync() async throws {
        try await withEtcd { _, etcd throws in
            let first = try await etcd.put("/cw/k", "1").header.revision
            try await etcd.put("/cw/k", "2")
            let third = try await etcd.put("/cw/k", "3").header.revision
            try await etcd.compact(revision: third)
            await #expect(throws: EtcdError.compacted(requestedRevision: first, compactRevision: third)) {
                for try await _ in etcd.watch(.prefix("/cw/"), from: first) {}
            }
        }
    }

    @Test func progressReportsAdvanceTheRevisionOfAQuietWatch() async throws {
        try await withEtcd { _, etcd throws in
            let start = try await etcd.put("/quiet/x", "1").header.revision
            try await etcd.put("/loud/y", "elsewhere")
            // The test etcd sends progress reports every 2 s.
            var iterator = etcd.watch(.prefix("/quiet/"), from: start + 1).makeAsyncIterator()
            let batch = try #require(try await iterator.next())
            #expect(batch.events.isEmpty)
            #expect(batch.revision >= start + 1)
        }
    }
}

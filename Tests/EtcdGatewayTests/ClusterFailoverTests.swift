import EtcdGateway
import MeshTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ClusterFailoverTests {
    @Test func failsOverToAnotherMemberWhenOneIsKilled() async throws {
        try await withEtcdCluster { cluster, etcd throws in
            try await etcd.put("/f/before", "1")
            let watcher = Task { () -> [String] in
                var keys: [String] = []
                for try await batch in etcd.watch(.prefix("/f/after/"), from: 1) {
                    keys += batch.events.map(\.kv.keyString)
                    if keys.count >= 3 { break }
                }
                return keys
            }
            try await etcd.put("/f/after/1", "x")
            // The client prefers the first member; kill it.
            await cluster.members[0].kill9()
            try await etcd.put("/f/after/2", "y")
            #expect(try await etcd.get("/f/before")?.valueString == "1")
            let lease = try await etcd.grantLease(ttl: 10)
            try await etcd.put("/f/after/3", "z", lease: lease.id)
            #expect(try await etcd.keepAliveOnce(lease.id) > 0)
            #expect(try await watcher.value == ["/f/after/1", "/f/after/2", "/f/after/3"])

            // The member comes back with its data and catches up.
            try await cluster.members[0].restart()
            let single = EtcdClient(EtcdClient.Configuration(endpoints: [cluster.members[0].clientURL]))
            let deadline = ContinuousClock.now + .seconds(10)
            var caughtUp = false
            while !caughtUp && ContinuousClock.now < deadline {
                caughtUp = (try? await single.get("/f/after/3")) != nil
                if !caughtUp { try await Task.sleep(for: .milliseconds(100)) }
            }
            try await single.shutdown()
            #expect(caughtUp)
        }
    }

    @Test func allMembersDownIsReportedWithEveryEndpoint() async throws {
        try await withEtcdCluster { cluster, etcd throws in
            for member in cluster.members { await member.kill9() }
            do {
                _ = try await etcd.get("/x")
                Issue.record("a read succeeded with every member down")
            } catch let error as EtcdError {
                guard case .unreachable(let endpoints, _) = error else {
                    Issue.record("expected unreachable, got \(error)")
                    return
                }
                #expect(endpoints == cluster.clientURLs)
                #expect(error.description.hasPrefix("no etcd endpoint is reachable (tried "))
            }
        }
    }
}

import Synchronization
import EtcdGateway
import MeshTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct LeaseTests {
    @Test func grantTimeToLiveAndRevoke() async throws {
        try await withEtcd { _, etcd throws in
            let lease = try await etcd.grantLease(ttl: 30)
            #expect(lease.ttl == 30)
            try await etcd.put("/lease/a", "1", lease: lease.id)
            try await etcd.put("/lease/b", "2", lease: lease.id)
            #expect(try await etcd.get("/lease/a")?.lease == lease.id)

            let info = try await etcd.timeToLive(lease.id, keys: true)
            #expect(info.grantedTTL == 30)
            #expect(info.ttl > 20 && info.ttl <= 30)
            #expect(Set(info.keys) == ["/lease/a", "/lease/b"])

            try await etcd.revokeLease(lease.id)
            #expect(try await etcd.range(.prefix("/lease/")).count == 0)
            #expect(try await etcd.timeToLive(lease.id).ttl == -1)
            // Revoking again is harmless.
            try await etcd.revokeLease(lease.id)
        }
    }

    @Test func expiredLeaseDeletesItsKeys() async throws {
        try await withEtcd { _, etcd throws in
            let lease = try await etcd.grantLease(ttl: 2)
            try await etcd.put("/expiring", "soon", lease: lease.id)
            try await etcd.put("/staying", "put without a lease")
            let deadline = ContinuousClock.now + .seconds(15)
            while try await etcd.get("/expiring") != nil {
                try #require(ContinuousClock.now < deadline, "the lease's key outlived its TTL by far")
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await etcd.get("/staying") != nil)
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) { _ = try await etcd.keepAliveOnce(lease.id) }
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) { try await etcd.put("/late", "x", lease: lease.id) }
        }
    }

    @Test func keepAliveHoldsTheLeaseAndReportsTheTTL() async throws {
        try await withEtcd { _, etcd throws in
            // A TTL twelve renewal intervals long: the whole test suite runs beside this test on
            // two cores, and a starved renewal must not let the lease lapse.
            let lease = try await etcd.grantLease(ttl: 6)
            try await etcd.put("/kept", "alive", lease: lease.id)
            var renewals: [Int64] = []
            let start = ContinuousClock.now
            for try await renewal in etcd.keepAlive(lease.id, every: .milliseconds(500)) {
                guard case .renewed(let ttl) = renewal else {
                    Issue.record("keep-alive failed: \(renewal)")
                    break
                }
                renewals.append(ttl)
                if ContinuousClock.now - start > .seconds(13) { break }
            }
            // Held for over twice the TTL.
            #expect(renewals.count >= 8)
            #expect(renewals.allSatisfy { $0 == 6 })
            #expect(try await etcd.get("/kept")?.valueString == "alive")
        }
    }

    @Test func keepAliveEndsWhenTheLeaseIsRevoked() async throws {
        try await withEtcd { _, etcd throws in
            let lease = try await etcd.grantLease(ttl: 10)
            var renewed = 0
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) {
                for try await renewal in etcd.keepAlive(lease.id, every: .milliseconds(100)) {
                    if case .renewed = renewal { renewed += 1 }
                    if renewed == 2 { try await etcd.revokeLease(lease.id) }
                }
            }
            #expect(renewed == 2)
        }
    }

    @Test func keepAliveStopsOnCancellation() async throws {
        try await withEtcd { _, etcd throws in
            let lease = try await etcd.grantLease(ttl: 10)
            let renewals = Mutex(0)
            let task = Task {
                var count = 0
                for try await _ in etcd.keepAlive(lease.id, every: .milliseconds(50)) {
                    count += 1
                    renewals.withLock { $0 = count }
                }
                return count
            }
            // Cancel once it has renewed twice (however long a busy machine takes), then the
            // stream must end.
            let deadline = ContinuousClock.now + .seconds(20)
            while renewals.withLock({ $0 }) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            task.cancel()
            let count = try await task.value
            #expect(count >= 2)
        }
    }

    @Test func keepAliveReportsOutagesAndRecovers() async throws {
        try await withEtcd { server, etcd throws in
            let lease = try await etcd.grantLease(ttl: 20)
            var sawFailure = false
            var renewedAfterFailure = false
            for try await renewal in etcd.keepAlive(lease.id, every: .milliseconds(200)) {
                switch renewal {
                case .renewed:
                    if sawFailure {
                        renewedAfterFailure = true
                    } else {
                        await server.stop()
                        try await server.restart(waitForHealth: false)
                        await server.stop()
                    }
                case .failed(let error):
                    #expect(error.isTransient, "unexpected failure: \(error)")
                    if !sawFailure {
                        sawFailure = true
                        try await server.restart()
                    }
                }
                if renewedAfterFailure { break }
            }
            #expect(sawFailure)
            #expect(renewedAfterFailure)
        }
    }
}

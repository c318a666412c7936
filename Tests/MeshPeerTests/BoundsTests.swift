import EtcdGateway
import MeshCore
@testable import MeshPeer
import Synchronization
import Testing

/// Structures that grow with what clients send are bounded.
@Suite(.timeLimit(.minutes(1))) struct BoundsTests {
    @Test func largeBodiesBeyondTheBudgetAreRefusedUntilOthersFinish() async throws {
        let budget = BodyBudget(totalBytes: 10 << 20, smallBytes: 1 << 20)
        try await budget.withReservation(8 << 20) {
            #expect(budget.reservedBytes == 8 << 20)
            await #expect(throws: MeshError.self) { try await budget.withReservation(4 << 20) {} }
            // Small bodies are not counted.
            try await budget.withReservation(1 << 20) {}
        }
        #expect(budget.reservedBytes == 0)
        try await budget.withReservation(10 << 20) {}
    }

    @Test func backgroundJobsBeyondTheLimitAreRefused() async throws {
        let work = BackgroundWork(limit: 2)
        let gate = Promise<Void>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await work.run() }
            for _ in 0..<2 { try work.submit("hold") { try? await gate.wait() } }
            #expect(throws: MeshError.self) { try work.submit("one too many") {} }
            gate.succeed(())
            let drained = ContinuousClock.now + .seconds(5)
            while work.running > 0 && ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(5)) }
            try work.submit("after") {}
            group.cancelAll()
        }
    }

    @Test func failureRecordsShareOneLeasePerHalfExpiry() async throws {
        let leases = FailureLeases()
        let granted = Mutex<[Int64]>([])
        let grant: (Int64) async throws -> LeaseID = { ttl in
            granted.withLock { $0.append(ttl) }
            return LeaseID(Int64(granted.withLock { $0.count }))
        }
        let first = try await leases.lease(expiry: .seconds(180), grant: grant)
        for _ in 0..<100 { #expect(try await leases.lease(expiry: .seconds(180), grant: grant) == first) }
        #expect(granted.withLock { $0 } == [270])
        leases.invalidate(first)
        #expect(try await leases.lease(expiry: .seconds(180), grant: grant) != first)
        #expect(granted.withLock { $0.count } == 2)
    }
}

@testable import EtcdGateway
import Synchronization
import Testing

/// The bound on etcd calls in flight: no more than the limit run at once, the rest wait their
/// turn, and a waiter that times out or is cancelled leaves without taking a slot.
@Suite struct CallLimiterTests {
    final class Running: Sendable {
        let state = Mutex((now: 0, most: 0))
    }

    @Test func noMoreThanTheLimitRunAtOnceAndEveryCallFinishes() async throws {
        let limiter = CallLimiter(limit: 3)
        let running = Running()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await limiter.run(within: .seconds(30)) {
                        running.state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                        try await Task.sleep(for: .milliseconds(2))
                        running.state.withLock { $0.now -= 1 }
                        return index
                    }
                }
            }
            var finished = 0
            for try await _ in group { finished += 1 }
            #expect(finished == 40)
        }
        #expect(running.state.withLock { $0.most } == 3)
        #expect(limiter.counts == (0, 0))
    }

    @Test func aWaiterTimesOutWithoutTakingASlot() async throws {
        let limiter = CallLimiter(limit: 1)
        let (release, holding) = AsyncStream.makeStream(of: Void.self)
        let holder = Task { try await limiter.run(within: .seconds(30)) { for await _ in release {} } }
        while limiter.counts.running == 0 { await Task.yield() }
        await #expect(throws: CallLimiter.TimedOut.self) {
            try await limiter.run(within: .milliseconds(50)) { Issue.record("ran without a slot") }
        }
        #expect(limiter.counts == (1, 0))
        holding.finish()
        try await holder.value
        #expect(try await limiter.run(within: .seconds(1)) { 7 } == 7)
        #expect(limiter.counts == (0, 0))
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let limiter = CallLimiter(limit: 1)
        let (release, holding) = AsyncStream.makeStream(of: Void.self)
        let holder = Task { try await limiter.run(within: .seconds(30)) { for await _ in release {} } }
        while limiter.counts.running == 0 { await Task.yield() }
        let waiter = Task { try await limiter.run(within: .seconds(30)) { Issue.record("a cancelled waiter ran") } }
        while limiter.counts.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(limiter.counts == (1, 0))
        holding.finish()
        try await holder.value
        #expect(limiter.counts == (0, 0))
    }
}

import MeshCore
@testable import MeshPeer
import Synchronization
import Testing

/// ``HopLiveness/guarding(_:_:)``, the watch gRPC hops run under: a peer that stops answering
/// its probe costs the hop, a slow one that answers does not, and the caller's cancellation
/// reaches the hop.
@Suite struct HopLivenessTests {
    let peer = try! PeerID("peer-b")

    /// A hop that waits until cancelled, and says whether it was.
    final class EndlessHop: Sendable {
        private let flag = Atomic(false)
        var cancelled: Bool { flag.load(ordering: .relaxed) }

        func run() async throws -> Int {
            do {
                try await Task.sleep(for: .seconds(120))
            } catch {
                flag.store(true, ordering: .relaxed)
                throw error
            }
            return 0
        }
    }

    @Test func aPeerThatFailsItsProbeCostsTheHop() async throws {
        let hop = EndlessHop()
        let probes = Atomic(0)
        let liveness = HopLiveness(probeAfter: .milliseconds(20)) {
            probes.add(1, ordering: .relaxed)
            return false
        }
        let error = await #expect(throws: PeerUnreachable.self) {
            try await liveness.guarding(peer) { try await hop.run() }
        }
        #expect(error?.reason == HopLiveness.frozenReason)
        #expect(error?.refused == true && error?.mayHaveRun == true)
        #expect(probes.load(ordering: .relaxed) == 1)
        #expect(hop.cancelled)
    }

    @Test func aSlowPeerThatAnswersItsProbeIsWaitedFor() async throws {
        let probes = Atomic(0)
        let liveness = HopLiveness(probeAfter: .milliseconds(20)) {
            probes.add(1, ordering: .relaxed)
            return true
        }
        let answer = try await liveness.guarding(peer) {
            try await Task.sleep(for: .milliseconds(500))
            return 42
        }
        #expect(answer == 42)
        #expect(probes.load(ordering: .relaxed) >= 1)
        // The probes stop with the hop: one already started may still finish, none starts after.
        try await Task.sleep(for: .milliseconds(100))
        let asked = probes.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(200))
        #expect(probes.load(ordering: .relaxed) == asked)
    }

    @Test func theCallersCancellationReachesTheHop() async throws {
        let hop = EndlessHop()
        let liveness = HopLiveness(probeAfter: .milliseconds(20)) { true }
        let caller = Task { try await liveness.guarding(peer) { try await hop.run() } }
        try await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(hop.cancelled)
    }
}

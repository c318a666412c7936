import Foundation
import MeshCore
@testable import MeshPeer
import Testing

/// The copy scaler and load gossip as a peer runs them, in process with a manual clock.
@Suite(.timeLimit(.minutes(1))) struct ScalerAndGossipShellTests {
    let store = InMemoryMeshStore()
    let clock = ManualClock()
    let network = InProcessNetwork()

    func scaler(for peer: ShellPeer, policy: ScalingPolicy) -> CopyScaler {
        let router = peer.router, call = network.call(at: peer.id)
        return CopyScaler(
            peerID: peer.id, policy: policy, interval: .seconds(1), mirror: peer.mirror, local: peer.local, store: store,
            addCopy: { model, target in try await router.addCopy(of: model, preferring: target, call: call, deadline: .now + .seconds(5)) },
            registration: { (true, peer.lease) }, clock: clock, logger: ShellPeer.logger
        )
    }

    func gossip(for peer: ShellPeer, sent: @escaping @Sendable (PeerID, [UInt8]) -> Void = { _, _ in }) -> LoadGossip {
        LoadGossip(peerID: peer.id, mirror: peer.mirror, local: peer.local, health: peer.health,
                   push: { target, _, body in sent(target, body) }, settings: LoadGossip.Settings(), clock: clock, logger: ShellPeer.logger)
    }

    /// A hot model gets a copy on another peer; idle long enough, it loses it again.
    @Test func aHotModelGainsACopyAndAnIdleOneLosesIt() async throws {
        let a = try await ShellPeer.make("a", store: store, clock: clock)
        let b = try await ShellPeer.make("b", store: store, clock: clock)
        network.add(a)
        network.add(b)
        let model = try await register("m", in: store, clock: clock)
        let policy = ScalingPolicy(scaleUpRequestsPerSecond: 5, scaleDownAfter: .seconds(60), sustain: .zero)
        try await a.running { () async throws in
            try await b.running { () async throws in
                _ = try await a.router.route(network.call(at: a.id), model: model, hop: .loadLocal, excluded: [], deadline: .now + .seconds(5))
                for peer in [a, b] {
                    await peer.mirror.waitUntil(timeout: .seconds(5)) { $0.copies(of: model)[a.id]?.state == .loaded }
                }
                // 100 requests within half a second: far over 5 per second for one copy.
                clock.advance(.milliseconds(500))
                for _ in 0..<100 { await a.local.release(try await a.local.acquire(model, until: .now + .seconds(5))) }
                let scaler = scaler(for: a, policy: policy)
                let decisions = await scaler.tick()
                let (decision, revision) = try #require(decisions.first)
                #expect(decision.action == .add && decision.peers == [b.id])
                await scaler.carryOut(decision, decidedAt: revision)
                #expect(b.runtime.loads == [model])
                #expect(try await store.decision(of: model)?.action == .add)
                await a.mirror.waitUntil(timeout: .seconds(5)) { $0.copies(of: model).count == 2 }

                // Quiet for longer than the rate window and scale-down-after: one copy goes. The
                // decider is now whichever holder ranks first for the model.
                let scalers = [scaler, self.scaler(for: b, policy: policy)]
                clock.advance(.seconds(10))
                for scaler in scalers { #expect(await scaler.tick().isEmpty) }
                clock.advance(.seconds(61))
                var removals: [(CopyScaler, ScalingPolicy.Decision, Int64)] = []
                for scaler in scalers {
                    for (decision, revision) in await scaler.tick() { removals.append((scaler, decision, revision)) }
                }
                let (decider, down, at) = try #require(removals.first)
                #expect(removals.count == 1)
                #expect(down.action == .remove)
                await decider.carryOut(down, decidedAt: at)
                #expect(store.copies(of: model).count == 1)
            }
        }
    }

    /// A round pushes this peer's report to the others; a peer takes plausible reports and
    /// drops hostile ones.
    @Test func reportsTravelAndHostileOnesAreDropped() async throws {
        let a = try await ShellPeer.make("a", store: store, clock: clock)
        let b = try await ShellPeer.make("b", store: store, clock: clock)
        try await a.running { () async throws in
            try await b.running { () async throws in
                await b.mirror.waitUntil(timeout: .seconds(5)) { $0.peers[a.id] != nil }
                let round = try #require(gossip(for: a).round(now: clock.now))
                #expect(round.targets.map(\.0) == [b.id])
                let receiver = gossip(for: b)
                receiver.receive(round.body)
                #expect(b.mirror.view.report(for: a.id, now: clock.now, maxAge: .seconds(5))?.capacityBytes == 100 << 20)

                let hostile = #"{"entries": [{"ageMillis": 0, "report": {"peer": "a", "time": 0, "inFlight": 9223372036854775807, "loading": 0, "usedBytes": 0, "capacityBytes": 1, "modelCount": 0, "lruTime": null, "rates": []}}, {"ageMillis": 9223372036854775807, "report": {"peer": "made-up", "time": 0, "inFlight": 0, "loading": 0, "usedBytes": 0, "capacityBytes": 1, "modelCount": 0, "lruTime": null, "rates": []}}]}"#
                clock.advance(.seconds(1))
                receiver.receive(Array(hostile.utf8))
                let report = try #require(b.mirror.view.report(for: a.id, now: clock.now, maxAge: .seconds(5)))
                #expect(report.inFlight == 0)
                #expect(b.mirror.view.loads[try PeerID("made-up")] == nil)
            }
        }
    }
}

import MeshCore
@testable import MeshPeer
import Testing

@Suite struct VModelTransitionsTests {
    let clock = ManualClock()

    /// Two peers may drive one transition at once: the one the watch assigns it to, and the one
    /// a synchronous request came to. When the other marks it failed, the synchronous request
    /// answers with that failure instead of driving on until its deadline.
    @Test func aSynchronousDriveReturnsTheFailureAnotherDriverRecorded() async throws {
        let store = InMemoryMeshStore()
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let good = try await register("good", in: store, clock: clock)
        let bad = try await register("bad", in: store, clock: clock)
        let vmodel = try ModelID("svc")
        let failed = VModelRecord(activeModel: good, targetModel: bad, failed: true, failureMessage: "bad failed to load: corrupt file", updated: clock.now)
        #expect(try await store.commitVModel(vmodel, expectedRevision: 0, previous: nil, record: failed, models: []))
        let forwarder = PeerForwarder(selfID: peer.id, maxResponseBytes: 1 << 20, loadReports: PiggybackedLoadReports(), credentials: .none, clock: clock)
        try await peer.running { () async throws in
            let transitions = VModelTransitions(peerID: peer.id, store: store, mirror: peer.mirror, router: peer.router, forwarder: forwarder,
                                                loadTimeout: .seconds(5), logger: ShellPeer.logger)
            let outcome = await transitions.drive(vmodel, until: .now + .seconds(20), returnOnFailureMark: true)
            #expect(outcome == .failed("bad failed to load: corrupt file"))
            // The record is left as the other driver wrote it.
            #expect(try await store.vmodel(vmodel).record == failed)
        }
        try await forwarder.shutdown()
    }
}

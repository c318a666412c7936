import Foundation
import MeshCore
@testable import MeshPeer
import Testing

/// Signatures of peer-only requests, and the address fallback without a secret.
@Suite struct PeerCredentialsTests {
    let clock = ManualClock()
    let parts = PeerOnlyRequest.restParts(method: "POST", path: "/v2/models/m/infer", hop: "load-local", excluded: nil)

    func credentials(_ secret: String = String(repeating: "s3cr3t-", count: 6)) throws -> PeerCredentials {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try PeerCredentials(secretFile: path)
    }

    @Test func aSignatureVerifiesForWhatWasSignedOnly() throws {
        let credentials = try credentials()
        let signature = try #require(credentials.sign(parts, peer: try PeerID("mesh-1"), now: clock.now))
        #expect(try credentials.verify(signature, parts, now: clock.now) == PeerID("mesh-1"))
        // Another path, hop or exclusion list does not verify.
        let other = PeerOnlyRequest.restParts(method: "POST", path: "/v2/models/n/infer", hop: "load-local", excluded: nil)
        #expect(throws: MeshError.self) { try credentials.verify(signature, other, now: clock.now) }
        let hitOnly = PeerOnlyRequest.restParts(method: "POST", path: "/v2/models/m/infer", hop: "hit-only", excluded: nil)
        #expect(throws: MeshError.self) { try credentials.verify(signature, hitOnly, now: clock.now) }
    }

    @Test func forgedOldMissingAndMalformedSignaturesAreRefused() throws {
        let credentials = try credentials()
        let stranger = try self.credentials(String(repeating: "other-", count: 7))
        let forged = try #require(stranger.sign(parts, peer: try PeerID("mesh-1"), now: clock.now))
        let old = try #require(credentials.sign(parts, peer: try PeerID("mesh-1"), now: clock.now - .seconds(600)))
        let cases: [(String?, String)] = [
            (forged, "does not match"), (old, "s old"), (nil, "has no mm-auth signature"),
            ("v1 mesh-1 notatime abc", "malformed"), ("v2 mesh-1 1 abc", "malformed"), ("", "malformed"),
        ]
        for (signature, message) in cases {
            do {
                _ = try credentials.verify(signature, parts, now: clock.now)
                Issue.record("accepted \(signature ?? "nil")")
            } catch {
                #expect(error.kind == .permissionDenied)
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
    }

    @Test func shortOrMissingSecretsAreRefusedAtStart() throws {
        #expect(throws: MeshError.self) { try self.credentials("short") }
        #expect(throws: MeshError.self) { try PeerCredentials(secretFile: "/nonexistent/secret") }
        #expect(PeerCredentials.none.sign(parts, peer: try PeerID("a"), now: clock.now) == nil)
    }

    /// Without a secret, a peer-only request must come from a registered peer's address.
    @Test func withoutASecretOnlyPeersAddressesAreAdmitted() async throws {
        let store = InMemoryMeshStore()
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let record = PeerRecord(httpAddress: "10.0.0.7:8008", grpcAddress: "10.0.0.7:8033", capacityBytes: 1, version: "t",
                                startTime: clock.now, instance: "b")
        _ = try await store.registerPeer(try PeerID("b"), record, lease: try await store.grantLease(ttl: 10).lease)
        try await peer.running { () async throws in
            await peer.mirror.waitUntil(timeout: .seconds(5)) { $0.peers.count == 2 }
            let gate = PeerGate(credentials: .none, mirror: peer.mirror, clock: clock)
            try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.7")
            try await gate.admit(signature: nil, parts: parts, remoteHost: "::ffff:10.0.0.7")
            await #expect(throws: MeshError.self) { try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.8") }
            await #expect(throws: MeshError.self) { try await gate.admit(signature: nil, parts: parts, remoteHost: nil) }
        }
    }

    /// A peer that registered again after a partition may hop before this peer's view shows it:
    /// the gate reads the peer records from the store before refusing.
    @Test func aPeerTheViewDoesNotShowYetIsAdmittedFromTheStore() async throws {
        let store = InMemoryMeshStore()
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        try await peer.running { () async throws in
            let gate = PeerGate(credentials: .none, mirror: peer.mirror, clock: clock)
            let record = PeerRecord(httpAddress: "10.0.0.9:8008", capacityBytes: 1, version: "t", startTime: clock.now, instance: "c")
            store.addUnseen(peer: try PeerID("c"), record)
            #expect(peer.mirror.view.peers[try PeerID("c")] == nil)
            try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.9")
            await #expect(throws: MeshError.self) { try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.10") }
        }
    }

    /// A peer whose lease lapsed (etcd lost its quorum for a moment) keeps forwarding while it
    /// registers again: its address stays admitted for a grace period, then no longer.
    @Test func aPeerThatJustLeftTheViewIsAdmittedForAGracePeriod() async throws {
        let store = InMemoryMeshStore()
        let peer = try await ShellPeer.make("a", store: store, clock: clock)
        let lease = try await store.grantLease(ttl: 10).lease
        let record = PeerRecord(httpAddress: "10.0.0.11:8008", capacityBytes: 1, version: "t", startTime: clock.now, instance: "d")
        _ = try await store.registerPeer(try PeerID("d"), record, lease: lease)
        try await peer.running { () async throws in
            await peer.mirror.waitUntil(timeout: .seconds(5)) { $0.peers.count == 2 }
            let gate = PeerGate(credentials: .none, mirror: peer.mirror, clock: clock, grace: .milliseconds(300))
            try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.11")
            store.expireLease(lease)
            await peer.mirror.waitUntil(timeout: .seconds(5)) { $0.peers.count == 1 }
            try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.11")
            try await Task.sleep(for: .milliseconds(1200))
            await #expect(throws: MeshError.self) { try await gate.admit(signature: nil, parts: parts, remoteHost: "10.0.0.11") }
        }
    }

    @Test func certificateNamesCoverHostsExactlyOrByOneWildcardLabel() {
        #expect(PeerGate.name("127.0.0.1", covers: "127.0.0.1"))
        #expect(PeerGate.name("*.mesh-peers.ns.svc", covers: "mesh-0.mesh-peers.ns.svc"))
        #expect(!PeerGate.name("*.mesh-peers.ns.svc", covers: "a.mesh-0.mesh-peers.ns.svc"))
        #expect(!PeerGate.name("*.mesh-peers.ns.svc", covers: "mesh-peers.ns.svc"))
        #expect(!PeerGate.name("*.mesh-peers.ns.svc", covers: ".mesh-peers.ns.svc"))
        #expect(!PeerGate.name("mesh-1.mesh-peers", covers: "mesh-0.mesh-peers"))
    }

    @Test func grpcPeerDescriptionsGiveTheHost() {
        #expect(PeerGateInterceptor.host(of: "ipv4:127.0.0.1:5000") == "127.0.0.1")
        #expect(PeerGateInterceptor.host(of: "ipv6:[::1]:5000") == "::1")
        #expect(PeerGateInterceptor.host(of: "unix:/tmp/socket") == nil)
    }
}

import EtcdGateway
import Foundation
import MeshCore
import MeshTestSupport
import Testing

extension Integration {
    /// A peer that cannot reach etcd for longer than its lease has been dropped by the others:
    /// it reports not ready (a Service stops sending it clients) until etcd confirms it again.
    @Suite struct CutOffFromEtcd {
        @Test func aPeerCutOffFromEtcdLongerThanItsLeaseIsNotReadyUntilEtcdIsBack() async throws {
            try await withMesh(peers: 1, arguments: ["--lease-ttl", "3s"]) { mesh in
                let peer = mesh.peers[0]
                func ready() async throws -> Int { try await TestHTTP.get(peer.url + "/v2/health/ready").status }
                #expect(try await ready() == 200)
                await mesh.etcd.stop()
                #expect(try await eventually(timeout: .seconds(20)) { try await ready() == 503 })
                // Liveness is a different question: the process is fine.
                #expect(try await TestHTTP.get(peer.url + "/v2/health/live").status == 200)
                try await mesh.etcd.restart()
                #expect(try await eventually(timeout: .seconds(30)) { try await ready() == 200 })
            }
        }

        /// A frozen etcd member (SIGSTOP: its sockets stay open, nothing answers) must not cost
        /// a peer its lease: keep-alives give up on it after a third of the TTL and renew through
        /// another member, long before the lease runs out.
        @Test func aFrozenEtcdMemberDoesNotCostThePeersLease() async throws {
            try await withMesh(peers: 1, etcdMembers: 3, arguments: ["--lease-ttl", "3s"]) { mesh in
                let peer = mesh.peers[0]
                let others = EtcdClient(EtcdClient.Configuration(endpoints: mesh.etcdMembers.dropFirst().map(\.clientURL)), logger: testLogger("etcd"))
                defer { Task { try? await others.shutdown() } }
                let key = KeyLayout(prefix: mesh.etcdPrefix).peer(try PeerID(peer.id))
                let lease = try #require(try await others.get(key)).lease
                // The peer's first endpoint is the first member: freeze it for three TTLs.
                mesh.etcdMembers[0].send(SIGSTOP)
                defer { mesh.etcdMembers[0].send(SIGCONT) }
                try await Task.sleep(for: .seconds(9))
                #expect(try await others.get(key)?.lease == lease)
                #expect(try await TestHTTP.get(peer.url + "/v2/health/ready").status == 200)
                #expect(!peer.log.contains("the lease expired"))
                mesh.etcdMembers[0].send(SIGCONT)
            }
        }
    }
}

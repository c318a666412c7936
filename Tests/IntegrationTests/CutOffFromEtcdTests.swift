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
    }
}

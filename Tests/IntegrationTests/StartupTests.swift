import EtcdGateway
import Foundation
import MeshTestSupport
import Testing

extension Integration {
    @Suite struct Startup {
        @Test func refusesToStartWhenEtcdIsUnreachable() async throws {
            let port = FreePort.next()
            let output = try? runCommand(try MeshPeerProcess.executable("modelmesh"), [
                "--peer-id", "lonely", "--etcd-endpoints", "http://127.0.0.1:\(port)", "--http-port", String(FreePort.next()),
            ])
            #expect(output == nil, "started without etcd")
            do {
                _ = try runCommand(try MeshPeerProcess.executable("modelmesh"), [
                    "--peer-id", "lonely", "--etcd-endpoints", "http://127.0.0.1:\(port)", "--http-port", String(FreePort.next()),
                ])
            } catch let failure as CommandFailure {
                #expect(failure.status != 0)
                #expect(failure.errors.contains("cannot start: etcd at http://127.0.0.1:\(port) is not reachable (connection refused)"), "\(failure.errors)")
            }
        }

        @Test func refusesToStartWithTheIdOfALivePeer() async throws {
            try await withMesh(peers: 1) { mesh in
                let port = FreePort.next()
                do {
                    _ = try runCommand(try MeshPeerProcess.executable("modelmesh"), [
                        "--peer-id", "mesh-0", "--cluster", mesh.cluster, "--etcd-endpoints", mesh.etcd.clientURL,
                        "--listen-host", "127.0.0.1", "--http-port", String(port), "--grpc-port", String(FreePort.next()),
                    ])
                    Issue.record("a second mesh-0 started")
                } catch let failure as CommandFailure {
                    #expect(failure.errors.contains("peer id mesh-0 is already used by a live peer at 127.0.0.1:\(mesh.peers[0].httpPort)"), "\(failure.errors)")
                }
                #expect(mesh.peers[0].isRunning)
            }
        }

        @Test func aRestartedPeerTakesOverTheRecordOfItsDeadPredecessor() async throws {
            try await withMesh(peers: 2, arguments: ["--lease-ttl", "60s"]) { mesh in
                let path = try mesh.syntheticModel("kept")
                #expect(try await mesh.peers[0].register("kept", storage: path).status == 201)
                _ = try await mesh.peers[0].infer("kept")
                await mesh.peers[0].kill9()
                await mesh.peers[1].kill9()
                // Same name, restarted at once: the old lease (60 s) is still alive in etcd.
                try await mesh.peers[0].restart()
                try await mesh.peers[1].restart()
                // The predecessors' stale copy records went with their leases.
                #expect(!(try mesh.etcdctlGet("/copies/", keysOnly: true).contains("/copies/kept/")))
                #expect(try await mesh.peers[1].infer("kept").status == 200)
            }
        }

        @Test func aLostLeaseIsReplacedAndCopyRecordsAreRestored() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("sticky")
                #expect(try await mesh.peers[0].register("sticky", storage: path).status == 201)
                let holder = try #require(try await mesh.peers[0].infer("sticky").servedBy)
                // Simulate an etcd outage longer than the TTL: revoke the holder's lease.
                let etcd = EtcdClient(EtcdClient.Configuration(endpoints: [mesh.etcd.clientURL]))
                let record = try #require(try await etcd.get("\(mesh.etcdPrefix)/peers/\(holder)"))
                try await etcd.revokeLease(record.lease)
                let restored = try await eventually {
                    let keys = try mesh.etcdctlGet("/", keysOnly: true)
                    return keys.contains("/peers/\(holder)") && keys.contains("/copies/sticky/\(holder)")
                }
                let shown = try mesh.etcdctlGet("/", keysOnly: true)
                #expect(restored, "\(shown)")
                let newLease = try #require(try await etcd.get("\(mesh.etcdPrefix)/peers/\(holder)")).lease
                #expect(newLease != record.lease)
                #expect(try await etcd.get("\(mesh.etcdPrefix)/copies/sticky/\(holder)")?.lease == newLease)
                try await etcd.shutdown()
                // The copy kept serving from memory throughout.
                let result = try await mesh.peers[0].infer("sticky")
                #expect(result.servedBy == holder)
                #expect(result.invocations == 2)
            }
        }
    }
}

import EtcdGateway
import Foundation
import MeshCore
import MeshTestSupport
import Testing

extension Integration {
    /// A peer's copy records in etcd converge on what it holds: a record of a copy it never
    /// loaded (a claim that timed out after etcd applied it) is removed by the periodic audit,
    /// while the copies it does hold keep theirs.
    @Suite struct CopyAudit {
        @Test func anOrphanedCopyRecordIsRemovedByThePeerThatOwnsIt() async throws {
            try await withMesh(peers: 1, arguments: ["--copy-audit-interval", "500ms"]) { mesh in
                let peer = mesh.peers[0]
                #expect(try await peer.register("held", storage: try mesh.syntheticModel("held")).status == 201)
                #expect(try await peer.register("orphan", storage: try mesh.syntheticModel("orphan")).status == 201)
                #expect(try await peer.infer("held").status == 200)

                let layout = KeyLayout(prefix: mesh.etcdPrefix)
                let etcd = EtcdClient(EtcdClient.Configuration(endpoints: [mesh.etcd.clientURL]), logger: testLogger("etcd"))
                defer { Task { try? await etcd.shutdown() } }
                let peerID = try PeerID(peer.id)
                let lease = try #require(try await etcd.get(layout.peer(peerID))).lease
                let orphanKey = layout.copy(try ModelID("orphan"), on: peerID)
                let record = try JSONEncoder().encode(CopyRecord(state: .loading, since: .epoch, sizeBytes: 1))
                _ = try await etcd.put(orphanKey, value: Array(record), lease: lease)

                #expect(try await eventually(timeout: .seconds(20)) { try await etcd.get(orphanKey) == nil })
                #expect(try await etcd.get(layout.copy(try ModelID("held"), on: peerID)) != nil)
                let metrics = try await TestHTTP.get(peer.url + "/metrics").text
                #expect(metrics.contains(#"modelmesh_copy_audit_repairs_total{finding="orphan_record"} 1"#))
            }
        }
    }
}

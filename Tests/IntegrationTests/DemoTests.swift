import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// The README's first command, run the way a user runs it (minus the build the test suite
    /// already did).
    @Suite struct Demo {
        @Test func theDemoServesRealModelsThroughEveryPeer() async throws {
            let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            let state = try TemporaryDirectory(prefix: "demo-state")
            defer { state.remove() }
            // The script numbers its ports from bases: peers base+i, gRPC base+5+i, etcd members
            // base+10+2i (client) and +1 (peer), S3 at the etcd base + 20. One block holds them all.
            let base = FreePort.block(32)
            let output = try runCommand(repo + "/tools/demo", ["--check", "--no-build"], environment: [
                "MESH_BIN_DIR": MeshPeerProcess.binDirectory, "MESH_STATE_DIR": state.path,
                "MESH_BASE_PORT": String(base), "MESH_GRPC_BASE_PORT": String(base + 5), "MESH_ETCD_BASE_PORT": String(base + 10),
                "MESH_CLUSTER": "local",
            ])
            #expect(output.contains("demo check passed"), "\(output)")
            #expect(output.contains("/mm/local/copies/iris/mesh-"))
        }

        /// `tools/demo --secure`: the same mesh with TLS, client certificates, mutual TLS between
        /// peers and bearer tokens; the check also sees a tokenless and a certificate-less client refused.
        @Test func theSecureDemoServesTheSameModels() async throws {
            let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            let state = try TemporaryDirectory(prefix: "demo-state")
            defer { state.remove() }
            let base = FreePort.block(32)
            let output = try runCommand(repo + "/tools/demo", ["--secure", "--check", "--no-build"], environment: [
                "MESH_BIN_DIR": MeshPeerProcess.binDirectory, "MESH_STATE_DIR": state.path,
                "MESH_BASE_PORT": String(base), "MESH_GRPC_BASE_PORT": String(base + 5), "MESH_ETCD_BASE_PORT": String(base + 10),
                "MESH_CLUSTER": "local",
            ])
            #expect(output.contains("without a token: 401"), "\(output)")
            #expect(output.contains("demo check passed"), "\(output)")
        }
    }
}

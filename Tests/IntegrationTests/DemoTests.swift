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
            let basePort = FreePort.next()
            let output = try runCommand(repo + "/tools/demo", ["--check", "--no-build"], environment: [
                "MESH_BIN_DIR": MeshPeerProcess.binDirectory, "MESH_STATE_DIR": state.path,
                "MESH_BASE_PORT": String(basePort), "MESH_ETCD_BASE_PORT": String(FreePort.next()),
                "MESH_GRPC_BASE_PORT": String(FreePort.next()),
                "MESH_CLUSTER": "local",
            ])
            #expect(output.contains("demo check passed"), "\(output)")
            #expect(output.contains("/mm/local/copies/iris/mesh-"))
        }
    }
}

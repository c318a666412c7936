import Foundation
import GRPCCore
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC
import Testing

extension Integration {
    /// Gossip and the hop headers are for peers only: with a cluster secret, only signed
    /// requests use them; without one, only requests from peers' addresses.
    @Suite struct PeerOnlySurfaces {
        @Test func withASecretPeersWorkAndUnsignedHopsAndGossipGet403() async throws {
            let secrets = try TemporaryDirectory(prefix: "mesh-secret")
            defer { secrets.remove() }
            let secretFile = secrets.appending("cluster-secret")
            try Data(String(repeating: "0123456789abcdef", count: 4).utf8).write(to: URL(fileURLWithPath: secretFile))
            try await withMesh(peers: 2, arguments: ["--cluster-secret-file", secretFile]) { mesh in
                let (entry, other) = (mesh.peers[0], mesh.peers[1])
                let path = try mesh.syntheticModel("guarded")
                #expect(try await entry.register("guarded", storage: path).status == 201)
                // Signed hops between the peers work: load on the other peer, infer through the entry.
                #expect(try await entry.infer("guarded", [1]).output == expectedOutput("guarded", [1]))

                let hop = try await TestHTTP.send(.POST, other.url + "/v2/repository/models/guarded/load", headers: [("mm-hop", "load-local")])
                #expect(hop.status == 403, "\(hop.status) \(hop.text)")
                #expect(hop.text.contains("may only come from a peer of the mesh"))
                let excluded = try await TestHTTP.send(.POST, entry.url + "/v2/models/guarded/infer",
                                                       body: Array(#"{"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1]}]}"#.utf8),
                                                       headers: [("mm-excluded", "mesh-1")])
                #expect(excluded.status == 403)
                let forged = try await TestHTTP.send(.POST, other.url + "/v2/repository/models/guarded/load",
                                                     headers: [("mm-hop", "load-local"), ("mm-auth", "v1 mesh-0 \(Int64(Date().timeIntervalSince1970 * 1000)) 00ff")])
                #expect(forged.status == 403)
                #expect(forged.text.contains("does not match"))
                let gossip = try await TestHTTP.post(entry.url + "/_mesh/gossip", json: #"{"entries": []}"#)
                #expect(gossip.status == 403)

                // gRPC: a hop header without a signature is PERMISSION_DENIED.
                var metadata: Metadata = [:]
                metadata.addString("hit-only", forKey: "mm-hop")
                let grpc = try await other.withGRPC { client in try await client.infer("guarded", [1], metadata: metadata) }
                #expect(grpc.error?.code == .permissionDenied)

                // Clients without hop headers are served as before, through either peer.
                for peer in mesh.peers { #expect(try await peer.infer("guarded", [2]).output == expectedOutput("guarded", [2])) }
                #expect(try await other.withGRPC { client in try await client.infer("guarded", [3]) }.output == expectedOutput("guarded", [3]))
            }
        }

        /// Without a secret, a hop header from an address no peer advertises is refused (here
        /// 127.0.0.2: the peers advertise 127.0.0.1).
        @Test func withoutASecretHopsFromOtherAddressesGet403() async throws {
            try await withMesh(peers: 1) { mesh in
                let peer = mesh.peers[0]
                let path = try mesh.syntheticModel("open")
                #expect(try await peer.register("open", storage: path).status == 201)
                let url = peer.url + "/v2/repository/models/open/load"
                let refused = try runCommand("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2", "-X", "POST",
                                                      "-H", "mm-hop: load-local", url])
                #expect(refused == "403")
                let plain = try runCommand("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.2", "-X", "POST", url])
                #expect(plain == "200")
                // From a peer's address (loopback's 127.0.0.1 here), the hop is taken.
                #expect(try await TestHTTP.send(.POST, url, headers: [("mm-hop", "load-local")]).status == 200)
            }
        }
    }
}

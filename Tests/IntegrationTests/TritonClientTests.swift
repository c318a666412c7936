import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// NVIDIA's official Python clients, unchanged, against a peer that does not hold the model.
    @Suite struct TritonClient {
        static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        static let repo = tests.deletingLastPathComponent().deletingLastPathComponent().path

        /// tritonclient from PyPI (tools/test installs it; a test run without it installs it here).
        static func ensureTritonClient() throws {
            if (try? runCommand("python3", ["-c", "import tritonclient.grpc, tritonclient.http, numpy"])) != nil { return }
            _ = try runCommand("python3", ["-m", "pip", "install", "-q", "tritonclient[http,grpc]", "numpy"])
        }

        @Test func httpAndGRPCClientsWorkThroughAPeerThatForwardsToTheHolder() async throws {
            try Self.ensureTritonClient()
            try await withMesh(peers: 2, arguments: ["--max-body-bytes", "1Mi"]) { mesh in
                // Under the peers' models root (the mesh's work directory), where peers may read.
                try FileManager.default.copyItem(atPath: "\(Self.repo)/examples/models/iris-classifier.onnx",
                                                 toPath: mesh.workDirectory.appending("iris-classifier.onnx"))
                let registered = try await TestHTTP.post(mesh.peers[0].url + "/v1/models", json: #"{"id": "iris", "type": "onnx", "storageUri": "iris-classifier.onnx"}"#)
                #expect(registered.status == 201, "\(registered.text)")
                // The model lives on mesh-1; the clients talk to mesh-0.
                #expect(try await mesh.peers[1].loadCopy("iris").status == 200)
                let seen = try await eventually { try await mesh.peers[0].placement(of: "iris").map(\.state) == ["loaded"] }
                #expect(seen)
                let output = try runCommand("python3", [
                    Self.tests.appendingPathComponent("Scripts/tritonclient_check.py").path,
                    "127.0.0.1:\(mesh.peers[0].httpPort)", "127.0.0.1:\(mesh.peers[0].grpcPort)", "1048576",
                ])
                #expect(output == "ok http\nok grpc\n", "\(output)")
                #expect(try await mesh.peers[0].placement(of: "iris").map(\.peer) == ["mesh-1"])
                #expect(try await mesh.peers[0].metric("modelmesh_forwarded_requests_total") >= 2)
            }
        }

        /// The same clients over TLS with a client certificate, against a mesh that requires one
        /// and hops over mutual TLS.
        @Test func httpAndGRPCClientsWorkOverTLS() async throws {
            try Self.ensureTritonClient()
            let ca = try TestCertificateAuthority.make()
            defer { ca.remove() }
            var perPeer: [Int: [String]] = [:]
            for index in 0..<2 { perPeer[index] = Integration.TransportSecurity.tlsArguments(try ca.issue("mesh-\(index)")) }
            let clientSecret = try ca.issue("client", ips: [], dnsNames: ["client"])
            let mesh = try await LocalMesh.start(peers: 2, arguments: ["--max-body-bytes", "1Mi", "--tls-require-client-cert", "true"],
                                                 perPeer: perPeer, waitUntilReady: false)
            let client = try SecureClient(ca: ca.certificatePath, certificate: clientSecret)
            do {
                for peer in mesh.peers {
                    #expect(try await eventually(timeout: .seconds(30)) { (try? await client.get(peer.url + "/v2/health/ready"))?.status == 200 })
                }
                try FileManager.default.copyItem(atPath: "\(Self.repo)/examples/models/iris-classifier.onnx",
                                                 toPath: mesh.workDirectory.appending("iris-classifier.onnx"))
                let registered = try await client.post(mesh.peers[0].url + "/v1/models", json: #"{"id": "iris", "type": "onnx", "storageUri": "iris-classifier.onnx"}"#)
                #expect(registered.status == 201, "\(registered.text)")
                #expect(try await client.send(.POST, mesh.peers[1].url + "/v2/repository/models/iris/load").status == 200)
                let output = try runCommand("python3", [
                    Self.tests.appendingPathComponent("Scripts/tritonclient_check.py").path,
                    "127.0.0.1:\(mesh.peers[0].httpPort)", "127.0.0.1:\(mesh.peers[0].grpcPort)", "1048576",
                    ca.certificatePath, clientSecret + "/tls.crt", clientSecret + "/tls.key",
                ])
                #expect(output == "ok http\nok grpc\n", "\(output)")
            } catch {
                Issue.record(error)
            }
            try await client.shutdown()
            await mesh.destroy()
        }
    }
}

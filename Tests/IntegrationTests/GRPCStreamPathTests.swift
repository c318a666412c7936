import Foundation
import GRPCCore
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC
import Testing

extension Integration {
    /// gRPC `ModelInfer` answered on its HTTP/2 stream (``GRPCInferFastPath``, the default)
    /// answers exactly as grpc-swift's server does (`--grpc-fast-path=false`), and leaves every
    /// other call, and every unusually spelled one, to grpc-swift.
    @Suite struct GRPCStreamPath {
        @Test func everyInferenceAnswerIsGRPCSwiftsAnswer() async throws {
            try await withFastPathAndSlowPathPeers(disabling: "--grpc-fast-path=false") { mesh in
                let request = { (model: String, values: [Float], raw: Bool) in
                    Inference_ModelInferRequest(InferenceRequest(id: "r1", inputs: [Tensor(name: "INPUT0", shape: [values.count], floats: values)]),
                                                modelName: model, raw: raw)
                }
                var wrongShape = request("good", [1, 2, 3, 4], true)
                wrongShape.inputs[0].shape = [2, 3]
                var byHeader = request("", [5], false)
                byHeader.modelName = ""
                let cases: [(name: String, message: Inference_ModelInferRequest, metadata: Metadata)] = [
                    ("raw", request("good", [1, 2], true), [:]),
                    ("typed", request("good", [4], false), [:]),
                    ("by header", byHeader, ["mm-model-id": "good"]),
                    ("wrong shape", wrongShape, [:]),
                    ("unknown model", request("nobody", [1], true), [:]),
                    ("hostile id", request("Bad_Id!", [1], true), [:]),
                    ("no time left", request("good", [1], true), ["mm-timeout-ms": "0"]),
                    ("bad mm-timeout-ms", request("good", [1], true), ["mm-timeout-ms": "x"]),
                    ("forged hop", request("good", [1], true), ["mm-hop": "forward"]),
                ]
                let before = try await mesh.peers[0].metric("modelmesh_grpc_stream_requests_total")
                for (name, message, metadata) in cases {
                    var results: [GRPCInferResult] = []
                    for peer in mesh.peers {
                        results.append(try await peer.withGRPC { client in try await client.infer(message, metadata: metadata) })
                    }
                    let grpcSwift = results[2]
                    for result in results.prefix(2) {
                        #expect(result.error?.code == grpcSwift.error?.code, "\(name): \(String(describing: result.error)) against \(String(describing: grpcSwift.error))")
                        #expect(result.error?.message == grpcSwift.error?.message, "\(name)")
                        #expect(result.error?.metadata[stringValues: "mm-route"].first(where: { _ in true })
                                == grpcSwift.error?.metadata[stringValues: "mm-route"].first(where: { _ in true }), "\(name)")
                        #expect(result.servedBy != nil, "\(name)")
                        #expect(result.response?.outputs == grpcSwift.response?.outputs, "\(name)")
                        #expect(result.response?.id == grpcSwift.response?.id && result.response?.modelName == grpcSwift.response?.modelName, "\(name)")
                    }
                }
                #expect(try await mesh.peers[0].withGRPC { client in try await client.infer(cases[0].message).output } == expectedOutput("good", [1, 2]))
                // mesh-0 took every call on the stream; mesh-2 none.
                #expect(try await mesh.peers[0].metric("modelmesh_grpc_stream_requests_total") - before >= Double(cases.count + 1))
                #expect(try await mesh.peers[2].metric("modelmesh_grpc_stream_requests_total") == 0)
                // A message over 1 MiB is grpc-swift's to read, and served all the same.
                let taken = try await mesh.peers[0].metric("modelmesh_grpc_stream_requests_total")
                let large = [Float](repeating: 3, count: 300_000)
                let result = try await mesh.peers[0].withGRPC { client in try await client.infer("good", large) }
                #expect(result.error == nil && result.output == expectedOutput("good", large))
                #expect(try await mesh.peers[0].metric("modelmesh_grpc_stream_requests_total") == taken)
                // The other methods are grpc-swift's, on the same connections.
                for peer in mesh.peers {
                    try await peer.withGRPC { client in
                        #expect(try await client.inference.serverLive(Inference_ServerLiveRequest()).live)
                        let metadata = try await client.inference.modelMetadata(.with { $0.name = "good" })
                        #expect(metadata.name == "good" && metadata.inputs.first?.name == "INPUT0")
                    }
                }
            }
        }

        /// A client's call whose route starts with a hop makes it from the stream's event loop,
        /// with no task (`modelmesh_grpc_stream_hops_total`), named by its message or by
        /// `mm-model-id`; when the holder froze, the hop is abandoned and the entry loads the
        /// model, as grpc-swift's way does.
        @Test func aHopMadeFromTheStreamCarriesOnWhenItsPeerFails() async throws {
            try await withMesh(peers: 2, arguments: ["--lease-ttl", "60s", "--request-timeout", "30s"]) { mesh in
                let file = try mesh.syntheticModel("streamed-file")
                #expect(try await mesh.peers[0].register("streamed", storage: file).status == 201)
                let holderID = try #require(try await mesh.peers[0].infer("streamed").servedBy)
                let holder = try #require(mesh.peers.first { $0.id == holderID })
                let entry = try #require(mesh.peers.first { $0.id != holderID })
                // The entry's first call reads the model's record; from then on it is cached.
                #expect(try await entry.withGRPC { try await $0.infer("streamed") }.servedBy == holderID)
                let hops = { try await entry.metric("modelmesh_grpc_stream_hops_total") }
                let before = try await hops()
                for (values, metadata) in [([Float(1), 2], Metadata()), ([3], ["mm-model-id": "streamed"])] {
                    let model = metadata.isEmpty ? "streamed" : ""
                    let result = try await entry.withGRPC { try await $0.infer(model, values, metadata: metadata) }
                    #expect(result.error == nil && result.servedBy == holderID, "\(String(describing: result.error))")
                    #expect(result.output == expectedOutput("streamed", values))
                }
                #expect(try await hops() - before == 2)

                let pid = try #require(holder.pid)
                kill(pid, SIGSTOP)
                defer { kill(pid, SIGCONT) }
                let retried = try await entry.withGRPC { try await $0.infer("streamed", [4]) }
                #expect(retried.error == nil, "\(String(describing: retried.error))")
                #expect(retried.servedBy == entry.id)
                #expect(retried.output == expectedOutput("streamed", [4]))
                #expect(try await hops() - before == 3)
                kill(pid, SIGCONT)
            }
        }

        /// A compressed call, two messages or none on the unary method, and binary metadata:
        /// grpcio's answers are the same from every peer, and the peer keeps answering.
        @Test func unusuallySpelledCallsGetGRPCSwiftsAnswers() async throws {
            try await withFastPathAndSlowPathPeers(disabling: "--grpc-fast-path=false") { mesh in
                var outputs: [String] = []
                for peer in mesh.peers {
                    outputs.append(try runCommand("python3", [integrationScripts.appendingPathComponent("grpc_unusual_calls.py").path,
                                                              "127.0.0.1:\(peer.grpcPort)", "good"]))
                }
                let lines = outputs[2].split(separator: "\n").map(String.init)
                let value = String(format: "%.3f", expectedOutput("good", [1, 2])[0])
                #expect(lines.count == 6)
                #expect(lines.first == "plain OK \(value)" && lines.last == "plain-again OK \(value)", "\(outputs[2])")
                #expect(lines.contains("binary-metadata OK \(value)"), "\(outputs[2])")
                #expect(lines.filter { $0.contains(" OK ") }.count == 3, "\(outputs[2])")
                for output in outputs.prefix(2) {
                    #expect(output == outputs[2])
                }
                for peer in mesh.peers { #expect(peer.isRunning) }
            }
        }
    }
}

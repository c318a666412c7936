import Foundation
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC
import Testing

extension Integration {
    /// REST inference answered on the connection's channel (``InferFastPath``, the default)
    /// answers exactly as the router does (`--rest-fast-path=false`), in order on one connection.
    @Suite struct RESTChannelPath {
        @Test func everyInferenceAnswerIsTheRoutersAnswer() async throws {
            try await withFastPathAndSlowPathPeers(disabling: "--rest-fast-path=false") { mesh in
                let cases: [(path: String, body: String, headers: [(String, String)])] = [
                    ("/v2/models/good/infer", #"{"id": "r1", "inputs": [{"name": "INPUT0", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}"#, []),
                    ("/v2/models/good/versions/7/infer", #"{"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [4]}]}"#, []),
                    ("/v2/models/good/infer", #"{"inputs": ["#, []),
                    ("/v2/models/good/infer", "[1, 2]", []),
                    ("/v2/models/good/infer", #"{"inputs": [{"name": "INPUT0", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}"#, []),
                    ("/v2/models/good/infer", #"{"inputs": [{"name": "INPUT0", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#, []),
                    ("/v2/models/nobody/infer", #"{"inputs": []}"#, []),
                    ("/v2/models/Bad_Id!/infer", "{}", []),
                    ("/v2/models/good/infer", "{}", [("inference-header-content-length", "-5")]),
                    ("/v2/models/good/infer", #"{"inputs": []}"#, [("mm-timeout-ms", "0")]),
                    ("/v2/models/good/infer", "", []),
                ]
                let before = try await mesh.peers[0].metric("modelmesh_rest_channel_requests_total")
                for (path, body, headers) in cases {
                    var replies: [TestHTTP.Reply] = []
                    for peer in mesh.peers {
                        replies.append(try await TestHTTP.send(.POST, peer.url + path, body: Array(body.utf8),
                                                               headers: [("content-type", "application/json")] + headers))
                    }
                    let router = replies[2]
                    for reply in replies.prefix(2) {
                        #expect(reply.status == router.status, "\(path) \(body): \(reply.text) against \(router.text)")
                        #expect(reply.header("content-type") == router.header("content-type"))
                        #expect(reply.header("date") != nil && reply.header("server") == "swift-model-mesh")
                        if router.status == 200 {
                            // Served: the same outputs and id, whoever served it.
                            let mine = try JSONParser.parse(reply.body), theirs = try JSONParser.parse(router.body)
                            #expect(mine["outputs"] == theirs["outputs"] && mine["id"] == theirs["id"] && mine["model_name"] == theirs["model_name"])
                            #expect(reply.header("mm-served-by") != nil)
                        } else {
                            #expect(reply.text == router.text)
                        }
                    }
                }
                // mesh-0 took every case on the channel (and perhaps hops from the others); mesh-2 none.
                #expect(try await mesh.peers[0].metric("modelmesh_rest_channel_requests_total") - before >= Double(cases.count))
                #expect(try await mesh.peers[2].metric("modelmesh_rest_channel_requests_total") == 0)
            }
        }

        /// The REST infer route also takes a `ModelInferRequest` in protobuf (how gRPC inference
        /// hops travel between peers) and answers a `ModelInferResponse`, on the channel and
        /// through the router alike; what is not one gets a 400 that says so.
        @Test func aProtobufInferenceRequestGetsAProtobufAnswer() async throws {
            try await withFastPathAndSlowPathPeers(disabling: "--rest-fast-path=false") { mesh in
                let type = "application/vnd.model-mesh.infer+protobuf"
                for raw in [true, false] {
                    let request = Inference_ModelInferRequest(
                        InferenceRequest(id: "pb", inputs: [Tensor(name: "INPUT0", shape: [2], floats: [1, 2])]), modelName: "good", raw: raw)
                    for peer in mesh.peers {
                        let reply = try await TestHTTP.send(.POST, peer.url + "/v2/models/good/infer", body: try request.serializedBytes(),
                                                            headers: [("content-type", type)])
                        #expect(reply.status == 200, "\(peer.id): \(reply.text)")
                        #expect(reply.header("content-type") == type)
                        let response = try InferenceResponse(protobuf: Inference_ModelInferResponse(serializedBytes: reply.body))
                        #expect(response.outputs.first?.floatValues() == expectedOutput("good", [1, 2]))
                        #expect(response.id == "pb" && response.modelName == "good")
                    }
                }
                for peer in mesh.peers {
                    let garbage = try await TestHTTP.send(.POST, peer.url + "/v2/models/good/infer", body: [0x0A, 0xFF, 0x01, 0x02],
                                                          headers: [("content-type", "\(type); charset=binary")])
                    #expect(garbage.status == 400)
                    #expect(garbage.text.contains("the ModelInferRequest is not a valid protobuf message"), "\(garbage.text)")
                    let mixed = try await TestHTTP.send(.POST, peer.url + "/v2/models/good/infer", body: [],
                                                        headers: [("content-type", type), ("inference-header-content-length", "0")])
                    #expect(mixed.status == 400)
                    #expect(mixed.text.contains("Inference-Header-Content-Length applies to JSON bodies"), "\(mixed.text)")
                    #expect(peer.isRunning)
                }
            }
        }

        @Test func pipelinedRequestsAreAnsweredInOrderWhicheverWayEachGoes() async throws {
            try await withFastPathAndSlowPathPeers(disabling: "--rest-fast-path=false") { mesh in
                var outputs: [String] = []
                for peer in mesh.peers {
                    outputs.append(try runCommand("python3", [integrationScripts.appendingPathComponent("pipelined_requests.py").path,
                                                              "127.0.0.1", String(peer.httpPort), "good"]))
                }
                let value = { (input: Float) in String(format: "%.3f", expectedOutput("good", [input])[0]) }
                let expected = ["200 \(value(1))", #"200 {"live": true}"#, "200 \(value(2))", "200 \(value(3))",
                                "404 model nobody is not registered", "200 \(value(5))", "closed"]
                for output in outputs {
                    #expect(output.split(separator: "\n").map(String.init) == expected, "\(output)")
                }
            }
        }

        /// A client's request whose route starts with a hop makes it from the channel, with no
        /// task (`modelmesh_rest_channel_hops_total`), and carries on as the router's loop does
        /// when the hop fails: a holder that froze is probed and skipped, and the entry loads the
        /// model (a request that asked to run at most once: `FrozenPeer`).
        @Test func aHopMadeFromTheChannelCarriesOnAsTheRoutersWhenItsPeerFails() async throws {
            try await withMesh(peers: 2, arguments: ["--lease-ttl", "60s", "--request-timeout", "30s"]) { mesh in
                let file = try mesh.syntheticModel("relayed-file")
                #expect(try await mesh.peers[0].register("relayed", storage: file).status == 201)
                let first = try await mesh.peers[0].infer("relayed")
                let holderID = try #require(first.servedBy)
                let holder = try #require(mesh.peers.first { $0.id == holderID })
                let entry = try #require(mesh.peers.first { $0.id != holderID })
                // The entry's first request reads the model's record; from then on it is cached.
                #expect(try await entry.infer("relayed").servedBy == holderID)
                let hops = { try await entry.metric("modelmesh_rest_channel_hops_total") }
                let before = try await hops()
                for value in [Float(1), 2, 3] {
                    let answer = try await entry.infer("relayed", [value])
                    #expect(answer.status == 200 && answer.servedBy == holderID)
                    #expect(answer.output == expectedOutput("relayed", [value]))
                }
                #expect(try await hops() - before == 3)

                let pid = try #require(holder.pid)
                kill(pid, SIGSTOP)
                defer { kill(pid, SIGCONT) }
                let retried = try await entry.infer("relayed", [4])
                #expect(retried.status == 200, "\(retried.error ?? "")")
                #expect(retried.servedBy == entry.id)
                #expect(retried.output == expectedOutput("relayed", [4]))
                #expect(try await hops() - before == 4)
                kill(pid, SIGCONT)
            }
        }
    }
}

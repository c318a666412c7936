import Foundation
import GRPCCore
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC
import Testing

extension Integration {
    /// Requests that once stopped peers: each now gets a precise error, every peer keeps
    /// running, nothing registered is lost, and the request is not retried on other peers.
    @Suite struct HostileInput {
        /// Gossip with ages, times and counts at the ends of their types, for a made-up peer and
        /// for a real one.
        @Test(.timeLimit(.minutes(3)))
        func hostileGossipIsDroppedAndThePeerKeepsServing() async throws {
            try await withMesh(peers: 2) { mesh in
                let peer = mesh.peers[0]
                let path = try mesh.syntheticModel("good")
                #expect(try await peer.register("good", storage: path).status == 201)
                let messages = [
                    Self.gossip(peer: "made-up", ageMillis: "9223372036854775807"),
                    Self.gossip(peer: mesh.peers[1].id, ageMillis: "0", lruTime: "-9223372036854775808"),
                    Self.gossip(peer: mesh.peers[1].id, ageMillis: "0", inFlight: "9223372036854775807"),
                    Self.gossip(peer: mesh.peers[1].id, ageMillis: "-5"),
                ]
                for message in messages {
                    let reply = try await TestHTTP.post(peer.url + "/_mesh/gossip", json: message)
                    #expect(reply.status < 500, "\(reply.status) \(reply.text)")
                }
                // Several gossip ticks and placements later, both peers still serve.
                for round in 0..<5 {
                    try await Task.sleep(for: .milliseconds(400))
                    #expect(try await mesh.peers[round % 2].infer("good", [Float(round)]).output == expectedOutput("good", [Float(round)]))
                }
                for peer in mesh.peers { #expect(peer.isRunning) }
                let view = try await peer.json("/v1/peers")
                let inFlight = (view["peers"]?.arrayValue ?? []).compactMap { $0["inFlight"]?.int64Value }
                #expect(inFlight.allSatisfy { $0 < 1 << 24 }, "\(inFlight)")
            }
        }

        static func gossip(peer: String, ageMillis: String, lruTime: String = "null", inFlight: String = "0") -> String {
            #"{"entries": [{"ageMillis": \#(ageMillis), "report": {"peer": "\#(peer)", "time": 0, "inFlight": \#(inFlight), "loading": 0, "#
                + #""usedBytes": 0, "capacityBytes": 1073741824, "modelCount": 0, "lruTime": \#(lruTime), "rates": []}}]}"#
        }

        /// A ~100-byte infer request claiming 2^31 elements, sent through a peer that does not
        /// hold the model: the holder answers 400 without allocating for the claim, and the third
        /// peer never sees the request.
        @Test(.timeLimit(.minutes(3)))
        func hugeTensorClaimsAreRefusedByTheHolderAndNotRetried() async throws {
            try await withMesh(peers: 3) { mesh in
                let (holder, entry, bystander) = (mesh.peers[0], mesh.peers[1], mesh.peers[2])
                let path = try mesh.syntheticModel("victim")
                #expect(try await entry.register("victim", storage: path).status == 201)
                #expect(try await holder.loadCopy("victim").status == 200)
                #expect(try await eventually { try await entry.placement(of: "victim").contains { $0.peer == holder.id && $0.state == "loaded" } })
                let bodies = [
                    #"{"inputs": [{"name": "INPUT0", "shape": [2, 1073741824], "datatype": "FP32", "data": [1]}]}"#,
                    #"{"inputs": [{"name": "INPUT0", "shape": [1073741824, 2], "datatype": "BYTES", "data": ["a"]}]}"#,
                    #"{"inputs": [{"name": "INPUT0", "shape": [0, 2147483647, 2147483647], "datatype": "FP32", "data": []}]}"#,
                ]
                for body in bodies {
                    let reply = try await TestHTTP.send(.POST, entry.url + "/v2/models/victim/infer", body: Array(body.utf8),
                                                        headers: [("content-type", "application/json")])
                    #expect(reply.status == 400, "\(reply.status) \(reply.text)")
                }
                // BYTES through the binary extension: 8 bytes sent for 2^31 claimed elements.
                let json = #"{"inputs": [{"name": "INPUT0", "shape": [2147483648], "datatype": "BYTES", "parameters": {"binary_data_size": 8}}]}"#
                let binary = try await TestHTTP.send(.POST, entry.url + "/v2/models/victim/infer", body: Array(json.utf8) + [4, 0, 0, 0, 1, 2, 3, 4],
                                                     headers: [("inference-header-content-length", String(json.utf8.count))])
                #expect(binary.status == 400, "\(binary.status) \(binary.text)")

                // The same claims over gRPC, in raw contents and as BYTES.
                var message = Inference_ModelInferRequest()
                message.modelName = "victim"
                var input = Inference_ModelInferRequest.InferInputTensor()
                input.name = "INPUT0"
                input.datatype = "BYTES"
                input.shape = [2_147_483_648]
                message.inputs = [input]
                message.rawInputContents = [Data([4, 0, 0, 0, 1, 2, 3, 4])]
                let bytesMessage = message
                let grpcBytes = try await entry.withGRPC { client in try await client.infer(bytesMessage) }
                #expect(grpcBytes.error?.code == .invalidArgument)
                message.inputs[0].datatype = "FP32"
                message.inputs[0].shape = [1 << 30, 4]
                let rawMessage = message
                let grpcRaw = try await entry.withGRPC { client in try await client.infer(rawMessage) }
                #expect(grpcRaw.error?.code == .invalidArgument)

                for peer in mesh.peers { #expect(peer.isRunning, "\(peer.id) stopped") }
                #expect(try await bystander.metric("modelmesh_api_request_total") == 0)
                #expect(try await entry.infer("victim", [2]).output == expectedOutput("victim", [2]))
            }
        }

        /// A registration pointing HTTP storage at an internal service (here the etcd gateway on
        /// loopback) is refused at load with what to change; nothing is fetched from it.
        @Test(.timeLimit(.minutes(3)))
        func httpStorageCannotReachInternalServices() async throws {
            try await withMesh(peers: 1) { mesh in
                let peer = mesh.peers[0]
                // etcd itself is never reachable, whatever is allowed; other loopback services are
                // refused by default, with the setting that would allow them.
                let cases = [
                    ("ssrf-etcd", "\(mesh.etcd.clientURL)/v3/kv/range", "which this peer's storage egress deny-list refuses"),
                    ("ssrf-loopback", "http://127.0.0.1:\(FreePort.next())/model", "a loopback address, which HTTP storage may not reach by default"),
                ]
                for (id, uri, refusal) in cases {
                    let reply = try await TestHTTP.post(peer.url + "/v1/models", json: #"{"id": "\#(id)", "type": "synthetic", "storageUri": "\#(uri)"}"#)
                    #expect(reply.status == 201)
                    let result = try await peer.infer(id)
                    #expect(result.status == 503)
                    #expect(result.error?.contains(refusal) == true, "\(result.error ?? "")")
                }
                let again = try await peer.infer("ssrf-loopback")
                #expect(again.error?.contains("--storage-egress-allow") == true, "\(again.error ?? "")")
                #expect(peer.isRunning)
            }
        }

        /// 200,000 distinct parameters: decoded in linear time, answered long before the deadline.
        @Test(.timeLimit(.minutes(3)))
        func manyParametersAreDecodedQuickly() async throws {
            try await withMesh(peers: 1) { mesh in
                let peer = mesh.peers[0]
                let path = try mesh.syntheticModel("params")
                #expect(try await peer.register("params", storage: path).status == 201)
                var json = #"{"parameters": {"#
                for index in 0..<200_000 { json += (index > 0 ? "," : "") + "\"k\(index)\": \(index)" }
                json += #"}, "inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1]}]}"#
                let reply = try await TestHTTP.send(.POST, peer.url + "/v2/models/params/infer", body: Array(json.utf8),
                                                    headers: [("content-type", "application/json"), ("mm-timeout-ms", "20000")])
                #expect(reply.status == 200, "\(reply.status) \(reply.text.prefix(200))")
            }
        }
    }
}

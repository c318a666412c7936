import Foundation
import GRPCCore
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC
import Testing

extension Integration {
    /// `inference.GRPCInferenceService` on every peer, with the model held by one of them.
    @Suite struct GRPCInference {
        /// Also with gRPC on one loop of its own (`--grpc-one-loop=true`) on two of the peers: calls,
        /// hops between the two kinds of peer, and a clean stop. `ModelInfer` hops travel as
        /// protobuf over the peers' HTTP/1.1 connections (`--grpc-infer-hops http1`, the default)
        /// or as gRPC calls.
        @Test(arguments: [(false, "http1"), (true, "http1"), (false, "grpc")])
        func everyRPCWorksThroughEveryPeer(oneLoop: Bool, inferHops: String) async throws {
            let oneLoopPeers = oneLoop ? [0: ["--grpc-one-loop=true"], 1: ["--grpc-one-loop=true"]] : [:]
            try await withMesh(peers: 3, arguments: ["--grpc-infer-hops", inferHops], perPeer: oneLoopPeers) { mesh in
                let path = try mesh.syntheticModel("grpc-model", json: #"{"loadMillis": 100, "scale": 3}"#)
                #expect(try await mesh.peers[0].register("grpc-model", storage: path).status == 201)
                var servers: Set<String> = []
                for peer in mesh.peers {
                    try await peer.withGRPC { client in
                        let live = try await client.inference.serverLive(request: ClientRequest(message: Inference_ServerLiveRequest())) { response in
                            (try response.message.live, response.metadata[stringValues: "mm-peer-id"].first(where: { _ in true }))
                        }
                        #expect(live.0 && live.1 == peer.id)
                        #expect(try await client.inference.serverReady(.init()).ready)
                        let server = try await client.inference.serverMetadata(.init())
                        #expect(server.name == "swift-model-mesh")
                        #expect(server.extensions.contains("model_repository"))

                        #expect(try await client.inference.modelReady(.with { $0.name = "grpc-model" }).ready)
                        let metadata = try await client.inference.modelMetadata(.with { $0.name = "grpc-model" })
                        #expect(metadata.name == "grpc-model")
                        #expect(metadata.inputs.map(\.name) == ["INPUT0"] && metadata.inputs[0].datatype == "FP32" && metadata.inputs[0].shape == [-1])

                        for raw in [true, false] {
                            let result = try await client.infer("grpc-model", [1, 2], raw: raw, id: "call-\(peer.id)")
                            try #require(result.error == nil, "\(String(describing: result.error))")
                            #expect(result.output == expectedOutput("grpc-model", [1, 2], scale: 3))
                            #expect(result.response?.modelName == "grpc-model")
                            #expect(result.response?.id == "call-\(peer.id)")
                            servers.insert(result.servedBy ?? "?")
                        }
                    }
                }
                // One copy served everything; the other peers relayed to it.
                #expect(servers.count == 1)
                let holders = try await mesh.peers[0].placement(of: "grpc-model")
                #expect(holders.map(\.peer) == Array(servers))
                var loads = 0.0
                for peer in mesh.peers { loads += try await peer.metric("modelmesh_loadmodel_total") }
                #expect(loads == 1)
                // Only gRPC was asked: REST requests the holder answered were the inference hops.
                let holder = try #require(mesh.peers.first { $0.id == holders.first?.peer })
                let restHops = try await holder.metric("modelmesh_rest_channel_requests_total")
                if inferHops == "http1" { #expect(restHops >= 4) } else { #expect(restHops == 0) }
            }
        }

        @Test func theRepositoryExtensionIndexesLoadsAndUnloads() async throws {
            try await withMesh(peers: 2) { mesh in
                for name in ["repo-a", "repo-b"] {
                    #expect(try await mesh.peers[0].register(name, storage: try mesh.syntheticModel(name)).status == 201)
                }
                try await mesh.peers[1].withGRPC { client in
                    let before = try await client.inference.repositoryIndex(.init())
                    #expect(before.models.map(\.name) == ["repo-a", "repo-b"])
                    #expect(before.models.allSatisfy { $0.state == "UNAVAILABLE" && $0.reason == "not loaded; loads on first request" })

                    _ = try await client.inference.repositoryModelLoad(.with { $0.modelName = "repo-b" })
                    // The index is this peer's mirror: it shows the copy once the watch brings it (milliseconds).
                    let listed = try await eventually {
                        try await client.inference.repositoryIndex(.with { $0.ready = true }).models.map(\.name) == ["repo-b"]
                    }
                    #expect(listed)
                    let ready = try await client.inference.repositoryIndex(.with { $0.ready = true })
                    #expect(ready.models.first?.state == "READY")

                    _ = try await client.inference.repositoryModelUnload(.with { $0.modelName = "repo-b" })
                    let unloaded = try await eventually { try await mesh.peers[0].placement(of: "repo-b").isEmpty }
                    #expect(unloaded)
                    #expect(try await client.inference.repositoryIndex(.with { $0.ready = true }).models.isEmpty)

                    let unknown = await rpcError { try await client.inference.repositoryModelLoad(.with { $0.modelName = "repo-z" }) }
                    #expect(unknown?.code == .notFound)
                    #expect(unknown?.message == "model repo-z is not registered")
                }
            }
        }

        @Test func headersChooseTheModelAsInModelMesh() async throws {
            try await withMesh(peers: 2) { mesh in
                let peer = mesh.peers[0]
                for name in ["alpha", "beta"] {
                    #expect(try await peer.register(name, storage: try mesh.syntheticModel(name)).status == 201)
                }
                let vmodel = try await TestHTTP.send(.PUT, peer.url + "/v1/vmodels/stable", body: Array(#"{"targetModel": "beta"}"#.utf8),
                                                     headers: [("content-type", "application/json")])
                #expect(vmodel.status == 201, "\(vmodel.text)")
                try await mesh.peers[1].withGRPC { client in
                    // The header wins over model_name.
                    let byModel = try await client.infer("ignored", [2], metadata: .header("mm-model-id", "alpha"))
                    #expect(byModel.output == expectedOutput("alpha", [2]))
                    // A vmodel resolves to its active model, which the response names.
                    let byVModel = try await client.infer("", [2], metadata: .header("mm-vmodel-id", "stable"))
                    #expect(byVModel.output == expectedOutput("beta", [2]))
                    #expect(byVModel.response?.modelName == "beta")
                    // model_name may name a vmodel too.
                    #expect(try await client.infer("stable", [2]).output == expectedOutput("beta", [2]))
                    // Binary form: UTF-8 bytes.
                    var binary = Metadata()
                    binary.addBinary(Array("alpha".utf8), forKey: "mm-model-id-bin")
                    #expect(try await client.infer("", [2], metadata: binary).output == expectedOutput("alpha", [2]))

                    var both = Metadata.header("mm-model-id", "alpha")
                    both.addString("stable", forKey: "mm-vmodel-id")
                    let refused: [(Metadata, String, RPCError.Code, String)] = [
                        (both, "alpha", .invalidArgument, "give mm-model-id or mm-vmodel-id, not both"),
                        (.header("mm-model-id", ""), "alpha", .invalidArgument, "mm-model-id is empty"),
                        ([:], "", .invalidArgument, "no model given: set the model name in the request, or the mm-model-id or mm-vmodel-id header"),
                        (.header("mm-vmodel-id", "alpha"), "", .notFound, "vmodel alpha is not registered"),
                        (.header("mm-model-id", "stable"), "", .notFound, "model stable is not registered"),
                        ([:], "nobody", .notFound, "model nobody is not registered"),
                        (.header("mm-model-id", "../etc"), "", .invalidArgument, "model id must start with a letter or a digit"),
                        (.header("mm-vmodel-id", "../etc"), "", .invalidArgument, "vmodel id must start with a letter or a digit"),
                    ]
                    for (metadata, name, expectedCode, message) in refused {
                        let result = try await client.infer(name, [1], metadata: metadata)
                        #expect(result.error?.code == expectedCode, "\(message): \(String(describing: result.error))")
                        #expect(result.error?.message == message)
                    }
                }
            }
        }

        @Test func badMessagesGetTheirCodesAndThePeerStaysUp() async throws {
            try await withMesh(peers: 2, arguments: ["--max-body-bytes", "1Mi"]) { mesh in
                let path = try mesh.syntheticModel("sturdy")
                #expect(try await mesh.peers[0].register("sturdy", storage: path).status == 201)
                #expect(try await mesh.peers[0].loadCopy("sturdy").status == 200)
                // Ask the peer that does not hold the model: errors found at the holder come back relayed.
                try await mesh.peers[1].withGRPC { client in
                    let garbage = try await client.inferRaw([0x0A, 0xFF, 0x01, 0x02])
                    #expect(garbage.failure?.code == .invalidArgument)
                    #expect(garbage.failure?.message.hasPrefix("the ModelInferRequest is not a valid protobuf message: field 1 claims") == true,
                            "\(String(describing: garbage.failure))")

                    // Framing that holds at the top level but not inside: found by the holder.
                    let nested: [UInt8] = [0x0A, 0x06] + Array("sturdy".utf8) + [0x2A, 0x02, 0x0B, 0x00]
                    let deep = try await client.inferRaw(nested)
                    #expect(deep.failure?.code == .invalidArgument)
                    #expect(deep.failure?.message.hasPrefix("the ModelInferRequest is not a valid protobuf message") == true)
                    #expect(deep.failure?.metadata[stringValues: "mm-served-by"].first(where: { _ in true }) == "mesh-0")

                    var mixed = Inference_ModelInferRequest(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], floats: [1])]), modelName: "sturdy")
                    mixed.inputs[0].contents.fp32Contents = [1]
                    let mixing = try await client.infer(mixed)
                    #expect(mixing.error?.code == .invalidArgument)
                    #expect(mixing.error?.message.contains("use one or the other") == true)

                    let wrongShape = try await client.infer(Inference_ModelInferRequest(
                        InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [2, 2], floats: [1, 2, 3, 4])]), modelName: "sturdy"))
                    #expect(wrongShape.error?.code == .invalidArgument)
                    #expect(wrongShape.error?.message == "input 'INPUT0' has shape [2, 2] but sturdy expects [-1] (-1: any size)")

                    // Over --max-body-bytes: refused from the length prefix, whatever the size.
                    for (count, digits) in [(393_216, "15"), (2_000_000, "80")] {
                        let large = try await client.infer("sturdy", [Float](repeating: 1, count: count))
                        #expect(large.error?.code == .resourceExhausted)
                        #expect(large.error?.message.hasPrefix("the request message is \(digits)") == true)
                        #expect(large.error?.message.hasSuffix("bytes; this peer accepts at most 1048576 (--max-body-bytes)") == true,
                                "\(String(describing: large.error))")
                    }
                    // Just under the limit passes (and is relayed to the holder as is).
                    let fits = try await client.infer("sturdy", [Float](repeating: 2, count: 200_000))
                    #expect(fits.error == nil)
                    #expect(fits.output.count == 200_000 && fits.servedBy == "mesh-0")
                }
                for peer in mesh.peers {
                    #expect(peer.isRunning)
                    let output = try await peer.withGRPC { client in try await client.infer("sturdy", [4]).output }
                    #expect(output == expectedOutput("sturdy", [4]))
                }
            }
        }

        @Test func theDeadlineTravelsWithTheHop() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("sleepy", json: #"{"inferMillis": 3000}"#)
                #expect(try await mesh.peers[0].register("sleepy", storage: path).status == 201)
                #expect(try await mesh.peers[0].loadCopy("sleepy").status == 200)
                try await mesh.peers[1].withGRPC { client in
                    // The client's deadline (grpc-timeout) bounds the hop too.
                    var started = ContinuousClock.now
                    let timedOut = await rpcError { try await client.infer("sleepy", [1], timeout: .milliseconds(400)) }
                    #expect(timedOut?.code == .deadlineExceeded)
                    #expect(ContinuousClock.now - started < .seconds(2))
                    // So does mm-timeout-ms, for clients that cannot set a deadline: the peer that
                    // relays the call gives up on the holder when it passes.
                    started = ContinuousClock.now
                    let relayed = try await client.infer("sleepy", [1], metadata: .header("mm-timeout-ms", "400"))
                    #expect(relayed.error?.code == .deadlineExceeded)
                    #expect(relayed.error?.message == "peer mesh-0 did not answer before the request's deadline")
                    #expect(ContinuousClock.now - started < .seconds(2))
                }
            }
        }

        @Test func aKilledHolderIsRoutedAroundAtTheFirstRefusedConnection() async throws {
            try await withMesh(peers: 3, arguments: ["--lease-ttl", "30s"]) { mesh in
                let path = try mesh.syntheticModel("phoenix", json: #"{"loadMillis": 50}"#)
                #expect(try await mesh.peers[0].register("phoenix", storage: path).status == 201)
                #expect(try await mesh.peers[2].loadCopy("phoenix").status == 200)
                let seen = try await eventually { try await mesh.peers[0].placement(of: "phoenix").map(\.peer) == ["mesh-2"] }
                #expect(seen)
                await mesh.peers[2].kill9()
                try await mesh.peers[0].withGRPC { client in
                    let result = try await client.infer("phoenix", [5])
                    #expect(result.error == nil, "\(String(describing: result.error))")
                    #expect(result.output == expectedOutput("phoenix", [5]))
                    #expect(result.servedBy != "mesh-2")
                }
                // mesh-2's lease (30 s) is still alive: recovery did not wait for it.
                #expect(try mesh.etcdctlGet("/peers/", keysOnly: true).contains("/peers/mesh-2"))
            }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

import Foundation
import GRPCCore
import MeshManagementGRPC
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC
import Testing

extension Integration {
    /// `mmesh.ModelMesh`: ModelMesh's management API, over the records REST and meshctl use.
    @Suite struct ManagementGRPC {
        func meshctl(_ mesh: LocalMesh, _ arguments: [String]) throws -> String {
            try runCommand(try MeshPeerProcess.executable("meshctl"), arguments + ["--endpoint", mesh.peers[1].url])
        }

        static func info(type: String = "synthetic", path: String, key: String = "") -> Mmesh_ModelInfo {
            .with {
                $0.type = type
                $0.path = path
                $0.key = key
            }
        }

        @Test func registrationsAreSharedWithRESTAndMeshctl() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("from-grpc")
                try await mesh.peers[0].withGRPC { client in
                    let management = client.management
                    let registered = try await management.registerModel(.with {
                        $0.modelID = "from-grpc"
                        $0.modelInfo = Self.info(path: "file://\(path)")
                    })
                    #expect(registered.status == .notLoaded)
                    // Visible through REST and meshctl on another peer.
                    let rest = try await mesh.peers[1].json("/v1/models/from-grpc")
                    #expect(rest["model"]?["type"]?.stringValue == "synthetic")
                    #expect(rest["model"]?["storage"]?["uri"]?.stringValue == "file://\(path)")
                    #expect(try meshctl(mesh, ["models", "list"]).contains("from-grpc"))

                    // The same definition again is fine; another one is ALREADY_EXISTS.
                    let again = await code { try await management.registerModel(.with { $0.modelID = "from-grpc"; $0.modelInfo = Self.info(path: "file://\(path)") }) }
                    #expect(again == nil)
                    let conflict = await rpcError {
                        try await management.registerModel(.with { $0.modelID = "from-grpc"; $0.modelInfo = Self.info(path: "file:///elsewhere") })
                    }
                    #expect(conflict?.code == .alreadyExists)
                    #expect(conflict?.message == "model from-grpc already exists with different type, path or key")
                    for (id, type) in [("", "synthetic"), ("x", ""), ("x", "tensorflow")] {
                        let invalid = await code { try await management.registerModel(.with { $0.modelID = id; $0.modelInfo = Self.info(type: type, path: path) }) }
                        #expect(invalid == .invalidArgument, "id \(id), type \(type)")
                    }

                    // The other way round: registered with meshctl, seen through gRPC.
                    _ = try meshctl(mesh, ["models", "register", "from-cli", "--type", "synthetic", "--storage-uri", "file://\(path)"])
                    #expect(try await management.getModelStatus(.with { $0.modelID = "from-cli" }).status == .notLoaded)
                    _ = try await management.unregisterModel(.with { $0.modelID = "from-cli" })
                    #expect(try await TestHTTP.get(mesh.peers[1].url + "/v1/models/from-cli").status == 404)

                    // Unknown models: a status for getModelStatus, an error for ensureLoaded, a no-op to unregister.
                    #expect(try await management.getModelStatus(.with { $0.modelID = "ghost" }).status == .notFound)
                    let missing = await rpcError { try await management.ensureLoaded(.with { $0.modelID = "ghost" }) }
                    #expect(missing?.code == .notFound)
                    #expect(missing?.message == "model not found")
                    let unregistered = await code { try await management.unregisterModel(.with { $0.modelID = "ghost" }) }
                    #expect(unregistered == nil)
                }
            }
        }

        @Test func statusTellsLoadingFromLoadedCopies() async throws {
            try await withMesh(peers: 2) { mesh in
                let slow = try mesh.syntheticModel("slow", json: #"{"loadMillis": 2000}"#)
                let broken = try mesh.syntheticModel("broken", json: #"{"failLoad": true, "failMessage": "bad weights"}"#)
                try await mesh.peers[1].withGRPC { client in
                    let management = client.management
                    for (id, path) in [("slow", slow), ("broken", broken)] {
                        _ = try await management.registerModel(.with { $0.modelID = id; $0.modelInfo = Self.info(path: "file://\(path)") })
                    }
                    let loading = try await management.ensureLoaded(.with { $0.modelID = "slow" })
                    #expect(loading.status == .loading)
                    #expect(loading.modelCopyInfos.count == 1)
                    #expect(loading.modelCopyInfos.first?.copyStatus == .loading)
                    let loaded = try await management.ensureLoaded(.with { $0.modelID = "slow"; $0.sync = true })
                    #expect(loaded.status == .loaded)
                    #expect(loaded.modelCopyInfos.map(\.copyStatus) == [.loaded])
                    #expect(loaded.modelCopyInfos.first?.location == loading.modelCopyInfos.first?.location)
                    #expect(loaded.modelCopyInfos.first.map { $0.time > 1_700_000_000_000 } == true)

                    // A failed load is a status, not an error, with its messages.
                    let failed = try await management.ensureLoaded(.with { $0.modelID = "broken"; $0.sync = true })
                    #expect(failed.status == .loadingFailed)
                    #expect(!failed.errors.isEmpty && failed.errors.allSatisfy { $0.hasSuffix("bad weights") })
                    #expect(!failed.modelCopyInfos.isEmpty && failed.modelCopyInfos.allSatisfy { $0.copyStatus == .loadingFailed })

                    // registerModel with loadNow + sync answers once loaded.
                    let quick = try mesh.syntheticModel("quick")
                    let now = try await management.registerModel(.with {
                        $0.modelID = "quick"
                        $0.modelInfo = Self.info(path: "file://\(quick)")
                        $0.loadNow = true
                        $0.sync = true
                    })
                    #expect(now.status == .loaded)
                }
            }
        }

        /// Messages written by hand from ModelMesh's model-mesh.proto, sent on ModelMesh's paths:
        /// the field numbers and method names must match, whatever the generated code says.
        @Test func modelMeshWireBytesAreUnderstood() async throws {
            func field(_ number: UInt8, _ text: String) -> [UInt8] { [number << 3 | 2, UInt8(text.utf8.count)] + Array(text.utf8) }
            func field(_ number: UInt8, _ message: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(message.count)] + message }
            func call(_ client: GRPCTestClient, _ method: String, _ bytes: [UInt8]) async throws -> [UInt8] {
                try await client.unary(
                    request: ClientRequest(message: bytes), descriptor: MethodDescriptor(fullyQualifiedService: "mmesh.ModelMesh", method: method),
                    serializer: RawMessageSerializer(), deserializer: RawMessageDeserializer(role: "response"), options: .defaults
                ) { try $0.message }
            }
            try await withMesh(peers: 1) { mesh in
                let path = try mesh.syntheticModel("wire")
                try await mesh.peers[0].withGRPC { client in
                    // RegisterModelRequest{modelId=1, modelInfo=2{type=1, path=2}} -> ModelStatusInfo{status=1: NOT_LOADED}
                    let registered = try await call(client, "registerModel", field(1, "wire-m") + field(2, field(1, "synthetic") + field(2, "file://\(path)")))
                    #expect(registered == [0x08, 0x01])
                    // EnsureLoadedRequest{modelId=1, sync=4} -> status=1 LOADED (3), one copy in field 3.
                    let loaded = try await call(client, "ensureLoaded", field(1, "wire-m") + [0x20, 0x01])
                    #expect(Array(loaded.prefix(2)) == [0x08, 0x03])
                    #expect(try Mmesh_ModelStatusInfo(serializedBytes: loaded).modelCopyInfos.first?.location == "mesh-0")
                    // SetVModelRequest{vModelId=1, targetModelId=2, owner=10} -> VModelStatusInfo{status=1: DEFINED, activeModelId=2, owner=6}
                    let set = try await call(client, "setVModel", field(1, "wire-vm") + field(2, "wire-m") + field(10, "team"))
                    #expect(Array(set.prefix(2)) == [0x08, 0x01])
                    #expect(try ProtobufFieldScanner.string(field: 2, in: set) == "wire-m")
                    #expect(try ProtobufFieldScanner.string(field: 6, in: set) == "team")
                    // GetVModelStatusRequest{vModelId=1, owner=2}: another owner sees nothing.
                    #expect(try await call(client, "getVModelStatus", field(1, "wire-vm") + field(2, "other")).isEmpty)
                    let status = try await call(client, "getVModelStatus", field(1, "wire-vm") + field(2, "team"))
                    #expect(try ProtobufFieldScanner.string(field: 3, in: status) == "wire-m")
                    // GetStatusRequest{modelId=1} on getModelStatus; UnregisterModelRequest refused while referenced.
                    #expect(Array(try await call(client, "getModelStatus", field(1, "wire-m")).prefix(2)) == [0x08, 0x03])
                    let referenced = await rpcError { try await call(client, "unregisterModel", field(1, "wire-m")) }
                    #expect(referenced?.code == .failedPrecondition)
                    // DeleteVModelRequest{vModelId=1, owner=2}, then the model can go.
                    #expect(try await call(client, "deleteVModel", field(1, "wire-vm") + field(2, "team")).isEmpty)
                    #expect(try await call(client, "unregisterModel", field(1, "wire-m")).isEmpty)
                    // PascalCase paths are not ModelMesh's.
                    let pascal = await rpcError { try await call(client, "RegisterModel", field(1, "x")) }
                    #expect(pascal?.code == .unimplemented)
                }
            }
        }

        @Test func modelMeshServingKeysBecomeKeyedStorage() async throws {
            try await withMesh(peers: 1) { mesh in
                try await mesh.peers[0].withGRPC { client in
                    let key = #"{"storage_key": "localMinIO", "bucket": "models", "storage_params": {"region": "eu"}, "model_type": {"name": "onnx"}, "disk_size_bytes": 4000}"#
                    _ = try await client.management.registerModel(.with {
                        $0.modelID = "isvc__ns-0123456789"
                        $0.modelInfo = Self.info(type: "mt:onnx", path: "sklearn/iris.onnx", key: key)
                    })
                }
                let model = try await mesh.peers[0].json("/v1/models/isvc__ns-0123456789")["model"]
                #expect(model?["type"]?.stringValue == "onnx")
                #expect(model?["storage"]?["key"]?.stringValue == "localMinIO")
                #expect(model?["storage"]?["path"]?.stringValue == "sklearn/iris.onnx")
                #expect(model?["storage"]?["parameters"]?["bucket"]?.stringValue == "models")
                #expect(model?["storage"]?["parameters"]?["region"]?.stringValue == "eu")
                #expect(model?["sizeHintBytes"]?.int64Value == 5000)
            }
        }
    }
}

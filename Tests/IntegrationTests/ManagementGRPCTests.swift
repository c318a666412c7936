import Foundation
import GRPCCore
import MeshManagementGRPC
import MeshTestSupport
import OpenInference
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

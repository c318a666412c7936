import Foundation
import MeshTestSupport
import OpenInference
import Testing

extension Integration {
    /// A custom runtime written against ModelMesh's runtime API (`mmesh.ModelRuntime`, Python
    /// grpcio: Scripts/spi_runtime.py) beside one peer: called as ModelMesh calls it.
    @Suite struct ModelMeshRuntime {
        static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        static let scripts = integrationScripts.path
        static let proto = tests.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Protos/mmesh/model-runtime.proto").path

        static func ensurePython() throws {
            if (try? runCommand("python3", ["-c", "import grpc, grpc_tools, tritonclient.grpc"])) != nil { return }
            _ = try runCommand("python3", ["-m", "pip", "install", "-q", "grpcio-tools", "tritonclient[http,grpc]"])
        }

        @Test func aRuntimeWrittenForModelMeshServesThroughTheMesh() async throws {
            try Self.ensurePython()
            let work = try TemporaryDirectory(prefix: "mesh-test-spi")
            defer { work.remove() }
            // Two STARTING answers before READY; the first two unloads fail.
            let runtime = try await ScriptedRuntimeProcess.start(
                script: "\(Self.scripts)/spi_runtime.py",
                arguments: ["--proto", Self.proto, "--starting-calls", "2", "--fail-unloads", "2", "--capacity", "\(512 << 20)",
                            "--max-loading-concurrency", "2", "--loading-timeout-ms", "5000"],
                in: work, name: "spi")
            let config = work.appending("runtime-servers.yaml")
            try """
                - name: custom
                  protocol: modelmesh
                  grpc: \(runtime.address)
                  formats: [custom]
                  probeIntervalMillis: 200
                  unloadRetryIntervalMillis: 200
                  unloadRetries: 5
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let mesh = try await LocalMesh.start(peers: 2, perPeer: [0: ["--runtime-servers", config]])
            do {
                try await exercise(mesh: mesh, runtime: runtime)
            } catch {
                Issue.record(error)
                print(mesh.logs(lines: 80))
                print(runtime.logTail())
            }
            await mesh.destroy()
            await runtime.stop()
        }

        func exercise(mesh: LocalMesh, runtime: ScriptedRuntimeProcess) async throws {
            let entry = mesh.peers[1]
            #expect(try await eventually { try await Self.pool(on: entry)?["ready"]?.boolValue == true })
            // The capacity came from runtimeStatus; READY came after the runtime purged.
            #expect(try await Self.pool(on: entry)?["capacityBytes"]?.int64Value == 512 << 20)
            let statuses = runtime.calls().filter { $0["call"] as? String == "runtimeStatus" }.compactMap { $0["result"] as? String }
            #expect(statuses == ["STARTING", "STARTING", "READY"], "\(statuses)")
            #expect(runtime.calls().contains { $0["call"] as? String == "purge" })

            let scaled = try mesh.syntheticModel("scaled", json: #"{"scale": 2, "offset": 1, "sizeBytes": 3000000}"#)
            let unsized = try mesh.syntheticModel("unsized", json: #"{"scale": 1, "offset": 0, "sizeBytes": 0}"#)
            for (id, path) in [("scaled", scaled), ("unsized", unsized)] {
                let reply = try await TestHTTP.post(entry.url + "/v1/models", json: #"{"id": "\#(id)", "type": "custom", "storageUri": "file://\#(path)"}"#)
                #expect(reply.status == 201, "\(reply.text)")
            }

            // REST through the peer without the runtime.
            let rest = try await entry.infer("scaled", [1, 2, 3])
            #expect(rest.status == 200, "\(rest.error ?? "")")
            #expect(rest.output == [3, 5, 7])
            #expect(rest.servedBy == "mesh-0")
            let load = try #require(runtime.calls().first { $0["call"] as? String == "loadModel" && $0["model"] as? String == "scaled" })
            #expect(load["modelType"] as? String == "custom")
            #expect((load["modelPath"] as? String)?.hasSuffix("scaled.json") == true, "\(load)")
            let key = try JSONParser.parse(Array(((load["modelKey"] as? String) ?? "").utf8))
            #expect(key["disk_size_bytes"]?.int64Value == Int64(try Data(contentsOf: URL(fileURLWithPath: scaled)).count))
            // The id was injected at the path the runtime asked for, and sent as a header.
            let infer = try #require(runtime.calls().last { $0["call"] as? String == "infer" })
            #expect(infer["model"] as? String == "scaled")
            #expect(infer["header"] as? String == "scaled")

            // gRPC, NVIDIA's client, the same peer.
            let grpc = try runCommand("python3", ["\(Self.scripts)/grpc_infer.py", "127.0.0.1:\(entry.grpcPort)", "scaled",
                                                  #"[{"name": "INPUT0", "datatype": "FP32", "shape": [2], "data": [10, 20]}]"#])
            let answer = try JSONParser.parse(Array(grpc.utf8))
            #expect(answer["outputs"]?.arrayValue?.first?["data"]?.arrayValue?.compactMap(\.doubleValue) == [21, 41], "\(grpc)")

            // Sizes: from loadModel, or from modelSize when loadModel says 0.
            #expect(try await entry.infer("unsized", [4]).output == [4])
            #expect(try await eventually { try await Self.copySize(on: entry, "unsized") == 12_345_678 })
            #expect(try await Self.copySize(on: entry, "scaled") == 3_000_000)
            #expect(runtime.calls().contains { $0["call"] as? String == "modelSize" && $0["model"] as? String == "unsized" })

            // An unload is retried until the runtime takes it (it refuses the first two).
            let unloaded = try await TestHTTP.post(entry.url + "/v2/repository/models/scaled/unload", json: "{}")
            #expect(unloaded.status == 200, "\(unloaded.text)")
            #expect(try await eventually {
                runtime.calls().filter { $0["call"] as? String == "unloadModel" && $0["model"] as? String == "scaled" }
                    .compactMap { $0["result"] as? String } == ["UNAVAILABLE", "UNAVAILABLE", "OK"]
            }, "\(runtime.calls().filter { $0["call"] as? String == "unloadModel" })")

            // The runtime dies: its copies go and its pool closes; back, it is purged and serves again.
            await runtime.kill9()
            #expect(try await eventually { try await Self.pool(on: entry)?["ready"]?.boolValue == false })
            #expect(try await eventually { try await entry.placement(of: "unsized").isEmpty })
            let down = try await entry.infer("unsized", [1])
            #expect(down.status == 503, "\(down.error ?? "")")
            try await runtime.launch(extra: [])
            #expect(try await eventually { try await Self.pool(on: entry)?["ready"]?.boolValue == true })
            let back = try await entry.infer("scaled", [1])
            #expect(back.status == 200, "\(back.error ?? "")")
            #expect(back.output == [3])
            #expect(runtime.calls().filter { $0["call"] as? String == "loadModel" && $0["model"] as? String == "scaled" }.count == 2)
        }

        static func pool(on entry: MeshPeerProcess) async throws -> JSONValue? {
            let peers = try await entry.json("/v1/peers")["peers"]?.arrayValue ?? []
            let pools = peers.first { $0["id"]?.stringValue == "mesh-0" }?["pools"]?.arrayValue ?? []
            return pools.first { $0["name"]?.stringValue == "custom" }
        }

        static func copySize(on entry: MeshPeerProcess, _ model: String) async throws -> Int64? {
            let copies = try await entry.json("/v1/placement")["copies"]?.arrayValue ?? []
            return copies.first { $0["model"]?.stringValue == model }?["sizeBytes"]?.int64Value
        }
    }
}

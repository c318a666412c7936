import Foundation
import MeshTestSupport
import Testing

extension Integration {
    @Suite struct Meshctl {
        func meshctl(_ mesh: LocalMesh, _ arguments: [String], input: String? = nil) throws -> String {
            try runCommand(try MeshPeerProcess.executable("meshctl"), arguments + ["--endpoint", mesh.peers[0].url], input: input)
        }

        @Test func managesModelsAndShowsPlacement() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("cli-model", json: #"{"scale": 10, "offset": 1}"#)
                #expect(try meshctl(mesh, ["models", "register", "cli-model", "--type", "synthetic", "--storage-uri", "file://\(path)", "--max-copies", "2"])
                    == "registered cli-model\n")
                #expect(try meshctl(mesh, ["models", "list"]).contains("cli-model"))
                let inference = try meshctl(mesh, ["infer", "cli-model"], input: #"{"inputs":[{"name":"INPUT0","shape":[2],"datatype":"FP32","data":[1,2]}]}"#)
                #expect(inference.contains("OUTPUT0 FP32 [2]: 11.0, 21.0"), "\(inference)")
                let placement = try meshctl(mesh, ["placement"])
                #expect(placement.contains("cli-model") && placement.contains("loaded"), "\(placement)")
                let status = try meshctl(mesh, ["models", "status", "cli-model"])
                #expect(status.contains("status    LOADED"), "\(status)")
                #expect(status.contains("copies    min 0, max 2"), "\(status)")
                let peers = try meshctl(mesh, ["peers"])
                #expect(peers.contains("mesh-0") && peers.contains("mesh-1"))
                let json = try meshctl(mesh, ["models", "list", "--json"])
                #expect(json.contains(#""id":"cli-model""#))
                #expect(try meshctl(mesh, ["models", "unregister", "cli-model"]) == "unregistered cli-model\n")
                // Every copy is unloaded with it.
                let unloaded = try await eventually { try await mesh.peers[1].placement(of: "cli-model").isEmpty }
                #expect(unloaded)
                #expect(!(try mesh.etcdctlGet("/", keysOnly: true).contains("cli-model")))
                do {
                    _ = try meshctl(mesh, ["models", "status", "cli-model"])
                    Issue.record("status of an unregistered model succeeded")
                } catch let failure as CommandFailure {
                    #expect(failure.errors.contains("HTTP 404: model cli-model is not registered"), "\(failure.errors)")
                }
            }
        }

        @Test func listPagesThroughEveryModel() async throws {
            try await withMesh(peers: 1) { mesh in
                let path = try mesh.syntheticModel("page")
                for index in 0..<25 {
                    #expect(try await mesh.peers[0].register("page-\(100 + index)", storage: path).status == 201)
                }
                let all = try meshctl(mesh, ["models", "list", "--limit", "7", "--all"])
                #expect(all.split(separator: "\n").filter { $0.hasPrefix("page-") }.count == 25)
                #expect(all.contains("25 models"))
                let first = try meshctl(mesh, ["models", "list", "--limit", "7"])
                #expect(first.contains("more: meshctl models list --after page-106"), "\(first)")
            }
        }

        @Test func topAndWatchFollowTheMeshLive() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("live-model")
                #expect(try await mesh.peers[0].register("live-model", storage: path).status == 201)

                // The watch prints the unloaded model, then again once its copy changes.
                let watch = Process()
                watch.executableURL = URL(fileURLWithPath: try MeshPeerProcess.executable("meshctl"))
                watch.arguments = ["models", "status", "live-model", "--watch", "--count", "2", "--interval", "0.1", "--endpoint", mesh.peers[0].url]
                let output = Pipe()
                watch.standardOutput = output
                try watch.run()
                defer { if watch.isRunning { watch.terminate() } }
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await mesh.peers[1].infer("live-model").status == 200)
                let exited = try await eventually { !watch.isRunning }
                #expect(exited)
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                #expect(text.components(separatedBy: "--- ").count == 3, "\(text)")
                #expect(text.contains("status    NOT_LOADED") && (text.contains("status    LOADED") || text.contains("status    LOADING")), "\(text)")

                for _ in 0..<5 { #expect(try await mesh.peers[0].infer("live-model").status == 200) }
                let top = try meshctl(mesh, ["top", "--count", "1"])
                #expect(top.contains("2 peers, 1 models loaded or loading"), "\(top)")
                #expect(top.contains("mesh-0") && top.contains("mesh-1"), "\(top)")
                #expect(top.split(separator: "\n").contains { $0.hasPrefix("live-model ") && $0.hasSuffix("1/1") }, "\(top)")
            }
        }
    }
}

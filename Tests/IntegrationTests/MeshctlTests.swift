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
    }
}

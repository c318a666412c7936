import Foundation
import GRPCCore
import MeshCore
import MeshManagementGRPC
import MeshTestSupport
import OpenInference
import Testing

extension Integration {
    /// VModels: stable names that move between models without a gap in serving.
    @Suite struct VModels {
        static func put(_ peer: MeshPeerProcess, _ vmodel: String, _ json: String) async throws -> TestHTTP.Reply {
            try await TestHTTP.send(.PUT, peer.url + "/v1/vmodels/\(vmodel)", body: Array(json.utf8), headers: [("content-type", "application/json")])
        }

        /// `(active, target, status)` of a vmodel, through REST.
        static func state(_ peer: MeshPeerProcess, _ vmodel: String) async throws -> (String, String, String) {
            let value = try await peer.json("/v1/vmodels/\(vmodel)")
            return (value["activeModel"]?.stringValue ?? "", value["targetModel"]?.stringValue ?? "", value["status"]?.stringValue ?? "")
        }

        @Test func aVModelMovesOnceItsTargetIsLoadedToTheSameNumberOfCopies() async throws {
            try await withMesh(peers: 3) { mesh in
                let peer = mesh.peers[0]
                #expect(try await peer.register("v1", storage: try mesh.syntheticModel("v1")).status == 201)
                #expect(try await peer.register("v2", storage: try mesh.syntheticModel("v2", json: #"{"loadMillis": 1500}"#)).status == 201)
                // v1 has two copies.
                #expect(try await mesh.peers[0].loadCopy("v1").status == 200)
                // A second copy: mesh-1 must have seen the first before it may claim another.
                let second = try await eventually { try await mesh.peers[1].loadCopy("v1").status == 200 }
                #expect(second)
                let created = try await Self.put(peer, "app", #"{"targetModel": "v1", "autoDeleteOldModel": true}"#)
                #expect(created.status == 201, "\(created.text)")
                #expect(try await peer.infer("app", [1]).output == expectedOutput("v1", [1]))
                // A referenced model cannot be unregistered.
                #expect(try await TestHTTP.send(.DELETE, peer.url + "/v1/models/v1").status == 409)

                let moving = try await Self.put(mesh.peers[2], "app", #"{"targetModel": "v2"}"#)
                #expect(moving.status == 200, "\(moving.text)")
                #expect(moving.json["status"] as? String == "TRANSITIONING")
                #expect(moving.json["activeModel"] as? String == "v1")
                // While v2 loads, requests for the vmodel keep going to v1.
                let during = try await mesh.peers[1].infer("app", [2])
                #expect(during.output == expectedOutput("v1", [2]))

                var copiesAtSwitch: [(peer: String, state: String)] = []
                let switched = try await eventually(timeout: .seconds(30)) {
                    guard try await Self.state(peer, "app") == ("v2", "v2", "DEFINED") else { return false }
                    copiesAtSwitch = try await peer.placement(of: "v2")
                    return true
                }
                let final = try await Self.state(peer, "app")
                #expect(switched, "\(final)")
                // Two loaded copies of v2, on two peers, before the switch.
                #expect(copiesAtSwitch.count == 2 && copiesAtSwitch.allSatisfy { $0.state == "loaded" }, "\(copiesAtSwitch)")
                #expect(Set(copiesAtSwitch.map(\.peer)).count == 2)
                #expect(try await mesh.peers[2].infer("app", [3]).output == expectedOutput("v2", [3]))
                // The vmodel asked to retire what it moved off.
                let retired = try await eventually { try await TestHTTP.get(peer.url + "/v1/models/v1").status == 404 }
                #expect(retired)
                #expect(try mesh.etcdctlGet("/transitions/", keysOnly: true).isEmpty)
            }
        }

        @Test func aTargetThatFailsToLoadLeavesTheActiveModelServing() async throws {
            try await withMesh(peers: 2) { mesh in
                let peer = mesh.peers[0]
                #expect(try await peer.register("good", storage: try mesh.syntheticModel("good")).status == 201)
                #expect(try await peer.register("bad", storage: try mesh.syntheticModel("bad", json: #"{"failLoad": true, "failMessage": "corrupt file"}"#)).status == 201)
                #expect(try await peer.register("better", storage: try mesh.syntheticModel("better")).status == 201)
                #expect(try await Self.put(peer, "svc", #"{"targetModel": "good", "loadNow": true, "sync": true}"#).status == 201)
                let loaded = try await eventually { try await peer.placement(of: "good").first?.state == "loaded" }
                #expect(loaded)

                try await mesh.peers[1].withGRPC { client in
                    let management = client.management
                    let status = try await management.setVModel(.with {
                        $0.vModelID = "svc"
                        $0.targetModelID = "bad"
                        $0.sync = true
                    })
                    #expect(status.status == .transitionFailed)
                    #expect(status.activeModelID == "good" && status.targetModelID == "bad")
                    #expect(status.activeModelStatus.status == .loaded)
                    #expect(status.targetModelStatus.status == .loadingFailed)
                    #expect(status.targetModelStatus.errors.contains { $0.contains("corrupt file") }, "\(status.targetModelStatus.errors)")
                    // The active model keeps serving the vmodel.
                    #expect(try await client.infer("svc", [7]).output == expectedOutput("good", [7]))
                    let rest = try await mesh.peers[0].json("/v1/vmodels/svc")
                    #expect(rest["status"]?.stringValue == "TRANSITION_FAILED")
                    #expect(rest["failureMessage"]?.stringValue?.contains("corrupt file") == true)

                    // Pointing it at a model that loads recovers.
                    let recovered = try await management.setVModel(.with {
                        $0.vModelID = "svc"
                        $0.targetModelID = "better"
                        $0.sync = true
                    })
                    #expect(recovered.status == .defined)
                    #expect(recovered.activeModelID == "better")
                    #expect(try await client.infer("svc", [7]).output == expectedOutput("better", [7]))
                }
                // "bad" lost its reference and can be unregistered now; "good" too.
                #expect(try await TestHTTP.send(.DELETE, peer.url + "/v1/models/bad").status == 200)
                #expect(try await TestHTTP.send(.DELETE, peer.url + "/v1/models/good").status == 200)
                #expect(try await TestHTTP.send(.DELETE, peer.url + "/v1/models/better").status == 409)
            }
        }

        @Test func modelMeshVModelRulesOverGRPCWithRESTAndMeshctl() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("isvc-1")
                try await mesh.peers[0].withGRPC { client in
                    let management = client.management
                    // Created with its target, as modelmesh-serving does.
                    let created = try await management.setVModel(.with {
                        $0.vModelID = "isvc"
                        $0.owner = "ns-a"
                        $0.targetModelID = "isvc__1"
                        $0.modelInfo = .with { $0.type = "synthetic"; $0.path = "file://\(path)" }
                        $0.autoDeleteTargetModel = true
                    })
                    #expect(created.status == .defined && created.activeModelID == "isvc__1" && created.owner == "ns-a")
                    #expect(created.activeModelStatus.status == .notLoaded)

                    let refusals: [(Mmesh_SetVModelRequest, RPCError.Code, String)] = [
                        (.with { $0.vModelID = "other"; $0.targetModelID = "isvc__1"; $0.updateOnly = true }, .notFound, "vmodel other not found"),
                        (.with { $0.vModelID = "other"; $0.targetModelID = "nothing" }, .notFound, "target model nothing not found"),
                        (.with { $0.vModelID = "isvc"; $0.owner = "ns-b"; $0.targetModelID = "isvc__1" }, .alreadyExists,
                         "vmodel isvc already exists with a different owner \"ns-a\""),
                        (.with { $0.vModelID = "isvc"; $0.targetModelID = "isvc__1"; $0.modelInfo = .with { $0.type = "synthetic"; $0.path = "file:///other" } },
                         .alreadyExists, "target model isvc__1 already exists with a different definition"),
                        (.with { $0.vModelID = "isvc"; $0.targetModelID = "isvc__2"; $0.expectedTargetModelID = "isvc__0"; $0.modelInfo = .with { $0.type = "synthetic"; $0.path = "file:///two" } },
                         .failedPrecondition, "the target of vmodel isvc is isvc__1, not the expected isvc__0"),
                        (.with { $0.vModelID = ""; $0.targetModelID = "isvc__1" }, .invalidArgument, "vModelId must not be empty"),
                    ]
                    for (request, expectedCode, message) in refusals {
                        let error = await rpcError { try await management.setVModel(request) }
                        #expect(error?.code == expectedCode, "\(message): \(String(describing: error))")
                        #expect(error?.message == message)
                    }
                    // The vmodel serves through its name (model_name) over gRPC.
                    #expect(try await client.infer("isvc", [1]).output == expectedOutput("isvc__1", [1]))

                    // Visible through REST and meshctl.
                    let rest = try await mesh.peers[1].json("/v1/vmodels/isvc")
                    #expect(rest["activeModel"]?.stringValue == "isvc__1" && rest["owner"]?.stringValue == "ns-a")
                    let meshctl = try MeshPeerProcess.executable("meshctl")
                    let listed = try runCommand(meshctl, ["vmodels", "list", "--endpoint", mesh.peers[1].url])
                    #expect(listed.contains("isvc") && listed.contains("isvc__1") && listed.contains("DEFINED"), "\(listed)")
                    let shown = try runCommand(meshctl, ["vmodels", "get", "isvc", "--endpoint", mesh.peers[1].url])
                    #expect(shown.contains("active    isvc__1 (LOADED)"), "\(shown)")

                    // And the other way round: set with meshctl, seen through gRPC.
                    #expect(try await mesh.peers[1].register("plain", storage: path).status == 201)
                    #expect(try runCommand(meshctl, ["vmodels", "set", "cli-vm", "--target", "plain", "--endpoint", mesh.peers[1].url]) == "created cli-vm -> plain\n")
                    let fromCLI = try await management.getVModelStatus(.with { $0.vModelID = "cli-vm" })
                    #expect(fromCLI.status == .defined && fromCLI.activeModelID == "plain")
                    #expect(try runCommand(meshctl, ["vmodels", "delete", "cli-vm", "--endpoint", mesh.peers[1].url]) == "deleted cli-vm\n")
                    #expect(try await management.getVModelStatus(.with { $0.vModelID = "cli-vm" }) == Mmesh_VModelStatusInfo())

                    // Unknown vmodels: an empty status, a no-op delete; another owner's delete is a no-op too.
                    #expect(try await management.getVModelStatus(.with { $0.vModelID = "ghost" }).status == .notFound)
                    let deleted = await code { try await management.deleteVModel(.with { $0.vModelID = "ghost" }) }
                    #expect(deleted == nil)
                    _ = try await management.deleteVModel(.with { $0.vModelID = "isvc"; $0.owner = "ns-b" })
                    #expect(try await management.getVModelStatus(.with { $0.vModelID = "isvc" }).status == .defined)
                    // Deleting it unregisters the target it created.
                    _ = try await management.deleteVModel(.with { $0.vModelID = "isvc"; $0.owner = "ns-a" })
                    #expect(try await management.getModelStatus(.with { $0.modelID = "isvc__1" }).status == .notFound)
                    #expect(try await TestHTTP.get(mesh.peers[1].url + "/v1/vmodels/isvc").status == 404)
                }
            }
        }

        @Test func aTransitionOutlivesThePeerThatDroveIt() async throws {
            try await withMesh(peers: 3, arguments: ["--lease-ttl", "3s"]) { mesh in
                let peer = mesh.peers[0]
                #expect(try await peer.register("old", storage: try mesh.syntheticModel("old")).status == 201)
                #expect(try await peer.register("new", storage: try mesh.syntheticModel("new", json: #"{"loadMillis": 4000}"#)).status == 201)
                let driver = try #require(VModelRules.driver(of: try ModelID("web"), among: mesh.peers.map { try PeerID($0.id) }))
                let driverProcess = try #require(mesh.peers.first { $0.id == driver.rawValue })
                let other = try #require(mesh.peers.first { $0.id != driver.rawValue })
                // "old" is loaded on the driver; "new" will load there too (it is the least busy
                // peer the driver finds... or elsewhere): either way the driver dies mid-load.
                #expect(try await other.loadCopy("old").status == 200)
                #expect(try await Self.put(other, "web", #"{"targetModel": "old"}"#).status == 201)
                #expect(try await Self.put(other, "web", #"{"targetModel": "new"}"#).json["status"] as? String == "TRANSITIONING")
                let started = try await eventually { try await !other.placement(of: "new").isEmpty }
                #expect(started)
                await driverProcess.kill9()
                // Another peer takes the transition over once the driver's lease has expired.
                let moved = try await eventually(timeout: .seconds(40)) { try await Self.state(other, "web").2 == "DEFINED" }
                let final = try await Self.state(other, "web")
                #expect(moved, "\(final)")
                #expect(final.0 == "new")
                #expect(try await other.infer("web", [1]).output == expectedOutput("new", [1]))
            }
        }
    }
}

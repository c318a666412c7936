import Foundation
import MeshTestSupport
import Testing

extension Integration {
    @Suite struct GracefulShutdown {
        @Test func sigtermMovesRecentlyUsedModelsToOtherPeersBeforeLeaving() async throws {
            try await withMesh(peers: 3) { mesh in
                for index in 0..<6 {
                    let path = try mesh.syntheticModel("m\(index)")
                    #expect(try await mesh.peers[0].register("m\(index)", storage: path).status == 201)
                    let result = try await mesh.peers[0].infer("m\(index)")
                    #expect(result.status == 200, "\(result.error ?? "")")
                }
                let leaving = mesh.peers[1]
                let held = try await (0..<6).asyncFilter { try await leaving.placement(of: "m\($0)").map(\.peer) == [leaving.id] }
                try #require(!held.isEmpty, "mesh-1 holds no model; placement spreads models, so this should not happen")

                leaving.sendSIGTERM()
                let status = await leaving.waitForExit(timeout: .seconds(60))
                #expect(status == 0, "exit status \(status.map(String.init) ?? "none"):\n\(leaving.logTail())")
                #expect(leaving.log.contains("left the mesh"))
                // The migration reports its progress in the log, ending with every model counted.
                #expect(leaving.log.contains("moving recently used models to other peers before shutting down"), "\(leaving.logTail())")
                let finished = leaving.log.split(separator: "\n").contains { line in
                    guard line.contains("shutdown migration progress"), let match = line.firstMatch(of: /done(?:=|":")(\d+)\/(\d+)/) else { return false }
                    return match.1 == match.2 && Int(match.2) ?? 0 >= held.count
                }
                #expect(finished, "\(leaving.logTail())")
                // Every model it held is loaded elsewhere, and its records are gone.
                for index in held {
                    let copies = try await mesh.peers[0].placement(of: "m\(index)")
                    #expect(copies.contains { $0.state == "loaded" && $0.peer != leaving.id }, "m\(index): \(copies)")
                }
                #expect(!(try mesh.etcdctlGet("/", keysOnly: true).contains("mesh-1")))
            }
        }

        @Test func aRollingRestartUnderLoadLosesNoRequest() async throws {
            try await withMesh(peers: 3) { mesh in
                let models = (0..<12).map { "rolling-\($0)" }
                for model in models {
                    let path = try mesh.syntheticModel(model, json: #"{"loadMillis": 100, "inferMillis": 2}"#)
                    #expect(try await mesh.peers[0].register(model, storage: path).status == 201)
                }
                // Clients reach peers the way a Service sends them: only to ready peers.
                let load = BackgroundLoad.start(mesh.peers, models: models)
                try await Task.sleep(for: .seconds(2))
                for peer in mesh.peers {
                    load.avoid(peer.id)
                    // A Service stops sending new requests when the pod terminates (preStop);
                    // give in-flight client requests a moment, as the preStop sleep does.
                    try await Task.sleep(for: .milliseconds(300))
                    peer.sendSIGTERM()
                    let status = await peer.waitForExit(timeout: .seconds(60))
                    #expect(status == 0, "\(peer.id) exited with \(status.map(String.init) ?? "no exit")")
                    try await peer.restart()
                    load.avoid(nil)
                    try await Task.sleep(for: .seconds(1))
                }
                await load.stop()
                #expect(load.succeeded > 200)
                #expect(load.failed.isEmpty, "\(load.failed.count) failed: \(load.failed.prefix(5))")
            }
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncFilter(_ predicate: (Element) async throws -> Bool) async rethrows -> [Element] {
        var result: [Element] = []
        for element in self where try await predicate(element) { result.append(element) }
        return result
    }
}

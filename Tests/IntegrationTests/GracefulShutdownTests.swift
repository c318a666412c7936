import Foundation
import MeshTestSupport
import Synchronization
import Testing

extension Integration {
    @Suite struct GracefulShutdown {
        /// Counts outcomes of a load running in the background.
        final class Tally: Sendable {
            let ok = Atomic<Int>(0)
            let failures = Mutex<[String]>([])
            /// The peer clients avoid right now (being restarted).
            let restarting = Mutex<String?>(nil)
            let stop = Atomic<Bool>(false)
            func record(_ result: Result<InferResult, any Error>) {
                switch result {
                case .success(let reply) where reply.status == 200: ok.add(1, ordering: .relaxed)
                case .success(let reply): failures.withLock { $0.append("HTTP \(reply.status): \(reply.error ?? "")") }
                case .failure(let error): failures.withLock { $0.append("\(error)") }
                }
            }
        }

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
                let tally = Tally()
                let load = Task {
                    await withTaskGroup(of: Void.self) { group in
                        for worker in 0..<4 {
                            group.addTask {
                                var index = worker
                                while !tally.stop.load(ordering: .relaxed) {
                                    let excluded = tally.restarting.withLock { $0 }
                                    let candidates = mesh.peers.filter { $0.id != excluded }
                                    let peer = candidates[index % candidates.count]
                                    let result: Result<InferResult, any Error>
                                    do {
                                        result = .success(try await peer.infer(models[index % models.count], [Float(index)]))
                                    } catch {
                                        result = .failure(error)
                                    }
                                    tally.record(result)
                                    index += 1
                                    try? await Task.sleep(for: .milliseconds(10))
                                }
                            }
                        }
                    }
                }
                try await Task.sleep(for: .seconds(2))
                for peer in mesh.peers {
                    tally.restarting.withLock { $0 = peer.id }
                    // A Service stops sending new requests when the pod terminates (preStop);
                    // give in-flight client requests a moment, as the preStop sleep does.
                    try await Task.sleep(for: .milliseconds(300))
                    peer.sendSIGTERM()
                    let status = await peer.waitForExit(timeout: .seconds(60))
                    #expect(status == 0, "\(peer.id) exited with \(status.map(String.init) ?? "no exit")")
                    try await peer.restart()
                    tally.restarting.withLock { $0 = nil }
                    try await Task.sleep(for: .seconds(1))
                }
                tally.stop.store(true, ordering: .relaxed)
                await load.value
                let failures = tally.failures.withLock { $0 }
                #expect(tally.ok.load(ordering: .relaxed) > 200)
                #expect(failures.isEmpty, "\(failures.count) failed: \(failures.prefix(5))")
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

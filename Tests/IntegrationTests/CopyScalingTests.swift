import Foundation
import MeshTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite struct CopyScaling {
        /// Sends requests for `model` through `peers` in turn from `workers` concurrent loops,
        /// each pausing `pause` between requests, until `duration` passes. Returns who served each.
        static func drive(_ peers: [MeshPeerProcess], model: String, workers: Int, pause: Duration, duration: Duration) async throws -> [String] {
            let deadline = ContinuousClock.now + duration
            return try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var served: [String] = []
                        var index = worker
                        while ContinuousClock.now < deadline {
                            let result = try await peers[index % peers.count].infer(model, [1])
                            if result.status == 200 { served.append(result.servedBy ?? "?") }
                            index += 1
                            try await Task.sleep(for: pause)
                        }
                        return served
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }

        func copies(_ mesh: LocalMesh, _ model: String, loadedOnly: Bool = true) async throws -> [String] {
            try await mesh.peers.first { $0.isRunning }!.placement(of: model).filter { !loadedOnly || $0.state == "loaded" }.map(\.peer)
        }

        @Test func steadyLoadScalesOneCopyToThreeAndBackToOne() async throws {
            let arguments = ["--scale-up-rps", "5", "--scale-down-after", "3s", "--scale-interval", "500ms", "--gossip-interval", "500ms"]
            try await withMesh(peers: 3, arguments: arguments) { mesh in
                let path = try mesh.syntheticModel("popular", json: #"{"inferMillis": 2}"#)
                #expect(try await mesh.peers[0].register("popular", storage: path).status == 201)
                #expect(try await mesh.peers[0].infer("popular").status == 200)
                #expect(try await copies(mesh, "popular").count == 1)

                // About 60 requests per second through all three peers, for up to 20 s.
                let load = Task { try await Self.drive(mesh.peers, model: "popular", workers: 6, pause: .milliseconds(100), duration: .seconds(20)) }
                let scaledUp = try await eventually(timeout: .seconds(20)) { try await copies(mesh, "popular").count == 3 }
                load.cancel()
                _ = try? await load.value
                let during = try await copies(mesh, "popular", loadedOnly: false)
                #expect(scaledUp, "copies: \(during)")

                let status = try await mesh.peers[1].json("/v1/models/popular")
                #expect(status["lastScaling"]?["action"]?.stringValue == "add")
                #expect(status["lastScaling"]?["reason"]?.stringValue?.contains("requests/s per copy") == true)

                // Load stopped: copies go away one at a time, down to one.
                var seen: Set<Int> = []
                let scaledDown = try await eventually(timeout: .seconds(40)) {
                    let count = try await copies(mesh, "popular", loadedOnly: false).count
                    seen.insert(count)
                    return count == 1
                }
                #expect(scaledDown)
                #expect(seen.contains(2) || seen.contains(1))
                let after = try await mesh.peers[2].json("/v1/models/popular")
                #expect(after["lastScaling"]?["action"]?.stringValue == "remove")
                #expect(after["lastScaling"]?["reason"]?.stringValue?.hasPrefix("idle for") == true)
                // It still serves.
                #expect(try await mesh.peers[2].infer("popular").status == 200)
            }
        }

        @Test func aModelWithMinCopiesIsPlacedAndRestoredWithoutRequests() async throws {
            try await withMesh(peers: 3, arguments: ["--lease-ttl", "3s", "--scale-interval", "500ms"]) { mesh in
                let path = try mesh.syntheticModel("pinned")
                #expect(try await mesh.peers[0].register("pinned", storage: path, extra: #", "minCopies": 2"#).status == 201)
                let placed = try await eventually(timeout: .seconds(20)) { try await copies(mesh, "pinned").count == 2 }
                #expect(placed)
                #expect(try mesh.etcdctlGet("/pinned/", keysOnly: true).contains("/pinned/pinned"))

                let holders = try await copies(mesh, "pinned")
                let victim = try #require(mesh.peers.first { $0.id == holders[0] })
                await victim.kill9()
                let restored = try await eventually(timeout: .seconds(30)) {
                    let now = try await copies(mesh, "pinned")
                    return now.count == 2 && !now.contains(victim.id)
                }
                let final = try await copies(mesh, "pinned", loadedOnly: false)
                #expect(restored, "copies: \(final)")
            }
        }

        @Test func aSlowPeerReceivesLessOfAModelsTraffic() async throws {
            // mesh-3 holds nothing (the model needs the label "serve") and forwards everything.
            let serving = ["--labels", "serve"]
            try await withMesh(peers: 4, arguments: ["--gossip-interval", "500ms"], perPeer: [0: serving, 1: serving, 2: serving]) { mesh in
                let path = try mesh.syntheticModel("balanced", json: #"{"inferMillis": 5}"#)
                let registered = try await mesh.peers[3].register("balanced", storage: path, extra: #", "minCopies": 3, "maxCopies": 3, "labels": ["serve"]"#)
                #expect(registered.status == 201)
                #expect(try await eventually(timeout: .seconds(20)) { try await copies(mesh, "balanced").count == 3 })

                // mesh-2 runs 10 ms in every 100: a peer starved of CPU.
                let slow = try #require(mesh.peers[2].pid)
                let starve = Task {
                    while !Task.isCancelled {
                        kill(slow, SIGSTOP)
                        try? await Task.sleep(for: .milliseconds(90))
                        kill(slow, SIGCONT)
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                    kill(slow, SIGCONT)
                }
                let served = try await Self.drive([mesh.peers[3]], model: "balanced", workers: 8, pause: .milliseconds(5), duration: .seconds(6))
                starve.cancel()
                _ = await starve.value
                kill(slow, SIGCONT)
                let counts = Dictionary(grouping: served, by: { $0 }).mapValues(\.count)
                let slowShare = counts["mesh-2"] ?? 0
                let others = [counts["mesh-0"] ?? 0, counts["mesh-1"] ?? 0]
                #expect(served.count > 100)
                #expect(others.allSatisfy { $0 > 2 * slowShare }, "served: \(counts)")
            }
        }
    }
}

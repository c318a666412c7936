import Foundation
import MeshTestSupport
import OpenInference
import Testing

extension Integration {
    @Suite struct PeerServing {
        @Test func aModelRegisteredThroughOnePeerIsServedByEvery() async throws {
            try await withMesh(peers: 3) { mesh in
                let path = try mesh.syntheticModel("classifier", json: #"{"loadMillis": 100, "scale": 2}"#)
                let registered = try await mesh.peers[0].register("classifier", storage: path)
                #expect(registered.status == 201)

                var invocations: [Int64] = []
                for round in 0..<3 {
                    for peer in mesh.peers {
                        let values: [Float] = [Float(round), 1, 2]
                        let result = try await peer.infer("classifier", values)
                        try #require(result.status == 200, "\(result.error ?? "")")
                        #expect(result.output == expectedOutput("classifier", values, scale: 2))
                        invocations.append(result.invocations ?? -1)
                        // The peer that ran it holds a copy.
                        let holders = try await peer.placement(of: "classifier").map(\.peer)
                        #expect(holders.contains(result.servedBy ?? "?"))
                    }
                }
                // One copy served every request, each exactly once.
                #expect(invocations == Array(1...9))
                #expect(try await mesh.peers[1].placement(of: "classifier").count == 1)
            }
        }

        @Test func aBurstOfFirstRequestsLoadsTheModelExactlyOnce() async throws {
            try await withMesh(peers: 3) { mesh in
                let path = try mesh.syntheticModel("burst", json: #"{"loadMillis": 500}"#)
                #expect(try await mesh.peers[0].register("burst", storage: path).status == 201)
                let results = try await withThrowingTaskGroup(of: InferResult.self) { group in
                    for index in 0..<50 {
                        let peer = mesh.peers[index % 3]
                        group.addTask { try await peer.infer("burst", [Float(index)]) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.allSatisfy { $0.status == 200 }, "\(results.compactMap(\.error))")
                #expect(Set(results.compactMap(\.servedBy)).count == 1)
                #expect(Set(results.compactMap(\.invocations)) == Set(1...50))
                var loads = 0.0
                for peer in mesh.peers { loads += try await peer.metric("modelmesh_loadmodel_total") }
                #expect(loads == 1)
                let copies = try mesh.etcdctlGet("/copies/burst/", keysOnly: true).split(separator: "\n").filter { !$0.isEmpty }
                #expect(copies.count == 1)
            }
        }

        @Test func theLeastRecentlyUsedModelIsEvictedToMakeRoom() async throws {
            // Room for two 40 MiB models; no churn guard so the test needs no waiting. The LRU
            // policy: under the default cost-aware one the victim also depends on measured load
            // times, which differ by milliseconds on a busy machine (LocalCacheTests test it).
            try await withMesh(peers: 1, arguments: ["--capacity", "100Mi", "--min-churn-age", "0s", "--eviction-policy", "lru"]) { mesh in
                let peer = mesh.peers[0]
                for name in ["first", "second", "third"] {
                    let path = try mesh.syntheticModel(name, json: #"{"sizeBytes": 41943040}"#)
                    #expect(try await peer.register(name, storage: path, extra: #", "sizeHintBytes": 41943040"#).status == 201)
                }
                #expect(try await peer.infer("first").status == 200)
                #expect(try await peer.infer("second").status == 200)
                // Use "first" again: "second" is now the least recently used.
                #expect(try await peer.infer("first").status == 200)
                #expect(try await peer.infer("third").status == 200)

                let keys = try await eventually {
                    let text = try mesh.etcdctlGet("/copies/", keysOnly: true)
                    return text.contains("/copies/first/mesh-0") && text.contains("/copies/third/mesh-0") && !text.contains("/copies/second/")
                }
                let shown = try mesh.etcdctlGet("/copies/", keysOnly: true)
                #expect(keys, "etcdctl shows: \(shown)")
                #expect(try await peer.metric("modelmesh_model_evicted") == 1)
                // The evicted model loads again on demand, evicting the next least recently used.
                #expect(try await peer.infer("second").status == 200)
            }
        }

        @Test func aModelThatFitsNowhereGetsAClearError() async throws {
            try await withMesh(peers: 2, arguments: ["--capacity", "10Mi"]) { mesh in
                let path = try mesh.syntheticModel("huge", json: #"{"sizeBytes": 104857600}"#)
                #expect(try await mesh.peers[0].register("huge", storage: path, extra: #", "sizeHintBytes": 104857600"#).status == 201)
                let result = try await mesh.peers[1].infer("huge")
                #expect(result.status == 503)
                #expect(result.error == "huge needs 100.0 MiB but the largest peer holds 10.0 MiB; it fits nowhere")
            }
        }

        @Test func killingTheOnlyHolderReloadsElsewhereBeforeItsLeaseExpires() async throws {
            try await withMesh(peers: 3, arguments: ["--lease-ttl", "30s"]) { mesh in
                let path = try mesh.syntheticModel("survivor", json: #"{"loadMillis": 50}"#)
                #expect(try await mesh.peers[0].register("survivor", storage: path).status == 201)
                let first = try await mesh.peers[0].infer("survivor")
                let holderID = try #require(first.servedBy)
                let holder = try #require(mesh.peers.first { $0.id == holderID })
                let other = try #require(mesh.peers.first { $0.id != holderID })

                await holder.kill9()
                let after = try await other.infer("survivor", [5])
                #expect(after.status == 200, "\(after.error ?? "")")
                #expect(after.output == expectedOutput("survivor", [5]))
                #expect(after.servedBy != holderID)
                // The dead peer's lease (30 s) has not expired yet: recovery did not wait for it.
                #expect(try mesh.etcdctlGet("/peers/", keysOnly: true).contains("/peers/\(holderID)"))
            }
        }

        @Test func aModelWhoseLoadFailsGetsAClearErrorAndOthersKeepServing() async throws {
            try await withMesh(peers: 3) { mesh in
                let broken = try mesh.syntheticModel("broken", json: #"{"failLoad": true, "failMessage": "weights file is truncated"}"#)
                let healthy = try mesh.syntheticModel("healthy")
                #expect(try await mesh.peers[0].register("broken", storage: broken).status == 201)
                #expect(try await mesh.peers[0].register("healthy", storage: healthy).status == 201)

                let first = try await mesh.peers[1].infer("broken")
                #expect(first.status == 503)
                #expect(first.error?.contains("weights file is truncated") == true, "\(first.error ?? "")")
                // Every peer tried once; the next request fails fast with the recorded error.
                let recorded = try await eventually {
                    try await mesh.peers[2].json("/v1/models/broken")["failures"]?.arrayValue?.count == 3
                }
                #expect(recorded)
                let again = try await mesh.peers[2].infer("broken")
                #expect(again.status == 503)
                #expect(again.error?.hasPrefix("broken failed to load on 3 peers recently: ") == true, "\(again.error ?? "")")
                #expect(again.error?.contains("weights file is truncated") == true)

                let status = try await mesh.peers[0].json("/v1/models/broken")
                #expect(status["status"]?.stringValue == "LOADING_FAILED")
                #expect(status["failures"]?.arrayValue?.count == 3)

                for peer in mesh.peers {
                    #expect(try await peer.infer("healthy").status == 200)
                }
            }
        }

        @Test func aFailureRecordExpiresAndTheModelLoadsAgain() async throws {
            try await withMesh(peers: 1, arguments: ["--failure-expiry", "2s", "--max-load-failures", "1"]) { mesh in
                let path = try mesh.syntheticModel("flaky", json: #"{"failLoad": true, "failMessage": "disk full"}"#)
                #expect(try await mesh.peers[0].register("flaky", storage: path).status == 201)
                #expect(try await mesh.peers[0].infer("flaky").error?.contains("disk full") == true)
                // Fix the model's file; once the failure record expires, the model loads.
                _ = try mesh.syntheticModel("flaky", json: "{}")
                let recovered = try await eventually(timeout: .seconds(20)) {
                    try await mesh.peers[0].infer("flaky").status == 200
                }
                #expect(recovered)
            }
        }
    }
}

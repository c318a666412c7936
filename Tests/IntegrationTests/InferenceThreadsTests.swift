import Foundation
import MeshTestSupport
import Testing

extension Integration {
    /// Built-in models compute on the peer's inference threads (the busy holder's side is in
    /// ``FrozenPeer``): a computation that waits for a thread past its request's deadline is not
    /// run, and the client hears why.
    @Suite struct InferenceThreads {
        @Test func aRequestWhoseDeadlinePassesWhileItsComputationWaitsGetsA504AndNothingRuns() async throws {
            try await withMesh(peers: 1, arguments: ["--inference-threads", "1"]) { mesh in
                let peer = mesh.peers[0]
                let file = try mesh.syntheticModel("computes-file", json: #"{"computeMillis": 800}"#)
                #expect(try await peer.register("computes", storage: file).status == 201)
                #expect(try await peer.infer("computes").status == 200)
                let threads = #"ran="threads""#
                #expect(try await peer.metric("modelmesh_inference_computations_total", labels: threads) == 1)
                // One request takes the only thread for 800 ms; one with 200 ms to live waits behind it.
                let first = Task { try await peer.infer("computes") }
                #expect(try await eventually(timeout: .seconds(10)) {
                    try await peer.metric("modelmesh_inference_computations_total", labels: threads) == 2
                })
                let late = try await peer.infer("computes", headers: [("mm-timeout-ms", "200")])
                #expect(late.status == 504)
                #expect(late.error?.contains("waited") == true && late.error?.contains("--inference-threads") == true, "\(late.error ?? "")")
                #expect(try await first.value.status == 200)
                #expect(try await peer.metric("modelmesh_inference_expired_total") == 1)
                #expect(try await peer.metric("modelmesh_inference_computations_total", labels: threads) == 2)
                // With time to wait, the same request is served.
                #expect(try await peer.infer("computes", headers: [("mm-timeout-ms", "5000")]).status == 200)
                #expect(try await peer.metric("modelmesh_inference_threads_pending") == 0)
            }
        }
    }
}

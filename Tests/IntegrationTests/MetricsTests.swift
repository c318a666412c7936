import MeshTestSupport
import Testing

extension Integration {
    @Suite struct Metrics {
        @Test func prometheusTextShowsRequestsLoadsAndMemoryByModelAndHandling() async throws {
            try await withMesh(peers: 2) { mesh in
                let path = try mesh.syntheticModel("measured", json: #"{"sizeBytes": 2097152}"#)
                #expect(try await mesh.peers[0].register("measured", storage: path).status == 201)
                let first = try await mesh.peers[0].infer("measured")
                let holder = try #require(mesh.peers.first { $0.id == first.servedBy })
                let other = try #require(mesh.peers.first { $0.id != first.servedBy })
                for _ in 0..<3 {
                    #expect(try await holder.infer("measured").status == 200)
                    #expect(try await other.infer("measured").status == 200)
                }
                let holderText = try await TestHTTP.get(holder.url + "/metrics").text
                let otherText = try await TestHTTP.get(other.url + "/metrics").text
                #expect(holderText.contains(#"modelmesh_api_request_milliseconds_count{method="infer",handling="local",code="200",modelId="measured"}"#), "\(holderText)")
                #expect(otherText.contains(#"modelmesh_api_request_milliseconds_count{method="infer",handling="forwarded",code="200",modelId="measured"}"#), "\(otherText)")
                #expect(otherText.contains(#"modelmesh_forwarded_requests_total{hop="hit-only",outcome="served"}"#))
                #expect(try await holder.metric("modelmesh_loadmodel_total") == 1)
                #expect(try await holder.metric("modelmesh_instance_used_bytes") == 2_097_152)
                #expect(try await holder.metric("modelmesh_instance_capacity_bytes") == 1_073_741_824)
                #expect(try await holder.metric("modelmesh_instance_models_total") == 1)
                #expect(holderText.contains("modelmesh_invoke_model_milliseconds_bucket"))
                #expect(holderText.contains("# TYPE modelmesh_api_request_milliseconds histogram"))
            }
        }
    }
}

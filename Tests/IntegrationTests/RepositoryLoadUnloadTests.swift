import MeshTestSupport
import Testing

extension Integration {
    /// Repository load and unload of one model, sent at the same time, are well ordered: a load
    /// that meets an unload loads again rather than answering 503, and a load after an unload
    /// always finds the model loaded.
    @Suite struct RepositoryLoadUnload {
        @Test func aLoadDuringAnUnloadLoadsAgain() async throws {
            try await withMesh(peers: 2) { mesh in
                let file = try mesh.syntheticModel("racing", json: #"{"loadMillis": 20}"#)
                #expect(try await mesh.peers[0].register("racing", storage: file).status == 201)
                let load = mesh.peers[0].url + "/v2/repository/models/racing/load"
                let unload = mesh.peers[1].url + "/v2/repository/models/racing/unload"
                for round in 0..<15 {
                    #expect(try await TestHTTP.post(load, json: "{}").status == 200, "round \(round): first load")
                    async let unloaded = TestHTTP.post(unload, json: "{}")
                    async let loaded = TestHTTP.post(load, json: "{}")
                    let (unloadReply, loadReply) = try await (unloaded, loaded)
                    #expect(unloadReply.status == 200, "round \(round): unload \(unloadReply.status) \(unloadReply.text)")
                    #expect(loadReply.status == 200, "round \(round): load during unload \(loadReply.status) \(loadReply.text)")
                    // Whatever the order, a load that follows serves the model.
                    #expect(try await TestHTTP.post(load, json: "{}").status == 200, "round \(round): load after")
                    #expect(try await mesh.peers[1].infer("racing").status == 200, "round \(round): infer after")
                }
            }
        }
    }
}

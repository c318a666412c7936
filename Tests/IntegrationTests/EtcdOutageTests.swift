import EtcdGateway
import Foundation
import MeshTestSupport
import Testing

extension Integration {
    @Suite struct EtcdOutages {
        @Test func losingOneEtcdMemberOfThreeIsInvisibleToClients() async throws {
            try await withMesh(peers: 3, etcdMembers: 3) { mesh in
                let models = (0..<6).map { "steady-\($0)" }
                for model in models {
                    #expect(try await mesh.peers[0].register(model, storage: try mesh.syntheticModel(model)).status == 201)
                }
                let load = BackgroundLoad.start(mesh.peers, models: models)
                try await Task.sleep(for: .seconds(1))
                // Every peer lists this member first, so it is the one they all talk to.
                await mesh.etcdMembers[0].kill9()
                try await Task.sleep(for: .seconds(2))
                // Registration and new loads keep working on the remaining quorum.
                let late = try await mesh.peers[1].register("late", storage: try mesh.syntheticModel("late"))
                #expect(late.status == 201, "\(late.text)")
                #expect(try await mesh.peers[2].infer("late").status == 200)
                try await mesh.etcdMembers[0].restart()
                try await Task.sleep(for: .seconds(1))
                await load.stop()
                #expect(load.succeeded > 100)
                #expect(load.failed.isEmpty, "\(load.failed.count) failed: \(load.failed.prefix(5))")
            }
        }

        @Test func withEtcdDownLoadedModelsKeepServingAndEverythingComesBack() async throws {
            try await withMesh(peers: 3, arguments: ["--lease-ttl", "3s"]) { mesh in
                let models = (0..<6).map { "kept-\($0)" }
                for model in models {
                    #expect(try await mesh.peers[0].register(model, storage: try mesh.syntheticModel(model)).status == 201)
                    // Warm every peer: the model is loaded somewhere and its record cached everywhere.
                    for peer in mesh.peers { #expect(try await peer.infer(model).status == 200) }
                }
                let copiesBefore = try mesh.etcdctlGet("/copies/", keysOnly: true).split(separator: "\n").filter { !$0.isEmpty }.sorted()
                #expect(copiesBefore.count == models.count)

                await mesh.etcd.kill9()
                // Longer than the lease TTL.
                let outageEnds = ContinuousClock.now + .seconds(6)
                var served = 0
                while ContinuousClock.now < outageEnds {
                    for (index, model) in models.enumerated() {
                        let result = try await mesh.peers[index % 3].infer(model, [Float(index)])
                        #expect(result.status == 200, "\(model) through \(mesh.peers[index % 3].id) during the outage: \(result.error ?? "")")
                        served += 1
                    }
                }
                #expect(served > 20)
                // Registration fails fast with a clear 503; an uncached model is 503, not 404.
                let started = ContinuousClock.now
                let refused = try await mesh.peers[1].register("during-outage", storage: try mesh.syntheticModel("during-outage"))
                #expect(refused.status == 503)
                #expect(refused.text.contains("etcd"), "\(refused.text)")
                #expect(ContinuousClock.now - started < .seconds(10))
                #expect(try await mesh.peers[2].infer("never-seen").status == 503)

                try await mesh.etcd.restart()
                // Peers re-register and their copy records are back (the busy outage traffic may
                // also have earned some models a second copy).
                let recovered = try await eventually(timeout: .seconds(30)) {
                    let keys = try mesh.etcdctlGet("/", keysOnly: true)
                    let copies = Set(keys.split(separator: "\n").filter { $0.contains("/copies/") })
                    return mesh.peers.allSatisfy { keys.contains("/peers/\($0.id)") } && copies.isSuperset(of: copiesBefore)
                }
                let keys = try mesh.etcdctlGet("/", keysOnly: true)
                #expect(recovered, "\(keys)")
                #expect(try await mesh.peers[1].register("after-outage", storage: try mesh.syntheticModel("after-outage")).status == 201)
                #expect(try await mesh.peers[0].infer("after-outage").status == 200)
                for model in models {
                    #expect(try await mesh.peers[1].infer(model).status == 200)
                }
                #expect(try mesh.etcdctlGet("/models/", keysOnly: true).split(separator: "\n").filter { !$0.isEmpty }.count == models.count + 1)
            }
        }
    }
}

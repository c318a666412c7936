import MeshBench
import MeshTestSupport
import Testing

extension Integration {
    /// Real peers whose models do not fit: every request for a model that fits a peer is served
    /// (slower, perhaps), never refused, and a burst for a new model shares one load.
    @Suite struct MemoryPressure {
        @Test func modelsThatOutnumberMemoryAreServedWithoutA503() async throws {
            var options = ChurnBench.Options()
            options.capacityBytes = 24 << 20      // 3 of the 8 MiB models per peer, 9 in the mesh
            options.models = 40
            options.clients = 12
            options.seconds = 8
            options.burst = 20
            options.skews = [1.1]
            let results = try await ChurnBench.run(options) { print($0) }
            let run = try #require(results.runs.first)
            #expect(run.load.requests > 50)
            #expect(run.load.errors.isEmpty, "\(run.load.errors)")
            // The pressure was real: models used within the churn guard were evicted to serve others.
            #expect(run.recentEvictions > 0)
            #expect(run.meshLoads > Double(options.pooledModels))
            #expect(run.burst.errors.isEmpty, "\(run.burst.errors)")
            #expect(run.burst.requests == 20)
            #expect(run.burstLoads == 1)
        }
    }
}

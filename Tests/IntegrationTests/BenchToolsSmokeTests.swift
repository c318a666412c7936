import Foundation
import LoadGenerator
import MeshBench
import MeshTestSupport
import Testing

extension Integration {
    /// The benchmark tools against real peers, for seconds: the pieces work (the numbers of a
    /// debug build on a busy machine mean nothing).
    @Suite struct BenchToolsSmoke {
        @Test func loadGeneratorDrivesOnePeerInBothLoops() async throws {
            try await withMesh(peers: 1) { mesh in
                let peer = mesh.peers[0]
                let reply = try await peer.register("smoke", storage: try mesh.syntheticModel("smoke"))
                #expect(reply.status == 201)
                let client = LoadRunner.makeClient(connections: 4)

                let closed = try LoadRunner(options: LoadOptions(
                    targets: [peer.url], models: ["smoke"], mode: .closedLoop(concurrency: 2), duration: .seconds(1),
                    warmup: .milliseconds(200), trackHeader: "mm-served-by"
                ), client: client)
                let closedReport = await closed.run()
                #expect(closedReport.requests > 10)
                #expect(closedReport.errors == 0, "\(closedReport.errorSamples)")
                #expect(closedReport.latency.p50 > 0 && closedReport.latency.p50 <= closedReport.latency.max)
                #expect(closedReport.firstSeen.keys.sorted() == [peer.id])

                let open = try LoadRunner(options: LoadOptions(
                    targets: [peer.url], models: ["smoke"], mode: .openLoop(requestsPerSecond: 50), duration: .seconds(1)
                ), client: client)
                let openReport = await open.run()
                #expect(openReport.requests == 50)
                #expect(openReport.errors == 0, "\(openReport.errorSamples)")

                // An unknown model counts as an error, not a latency.
                let failing = try LoadRunner(options: LoadOptions(
                    targets: [peer.url], models: ["nobody"], mode: .closedLoop(concurrency: 1), duration: nil, maxRequests: 3
                ), client: client)
                let failingReport = await failing.run()
                #expect(failingReport.requests == 3)
                #expect(failingReport.errors == 3)
                #expect(failingReport.errorSamples.keys.contains { $0.hasPrefix("HTTP 404") })
                try await client.shutdown()
            }
        }

        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx"), "needs Debian's nginx (nginx-light)"))
        func latencyBenchRunsEveryPathInQuickMode() async throws {
            let results = try await LatencyBench.run(.quick) { _ in }
            #expect(results.latency.map(\.name) == ["direct", "local", "forwarded", "nginx"])
            for variant in results.latency {
                #expect(variant.measurement.requests > 0, "\(variant.name)")
                #expect(variant.measurement.errorCount == 0, "\(variant.name): \(variant.measurement.errors)")
            }
            #expect(results.cold.count == 2)
            #expect(results.cold.allSatisfy { $0.report.errors == 0 && $0.report.requests == 2 })
            // Every cold request waited for the model's own load.
            #expect(results.cold.allSatisfy { $0.report.latency.p50 >= 20_000 })
            #expect(results.markdown.contains("| forwarded |"))
        }
    }
}

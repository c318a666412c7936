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

                // The same over gRPC: one HTTP/2 connection, the peer id in the initial metadata.
                let grpc = "grpc://127.0.0.1:\(peer.grpcPort)"
                let overGRPC = try LoadRunner(options: LoadOptions(
                    targets: [grpc], models: ["smoke"], mode: .closedLoop(concurrency: 4), duration: .seconds(1),
                    warmup: .milliseconds(200), trackHeader: "mm-served-by"
                ), client: client)
                let grpcReport = await overGRPC.run()
                #expect(grpcReport.requests > 10)
                #expect(grpcReport.errors == 0, "\(grpcReport.errorSamples)")
                #expect(grpcReport.firstSeen.keys.sorted() == [peer.id])
                let grpcFailing = await (try LoadRunner(options: LoadOptions(
                    targets: [grpc], models: ["nobody"], mode: .closedLoop(concurrency: 1), duration: nil, maxRequests: 2
                ), client: client)).run()
                #expect(grpcFailing.errors == 2)
                #expect(grpcFailing.errorSamples.keys.contains { $0.contains("model nobody is not registered") }, "\(grpcFailing.errorSamples)")
                try await client.shutdown()
            }
        }

        @Test func latencyBenchRunsEveryPathInQuickMode() async throws {
            let results = try await LatencyBench.run(.quick) { _ in }
            #expect(results.latency.map(\.name) == ["direct", "local", "forwarded", "nginx", "nio-relay", "tcp-relay", "grpc-direct", "grpc-local", "grpc-forwarded",
                                                       "nginx-grpc", "tls-local", "tls-forwarded", "traced-local", "traced-forwarded",
                                                       "mlserver-direct", "mlserver-local", "mlserver-nginx", "mlserver-nio-relay"])
            for variant in results.latency {
                #expect(variant.measurement.requests > 0, "\(variant.name)")
                #expect(variant.measurement.errorCount == 0, "\(variant.name): \(variant.measurement.errors)")
            }
            #expect(results.cold.count == 2)
            #expect(results.cold.allSatisfy { $0.report.errors == 0 && $0.report.requests == 2 })
            // Every cold request waited for the model's own load.
            #expect(results.cold.allSatisfy { $0.report.latency.p50 >= 20_000 })
            #expect(results.markdown.contains("| forwarded |"))
            #expect(results.markdown.contains("one mesh hop over gRPC"))
            #expect(results.markdown.contains("one mesh hop over mutual TLS"))
            #expect(results.markdown.contains("Mutual-TLS hop / plaintext hop at p50"))
            #expect(results.markdown.contains("Tracing every request"))
            #expect(results.busyPeer.map(\.name) == ["inference threads", "on the event loops"])
            for row in results.busyPeer {
                #expect(row.small.requests > 0 && row.small.errorCount == 0, "\(row.name): \(row.small.errors)")
                #expect(row.computing.requests > 0 && row.computing.errorCount == 0, "\(row.name): \(row.computing.errors)")
            }
            #expect(results.markdown.contains("### A peer busy computing"))
            #expect(results.markdown.contains("mesh in front of MLServer (mlserver-local − mlserver-direct)"))
            #expect(results.markdown.contains("nginx in front of MLServer (mlserver-nginx − mlserver-direct)"))
            #expect(results.markdown.contains("REST, in front of MLServer"))
            // The bare SwiftNIO relays (HTTP and TCP, and in front of MLServer) answered every request above.
            #expect(results.markdown.contains("one bare SwiftNIO HTTP/1.1 relay hop (nio-relay − local)"))
            #expect(results.markdown.contains("one bare SwiftNIO TCP splice (tcp-relay − local)"))
            #expect(results.markdown.contains("bare SwiftNIO relay in front of MLServer"))
            #expect(results.markdown.contains("Mesh hop / bare SwiftNIO relay hop"))
            #expect(results.latency.first { $0.name == "mlserver-local" }?.hopCPUPerRequest ?? 0 > 0)
            #expect(results.markdown.contains("one nginx hop over gRPC"))
            #expect(results.markdown.contains("CPU per forwarded request"))
            #expect(results.latency.first { $0.name == "forwarded" }?.hopCPUPerRequest ?? 0 > 0)
            #expect(results.markdown.contains("mesh on a gRPC local hit (grpc-local − grpc-direct)"))
            #expect(results.markdown.contains("gRPC local hit / REST local hit at p50"))
            #expect(results.markdown.contains("the direct servers, gRPC / REST"))
            #expect(results.throughput.map(\.name) == ["peer, local hit", "peer, local hit, gRPC", "direct server", "direct server, gRPC"])
            #expect(results.throughput.allSatisfy { ($0.report?.errors ?? 1) == 0 && ($0.report?.requests ?? 0) > 0 })
            #expect(results.markdown.contains("against the direct gRPC server"))
        }
    }
}

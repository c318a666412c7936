import AsyncHTTPClient
import LoadGenerator
import MeshTestSupport

/// A small model's latency on a peer whose CPUs a model that computes for long keeps busy: with
/// the computation on the peer's inference threads (the default) and on the requests' event
/// loops (`--inference-threads 0`), two one-peer meshes measured in alternating rounds.
public enum BusyPeerBench {
    public struct Row: Sendable {
        public var name: String
        public var arguments: [String]
        /// The small model's requests, one at a time.
        public var small = LoadMeasurement()
        /// The computing model's requests, several at once, in the same rounds.
        public var computing = LoadMeasurement()
    }

    /// Requests of the computing model in flight beside the small model's one.
    public static let computingConcurrency = 4
    public static let computeMillis = 20

    static func run(_ options: LatencyBench.Options, client: HTTPClient, log: @escaping @Sendable (String) -> Void) async throws -> [Row] {
        var rows = [Row(name: "inference threads", arguments: []), Row(name: "on the event loops", arguments: ["--inference-threads", "0"])]
        var meshes: [LocalMesh] = []
        do {
            for row in rows {
                let mesh = try await LocalMesh.start(peers: 1, arguments: row.arguments)
                meshes.append(mesh)
                let peer = mesh.peers[0].url
                try await BenchModels.register("small", file: try mesh.syntheticModel("small", json: "{}"), through: peer)
                try await BenchModels.register("computing", file: try mesh.syntheticModel("computing", json: #"{"computeMillis": \#(computeMillis)}"#),
                                               through: peer)
                try await BenchModels.infer("small", at: peer)
                try await BenchModels.infer("computing", at: peer)
            }
            for round in 0..<options.rounds {
                for index in rows.indices {
                    let peer = meshes[index].peers[0].url
                    let measured = LatencyBench.seconds(options.roundSeconds), warmup = Duration.milliseconds(300)
                    let small = try LoadRunner(options: LoadOptions(
                        targets: [peer], models: ["small"], mode: .closedLoop(concurrency: 1), duration: measured, warmup: warmup,
                        tensorElements: options.elements
                    ), client: client)
                    // The computing load starts first and outlasts the small model's.
                    let computing = try LoadRunner(options: LoadOptions(
                        targets: [peer], models: ["computing"], mode: .closedLoop(concurrency: computingConcurrency),
                        duration: measured + warmup + .milliseconds(200), warmup: .zero, tensorElements: options.elements
                    ), client: client)
                    async let computed = computing.measure()
                    try await Task.sleep(for: .milliseconds(100))
                    rows[index].small.merge(await small.measure())
                    rows[index].computing.merge(await computed)
                }
                log("busy peer round \(round + 1)/\(options.rounds) done")
            }
        } catch {
            for mesh in meshes { await mesh.destroy() }
            throw error
        }
        for mesh in meshes { await mesh.destroy() }
        for row in rows {
            let s = row.small.recorder.summary
            log("busy peer, \(row.name): small model p50 \(s.p50) µs, p99 \(s.p99) µs; computing model \(row.computing.requests) requests")
        }
        return rows
    }
}

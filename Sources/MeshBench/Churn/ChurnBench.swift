import AsyncHTTPClient
import Foundation
import LoadGenerator
import MeshTestSupport

/// tools/bench-churn: a mesh whose models do not fit in its memory. Three peers with room for
/// 33 of 200 models, 32 closed-loop clients choosing models by Zipf rank through one peer; then
/// a burst of concurrent requests for a model nobody has used. Each skew runs on a fresh mesh.
public enum ChurnBench {
    public struct Options: Sendable {
        public var peers = 3
        public var capacityBytes: Int64 = 88 << 20
        public var models = 200
        public var modelBytes: Int64 = 8 << 20
        public var loadMillis = 50
        public var clients = 32
        public var seconds = 60.0
        public var burst = 50
        /// Zipf exponents, one run each (0 is uniform).
        public var skews: [Double] = [1.1, 0.8, 0]
        public var seed: UInt64 = 1
        /// Flags added to every peer (e.g. `--eviction-policy lru`).
        public var peerArguments: [String] = []
        public var requestTimeout: Duration = .seconds(60)

        public init() {}

        /// How many models the peers' memory holds together.
        public var pooledModels: Int { Int(Int64(peers) * capacityBytes / max(1, modelBytes)) }
    }

    public struct Run: Sendable {
        public var exponent: Double
        public var load: LoadMeasurement
        public var burst: LoadMeasurement
        /// Loads the mesh made during the measured run (every peer, scaling included).
        public var meshLoads: Double
        /// Loads of the burst's model, every peer.
        public var burstLoads: Double
        public var evictions: Double
        public var recentEvictions: Double
        /// The same requests through one LRU cache as large as all the peers' memory.
        public var pooled: PooledLRU

        public var meshLoadsPerRequest: Double { load.requests == 0 ? 0 : meshLoads / Double(load.requests) }
        public var refused: Int { load.errors.filter { $0.key.hasPrefix("HTTP 503") }.values.reduce(0, +) }
    }

    public struct Results: Sendable {
        public var options: Options
        public var runs: [Run] = []
        public var loadAverageBefore = ""
        public var loadAverageAfter = ""
    }

    public static func run(_ options: Options, log: @escaping @Sendable (String) -> Void) async throws -> Results {
        var results = Results(options: options)
        results.loadAverageBefore = ProcessStats.loadAverage
        let client = LoadRunner.makeClient(connections: options.clients + options.burst)
        do {
            for exponent in options.skews {
                let run = try await runOne(exponent: exponent, options: options, client: client, log: log)
                results.runs.append(run)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        results.loadAverageAfter = ProcessStats.loadAverage
        return results
    }

    static func runOne(exponent: Double, options: Options, client: HTTPClient, log: @escaping @Sendable (String) -> Void) async throws -> Run {
        let mesh = try await LocalMesh.start(peers: options.peers, arguments: ["--capacity", String(options.capacityBytes)] + options.peerArguments)
        do {
            let entry = mesh.peers[0]
            let file = try mesh.syntheticModel("churn", json: #"{"loadMillis": \#(options.loadMillis), "sizeBytes": \#(options.modelBytes)}"#)
            let models = (0..<options.models).map { "churn-\($0)" }
            for model in models + ["burst"] { try await BenchModels.register(model, file: file, sizeHintBytes: options.modelBytes, through: entry.url) }
            let clients = ChurnClients(client: client, entry: entry.url, models: models,
                                       sampler: ZipfSampler(count: models.count, exponent: exponent), timeout: options.requestTimeout)

            let before = try await totals(mesh)
            let load = await clients.run(clients: options.clients, duration: .milliseconds(Int64(options.seconds * 1000)), seed: options.seed)
            let after = try await totals(mesh)
            let burst = await clients.burst("burst", count: options.burst)
            var burstLoads = 0.0
            for peer in mesh.peers { burstLoads += try await peer.metric("modelmesh_loadmodel_milliseconds_count", labels: #"modelId="burst""#) }

            let run = Run(exponent: exponent, load: load.measurement, burst: burst, meshLoads: after.loads - before.loads, burstLoads: burstLoads,
                          evictions: after.evictions - before.evictions, recentEvictions: after.recent - before.recent,
                          pooled: PooledLRU.replay(load.trace, capacity: options.pooledModels))
            log(run.summary)
            await mesh.destroy()
            return run
        } catch {
            log(mesh.logs())
            await mesh.destroy()
            throw error
        }
    }

    static func totals(_ mesh: LocalMesh) async throws -> (loads: Double, evictions: Double, recent: Double) {
        var sums = (loads: 0.0, evictions: 0.0, recent: 0.0)
        for peer in mesh.peers {
            let text = try await TestHTTP.get(peer.url + "/metrics").text
            sums.loads += MeshPeerProcess.sum(of: "modelmesh_loadmodel_total", in: text)
            sums.evictions += MeshPeerProcess.sum(of: "modelmesh_model_evicted", in: text)
            sums.recent += MeshPeerProcess.sum(of: "modelmesh_model_evicted_recently_used_total", in: text)
        }
        return sums
    }
}

extension ChurnBench.Run {
    /// How a skew is named in the report.
    public var skewName: String { exponent == 0 ? "uniform" : "Zipf \(Figures.ratio(exponent))" }

    public var summary: String {
        let latency = load.recorder.summary
        return "\(skewName): \(load.requests) requests, \(load.errorCount) errors (\(refused) refused), "
            + "\(Figures.rate(Double(load.requests - load.errorCount) / max(load.seconds, 0.001))) req/s, "
            + "p50 \(Figures.millis(latency.p50)) ms, p99 \(Figures.millis(latency.p99)) ms; "
            + "loads/request \(String(format: "%.3f", meshLoadsPerRequest)) (pooled LRU \(String(format: "%.3f", pooled.missRatio))); "
            + "burst: \(burst.errorCount) errors, \(Int(burstLoads)) load(s)"
            + (load.errors.isEmpty ? "" : "; errors: \(load.errors.sorted { $0.value > $1.value }.prefix(3).map { "\($0.value)× \($0.key)" }.joined(separator: "; "))")
    }
}

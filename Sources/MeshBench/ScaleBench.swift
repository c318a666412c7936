import AsyncHTTPClient
import EtcdGateway
import Foundation
import LoadGenerator
import Logging
import MeshCore
import MeshTestSupport

/// tools/bench-scale: grows one registry through 1k, 100k and 1M models and, at each size,
/// starts a fresh peer and measures it.
public enum ScaleBench {
    public struct Options: Sendable {
        public var sizes = [1_000, 100_000, 1_000_000]
        public var coldSamples = 20
        public var warmSeconds = 3.0
        public var listPageSize = 10_000
        /// etcd's default quota is 2 GiB; a million records and their history fit in it, but
        /// not with much room, so the benchmark's member gets 8 GiB (etcd's suggested maximum).
        public var quotaBytes: Int64 = 8 << 30
        public var concurrency = 8
        public var putsPerTransaction = 128
        public init() {}
    }

    public struct Stage: Sendable {
        public var models = 0
        public var registered = 0
        public var registrationSeconds = 0.0
        public var etcdDatabaseBytes: Int64 = 0
        public var startToReady = 0.0
        public var startToFirstInference = 0.0
        public var residentAtReady: Int64?
        public var residentAfter: Int64?
        public var cold = LoadMeasurement()
        public var warm = LoadMeasurement()
        public var listSeconds = 0.0
        public var listed = 0
        public var listPageSize = 0
    }

    public struct Results: Sendable {
        public var options: Options
        public var stages: [Stage] = []
        public var loadAverageBefore = ""
        public var loadAverageAfter = ""
        public var etcdVersion = ""
    }

    public static func run(_ options: Options, log: @escaping @Sendable (String) -> Void) async throws -> Results {
        var results = Results(options: options)
        results.loadAverageBefore = ProcessStats.loadAverage
        results.etcdVersion = (try? runCommand("etcd", ["--version"]).split(separator: "\n").first.map(String.init)) ?? "?"
        let etcdServer = try await EtcdServer.start(extraArguments: ["--quota-backend-bytes", String(options.quotaBytes)])
        let directory = try TemporaryDirectory(prefix: "mesh-bench-scale")
        let etcd = EtcdClient(EtcdClient.Configuration(endpoints: [etcdServer.clientURL]), logger: Logger(label: "bench-etcd"))
        let client = LoadRunner.makeClient(connections: 4)
        let cluster = "scale"
        do {
            let modelFile = directory.appending("model.json")
            try Data(#"{"loadMillis": 0}"#.utf8).write(to: URL(fileURLWithPath: modelFile))
            var registrar = BulkRegistrar(etcd: etcd, layout: KeyLayout(clusterName: cluster))
            registrar.concurrency = options.concurrency
            registrar.putsPerTransaction = options.putsPerTransaction
            let record = try BulkRegistrar.recordJSON(storageURI: "file://" + modelFile)
            var registered = 0
            var used = Set<Int>()
            for size in options.sizes {
                var stage = Stage(models: size)
                let started = ContinuousClock.now
                try await registrar.register(registered..<size, record: record)
                stage.registrationSeconds = (ContinuousClock.now - started).secondsDouble
                stage.registered = size - registered
                registered = size
                stage.etcdDatabaseBytes = (try? await etcd.status().dbSize) ?? 0
                log("registered \(stage.registered) models in \(Figures.seconds(stage.registrationSeconds)) s (registry: \(size))")

                // A fresh peer: how long to ready, and to its first answer for a model it never saw.
                func fresh() -> Int {
                    var index: Int
                    repeat { index = Int.random(in: 0..<size) } while used.contains(index)
                    used.insert(index)
                    return index
                }
                let port = FreePort.next()
                let grpcPort = FreePort.next()
                let peer = MeshPeerProcess(
                    id: "scale-\(size)", httpPort: port, grpcPort: grpcPort,
                    arguments: ["--peer-id", "scale-\(size)", "--cluster", cluster, "--etcd-endpoints", etcdServer.clientURL,
                                "--listen-host", "127.0.0.1", "--advertise-host", "127.0.0.1", "--http-port", String(port),
                                "--grpc-port", String(grpcPort), "--models-root", directory.path],
                    logPath: directory.appending("peer-\(size).log"))
                let launched = ContinuousClock.now
                try peer.launch()
                try await peer.waitUntilReady(timeout: .seconds(60), pollEvery: .milliseconds(5))
                stage.startToReady = (ContinuousClock.now - launched).secondsDouble
                stage.residentAtReady = peer.pid.flatMap(ProcessStats.residentBytes(of:))
                try await BenchModels.infer(BulkRegistrar.modelID(fresh()), at: peer.url)
                stage.startToFirstInference = (ContinuousClock.now - launched).secondsDouble
                log("peer ready in \(Figures.seconds(stage.startToReady)) s, first inference at \(Figures.seconds(stage.startToFirstInference)) s")

                // Cold misses of models this peer never saw, then warm hits on one of them.
                let coldModels = (0..<options.coldSamples).map { _ in BulkRegistrar.modelID(fresh()) }
                stage.cold = await (try LoadRunner(options: LoadOptions(
                    targets: [peer.url], models: coldModels, mode: .closedLoop(concurrency: 1), duration: nil, maxRequests: coldModels.count
                ), client: client)).measure()
                stage.warm = await (try LoadRunner(options: LoadOptions(
                    targets: [peer.url], models: [coldModels[0]], mode: .closedLoop(concurrency: 1),
                    duration: .milliseconds(Int64(options.warmSeconds * 1000)), warmup: .milliseconds(300)
                ), client: client)).measure()
                stage.residentAfter = peer.pid.flatMap(ProcessStats.residentBytes(of:))

                // meshctl pages through the whole registry.
                let listStart = ContinuousClock.now
                let output = try runCommand(try MeshPeerProcess.executable("meshctl"),
                                            ["models", "list", "--all", "--limit", String(options.listPageSize), "--endpoint", peer.url])
                stage.listSeconds = (ContinuousClock.now - listStart).secondsDouble
                stage.listPageSize = options.listPageSize
                stage.listed = Self.listedCount(output) ?? -1
                log("meshctl listed \(stage.listed) models in \(Figures.seconds(stage.listSeconds)) s")
                await peer.stop()
                results.stages.append(stage)
            }
        } catch {
            log("scale benchmark failed: \(error)")
            try? await client.shutdown()
            try? await etcd.shutdown()
            await etcdServer.destroy()
            directory.remove()
            throw error
        }
        try? await client.shutdown()
        try? await etcd.shutdown()
        await etcdServer.destroy()
        directory.remove()
        results.loadAverageAfter = ProcessStats.loadAverage
        return results
    }

    /// The count in meshctl's closing line ("1000000 models").
    static func listedCount(_ output: String) -> Int? {
        guard let last = output.split(separator: "\n").last(where: { $0.hasSuffix(" models") || $0.hasSuffix(" model") }) else { return nil }
        return Int(last.split(separator: " ").first ?? "")
    }
}

extension ScaleBench.Results {
    public var markdown: String {
        var text: [String] = []
        text.append("## A fresh peer against 1k, 100k and 1M registered models (`tools/bench-scale`)")
        text.append("")
        text.append("Measured by `tools/bench-scale` on \(ProcessStats.today), \(ProcessStats.cores) cores (\(ProcessStats.cpuModel)), release build, "
            + "load average \(loadAverageBefore) before and \(loadAverageAfter) after. One \(etcdVersion) member on loopback, started with "
            + "`--quota-backend-bytes \(options.quotaBytes)` (8 GiB; the 2 GiB default would hold a million records too, with less room). "
            + "One registry grows through the sizes: each step registers the new models, then starts a fresh peer (a new process and peer id) and measures it.")
        text.append("")
        text.append("- **registration**: model records written straight to etcd through its JSON gateway, \(options.putsPerTransaction) puts per transaction "
            + "(etcd's default `--max-txn-ops`), \(options.concurrency) transactions in flight; each record is the JSON `POST /v1/models` writes.")
        text.append("- **start to ready**: from spawning `modelmesh` to its first 200 from `/v2/health/ready` (polled every 5 ms): process start, etcd "
            + "status check, mirror sync (peers, copies, failures, pinned index), lease and peer registration.")
        text.append("- **start to first inference**: to the first successful inference of a model this peer never saw (chosen at random).")
        text.append("- **RSS**: VmRSS of the peer at ready, and after the cold misses and warm hits.")
        text.append("- **cold miss**: \(options.coldSamples) random models never loaded anywhere, one request each, one at a time (synthetic `loadMillis` 0, so all of it is overhead).")
        text.append("- **warm hit**: one loaded model, one request in flight for \(Figures.seconds(options.warmSeconds)) s.")
        text.append("- **meshctl list**: `meshctl models list --all --limit \(options.listPageSize)` through the peer, output to a pipe; the count is meshctl's closing line.")
        text.append("")
        var table = MarkdownTable(["registered models", "registration (models/s)", "etcd db (MB)", "start → ready (s)", "start → first inference (s)",
                                   "RSS at ready (MB)", "RSS after (MB)", "cold miss p50 / max (ms)", "warm hit p50 / p99 (µs)", "meshctl list --all (s)", "listed"])
        for stage in stages {
            let rate = stage.registrationSeconds > 0 ? Double(stage.registered) / stage.registrationSeconds : 0
            let cold = stage.cold.recorder.summary, warm = stage.warm.recorder.summary
            table.add([String(stage.models), Figures.rate(rate), Figures.megabytes(stage.etcdDatabaseBytes), Figures.seconds(stage.startToReady),
                       Figures.seconds(stage.startToFirstInference), Figures.megabytes(stage.residentAtReady), Figures.megabytes(stage.residentAfter),
                       "\(Figures.millis(cold.p50)) / \(Figures.millis(cold.max))" + (stage.cold.errorCount > 0 ? " (\(stage.cold.errorCount) errors)" : ""),
                       "\(warm.p50) / \(warm.p99)", Figures.seconds(stage.listSeconds),
                       stage.listed == stage.models ? "all \(stage.listed)" : "\(stage.listed) of \(stage.models)"])
        }
        text.append(table.text)
        text.append("")
        if let largest = stages.last, let smallest = stages.first {
            let ready = largest.startToReady < 2
            let memory = (largest.residentAtReady ?? .max) < 100 << 20
            text.append("Targets at \(largest.models) models: ready in under 2 s — \(ready ? "met" : "missed") (\(Figures.seconds(largest.startToReady)) s, "
                + "\(Figures.seconds(smallest.startToReady)) s at \(smallest.models)); under 100 MB RSS — \(memory ? "met" : "missed") "
                + "(\(Figures.megabytes(largest.residentAtReady)) MB, \(Figures.megabytes(smallest.residentAtReady)) MB at \(smallest.models)).")
            text.append("")
        }
        return text.joined(separator: "\n")
    }
}

import AsyncHTTPClient
import Foundation
import LoadGenerator
import MeshTestSupport

/// tools/bench: one run that starts etcd, three peers, the direct server and nginx on loopback
/// and measures them side by side.
public enum LatencyBench {
    public struct Options: Sendable {
        /// Interleaved rounds per latency variant; each round is `roundSeconds` long.
        public var rounds = 5
        public var roundSeconds = 3.0
        public var throughputSeconds = 8.0
        public var throughputConcurrency = 64
        public var coldModels = 25
        public var coldLoadMillis = 100
        public var scaleRate = 150.0
        public var scaleSeconds = 20.0
        public var elements = 4
        public var useWrk = true
        /// Also measure the mesh in front of MLServer (needs `mlserver` and its scikit-learn runtime).
        public var mlserver = true

        public init() {}

        /// Seconds-long settings for the smoke test.
        public static var quick: Options {
            var options = Options()
            options.rounds = 1
            options.roundSeconds = 0.5
            options.throughputSeconds = 0.5
            options.throughputConcurrency = 4
            options.coldModels = 2
            options.coldLoadMillis = 20
            options.scaleRate = 100
            options.scaleSeconds = 0
            options.useWrk = false
            return options
        }
    }

    public struct Variant: Sendable {
        public var name: String
        public var path: String
        public var model = "hot"
        /// The request tensor's shape (nil: `elements` in one dimension).
        public var shape: [Int]?
        public var measurement = LoadMeasurement()
        /// CPU time of the process that makes the hop (the entry peer, or nginx) while this
        /// variant ran; zero when not sampled.
        public var hopCPU: Duration = .zero
        public var hopCPUSampled = false

        /// Microseconds of the hop's CPU per request.
        public var hopCPUPerRequest: Double? {
            guard hopCPUSampled, measurement.requests > 0 else { return nil }
            // Time per request in µs: the total over requests × 1 µs.
            return hopCPU / .microseconds(measurement.requests)
        }
    }

    public struct Results: Sendable {
        public var options: Options
        public var latency: [Variant] = []
        public var throughput: [(name: String, client: String, report: LoadReport?, wrk: Double?)] = []
        public var cold: [(name: String, report: LoadReport)] = []
        public var scaleUp: (report: LoadReport, peers: [String], initialHolder: String)?
        /// A small model's latency on a peer busy computing another (``BusyPeerBench``).
        public var busyPeer: [BusyPeerBench.Row] = []
        public var loadAverageBefore = ""
        public var loadAverageAfter = ""
        public var nginxVersion = ""
        public var etcdVersion = ""
    }

    public static func run(_ options: Options, log: @escaping @Sendable (String) -> Void) async throws -> Results {
        var results = Results(options: options)
        results.loadAverageBefore = ProcessStats.loadAverage
        results.nginxVersion = NginxProxy.version()
        results.etcdVersion = (try? runCommand("etcd", ["--version"]).split(separator: "\n").first.map(String.init)) ?? "?"
        log("load average before: \(results.loadAverageBefore)")

        let mesh = try await LocalMesh.start(peers: 3, perPeer: [0: ["--labels", "entry"], 1: ["--labels", "holder"]])
        // A second mesh, its peers serving TLS and hopping to each other over mutual TLS.
        let authority = try TestCertificateAuthority.make()
        var secured: LocalMesh?
        var traced: LocalMesh?
        var direct: ManagedProcess?
        var nginx: NginxProxy?
        var mlserver: MLServerProcess?
        var runtimeMesh: LocalMesh?
        var mlserverNginx: NginxProxy?
        // Bare SwiftNIO relays: the floor a hop built on NIO starts from, beside nginx.
        var relays: [ManagedProcess] = []
        let client = LoadRunner.makeClient(connections: max(options.throughputConcurrency, 16), trustingAnyCertificate: true)
        do {
            var tlsPeers: [Int: [String]] = [:]
            for (index, label) in ["entry", "holder"].enumerated() {
                let secret = try authority.issue("tls-\(index)")
                tlsPeers[index] = ["--labels", label, "--tls-cert-file", secret + "/tls.crt", "--tls-key-file", secret + "/tls.key",
                                   "--tls-ca-file", secret + "/ca.crt"]
            }
            secured = try await LocalMesh.start(peers: 2, perPeer: tlsPeers)
            let entry = mesh.peers[0], holder = mesh.peers[1], third = mesh.peers[2]
            let hotFile = try mesh.syntheticModel("hot", json: "{}")
            let coldFile = try mesh.syntheticModel("cold", json: #"{"loadMillis": \#(options.coldLoadMillis)}"#)
            let scaleFile = try mesh.syntheticModel("scaler", json: "{}")

            // The direct baseline, and nginx in front of the peer that holds the model.
            let directPort = FreePort.next(), directGRPCPort = FreePort.next()
            direct = try ManagedProcess(
                name: "direct", executable: try MeshPeerProcess.executable("mesh-bench"),
                arguments: ["direct-server", "--port", String(directPort), "--grpc-port", String(directGRPCPort), "--model", "hot", "--model-file", hotFile],
                logPath: mesh.workDirectory.appending("direct.log"))
            let directURL = "http://127.0.0.1:\(directPort)", directGRPC = "grpc://127.0.0.1:\(directGRPCPort)"
            try await waitForReady(directURL, process: direct!)
            nginx = try await NginxProxy.start(upstream: "127.0.0.1:\(holder.httpPort)", grpcUpstream: "127.0.0.1:\(holder.grpcPort)")
            let relay = try await startRelay(.http, upstream: "127.0.0.1:\(holder.httpPort)", directory: mesh.workDirectory, into: &relays)
            let splice = try await startRelay(.tcp, upstream: "127.0.0.1:\(holder.httpPort)", directory: mesh.workDirectory, into: &relays)
            // A third mesh that traces every request and exports the spans (to the direct
            // server, which also takes OTLP exports).
            let otlp = ["--otlp-endpoint", directURL + "/v1/traces"]
            traced = try await LocalMesh.start(peers: 2, perPeer: [0: ["--labels", "entry"] + otlp, 1: ["--labels", "holder"] + otlp])

            // Models: "hot" only fits the holder (label), so the entry peer must forward to it.
            try await BenchModels.register("hot", file: hotFile, labels: ["holder"], through: entry.url)
            for index in 0..<options.coldModels {
                try await BenchModels.register("cold-local-\(index)", file: coldFile, labels: ["entry"], through: entry.url)
                try await BenchModels.register("cold-remote-\(index)", file: coldFile, labels: ["holder"], through: entry.url)
            }
            try await BenchModels.register("scaler", file: scaleFile, through: entry.url)
            let servedBy = try await BenchModels.infer("hot", at: entry.url)
            guard servedBy == holder.id else { throw TestSupportError("hot was served by \(servedBy), expected \(holder.id)") }
            let tlsEntry = secured!.peers[0], tlsHolder = secured!.peers[1]
            try await BenchModels.register("hot", file: try secured!.syntheticModel("hot", json: "{}"), labels: ["holder"], through: tlsEntry.url)
            let tlsServedBy = try await BenchModels.infer("hot", at: tlsEntry.url)
            guard tlsServedBy == tlsHolder.id else { throw TestSupportError("hot (TLS) was served by \(tlsServedBy), expected \(tlsHolder.id)") }
            let tracedEntry = traced!.peers[0], tracedHolder = traced!.peers[1]
            try await BenchModels.register("hot", file: try traced!.syntheticModel("hot", json: "{}"), labels: ["holder"], through: tracedEntry.url)
            let tracedServedBy = try await BenchModels.infer("hot", at: tracedEntry.url)
            guard tracedServedBy == tracedHolder.id else { throw TestSupportError("hot (traced) was served by \(tracedServedBy), expected \(tracedHolder.id)") }
            try await BenchModels.infer("hot", at: nginx!.url)
            try await BenchModels.infer("hot", at: directURL)
            if options.mlserver {
                (mlserver, runtimeMesh) = try await startMLServerPeer(directory: mesh.workDirectory)
                mlserverNginx = try await NginxProxy.start(upstream: "127.0.0.1:\(mlserver!.httpPort)")
            }
            var mlserverRelay: (url: String, pid: Int32)?
            if let mlserver {
                mlserverRelay = try await startRelay(.http, upstream: "127.0.0.1:\(mlserver.httpPort)", directory: mesh.workDirectory, into: &relays)
            }
            log("mesh, direct server and nginx \(results.nginxVersion) ready\(options.mlserver ? ", MLServer beside a fourth peer" : "")")

            // 1. Latency, closed loop with one request in flight, variants interleaved by round so
            // that whatever else the machine does falls on all of them alike.
            results.latency = [
                Variant(name: "direct", path: "client → direct server (runtime + codec, no mesh)"),
                Variant(name: "local", path: "client → peer holding the model"),
                Variant(name: "forwarded", path: "client → entry peer → holder (one mesh hop)"),
                Variant(name: "nginx", path: "client → nginx → holder (one nginx hop)"),
                Variant(name: "nio-relay", path: "client → bare SwiftNIO HTTP/1.1 relay → holder (NIO's codecs, nothing else)"),
                Variant(name: "tcp-relay", path: "client → bare SwiftNIO TCP splice → holder (no parsing at all)"),
                Variant(name: "grpc-direct", path: "gRPC client → direct gRPC server (grpc-swift 2, runtime + codec, no mesh)"),
                Variant(name: "grpc-local", path: "gRPC client → peer holding the model"),
                Variant(name: "grpc-forwarded", path: "gRPC client → entry peer → holder (one mesh hop over gRPC)"),
                Variant(name: "nginx-grpc", path: "gRPC client → nginx (grpc_pass) → holder (one nginx hop over gRPC)"),
                Variant(name: "tls-local", path: "client → TLS peer holding the model (HTTPS)"),
                Variant(name: "tls-forwarded", path: "client → TLS entry peer → holder (one mesh hop over mutual TLS)"),
                Variant(name: "traced-local", path: "client → peer holding the model, tracing every request (OTLP export)"),
                Variant(name: "traced-forwarded", path: "client → entry peer → holder, tracing every request on both"),
            ]
            var targets = [directURL, holder.url, entry.url, nginx!.url, relay.url, splice.url, directGRPC, "grpc://127.0.0.1:\(holder.grpcPort)", "grpc://127.0.0.1:\(entry.grpcPort)",
                           "grpc://127.0.0.1:\(nginx!.grpcPort!)", tlsHolder.url, tlsEntry.url, tracedHolder.url, tracedEntry.url]
            // Whose CPU a hop costs: the entry peer's for the mesh, nginx's (master and workers) for nginx.
            let entryPID = entry.pid.map { [$0] } ?? []
            var hopProcesses: [String: [Int32]] = [
                "forwarded": entryPID, "grpc-forwarded": entryPID, "nginx": nginx!.processIDs, "nginx-grpc": nginx!.processIDs,
                "nio-relay": [relay.pid], "tcp-relay": [splice.pid],
            ]
            if let mlserver, let runtimePeer = runtimeMesh?.peers.first, let mlserverNginx, let mlserverRelay {
                // One row of iris features for a scikit-learn model: MLServer alone, the peer in
                // front of it, and nginx and a bare NIO relay in front of it (what any relay on
                // loopback costs).
                results.latency += [
                    Variant(name: "mlserver-direct", path: "client → MLServer (scikit-learn model, no mesh)", model: "iris-sklearn", shape: [1, 4]),
                    Variant(name: "mlserver-local", path: "client → peer holding the model in its MLServer pool → MLServer", model: "iris-sklearn", shape: [1, 4]),
                    Variant(name: "mlserver-nginx", path: "client → nginx → MLServer (one nginx hop, no mesh)", model: "iris-sklearn", shape: [1, 4]),
                    Variant(name: "mlserver-nio-relay", path: "client → bare SwiftNIO HTTP/1.1 relay → MLServer", model: "iris-sklearn", shape: [1, 4]),
                ]
                targets += [mlserver.restURL, runtimePeer.url, mlserverNginx.url, mlserverRelay.url]
                hopProcesses["mlserver-local"] = runtimePeer.pid.map { [$0] } ?? []
                hopProcesses["mlserver-nginx"] = mlserverNginx.processIDs
                hopProcesses["mlserver-nio-relay"] = [mlserverRelay.pid]
            }
            for round in 0..<options.rounds {
                for index in results.latency.indices {
                    var load = LoadOptions(
                        targets: [targets[index]], models: [results.latency[index].model], mode: .closedLoop(concurrency: 1),
                        duration: seconds(options.roundSeconds), warmup: .milliseconds(300),
                        tensorElements: results.latency[index].shape?.reduce(1, *) ?? options.elements
                    )
                    load.tensorShape = results.latency[index].shape
                    let runner = try LoadRunner(options: load, client: client)
                    let sampled = hopProcesses[results.latency[index].name]
                    let cpuBefore = sampled.map(ProcessStats.cpuTime(of:))
                    results.latency[index].measurement.merge(await runner.measure())
                    if let sampled, let cpuBefore {
                        results.latency[index].hopCPU += ProcessStats.cpuTime(of: sampled) - cpuBefore
                        results.latency[index].hopCPUSampled = true
                    }
                }
                log("latency round \(round + 1)/\(options.rounds) done")
            }
            for variant in results.latency {
                let s = variant.measurement.recorder.summary
                log("latency \(variant.name): p50 \(s.p50) µs, p90 \(s.p90) µs, p99 \(s.p99) µs, \(variant.measurement.errorCount) errors")
            }

            // 2. Throughput of one peer: closed loop, many requests in flight.
            for (name, url) in [("peer, local hit", holder.url), ("peer, local hit, gRPC", "grpc://127.0.0.1:\(holder.grpcPort)"),
                                ("direct server", directURL), ("direct server, gRPC", directGRPC)] {
                let runner = try LoadRunner(options: LoadOptions(
                    targets: [url], models: ["hot"], mode: .closedLoop(concurrency: options.throughputConcurrency),
                    duration: seconds(options.throughputSeconds), warmup: .seconds(1), tensorElements: options.elements
                ), client: client)
                let report = await runner.run()
                var wrkRate: Double?
                if options.useWrk, !url.hasPrefix("grpc://") {
                    wrkRate = try? Wrk.run(url: url + "/v2/models/hot/infer", connections: options.throughputConcurrency,
                                           seconds: Int(options.throughputSeconds), directory: mesh.workDirectory.path)
                }
                results.throughput.append((name, "mesh-loadgen", report, wrkRate))
                log("throughput \(name): \(Figures.rate(report.throughput)) req/s (wrk: \(wrkRate.map(Figures.rate) ?? "-"))")
            }

            // 3. Cold misses: each model once, one at a time.
            for (name, prefix) in [("loaded on the entry peer", "cold-local-"), ("loaded on another peer (load-local hop)", "cold-remote-")] {
                let runner = try LoadRunner(options: LoadOptions(
                    targets: [entry.url], models: (0..<options.coldModels).map { "\(prefix)\($0)" }, mode: .closedLoop(concurrency: 1),
                    duration: nil, maxRequests: options.coldModels, tensorElements: options.elements
                ), client: client)
                let report = await runner.run()
                results.cold.append((name, report))
                log("cold miss \(name): p50 \(report.latency.p50) µs")
            }

            // 4. Scale-up: one copy, then a hot open-loop load through every peer; when does each
            // peer serve it itself?
            if options.scaleSeconds > 0 {
                let initialHolder = try await BenchModels.infer("scaler", at: third.url)
                let runner = try LoadRunner(options: LoadOptions(
                    targets: mesh.peers.map(\.url), models: ["scaler"], mode: .openLoop(requestsPerSecond: options.scaleRate),
                    duration: seconds(options.scaleSeconds), tensorElements: options.elements, trackHeader: "mm-served-by"
                ), client: client)
                let report = await runner.run()
                results.scaleUp = (report, mesh.peers.map(\.id), initialHolder)
                log("scale-up: first seen \(report.firstSeen)")
            }

            // 5. A peer busy computing: does a small model's request wait for another model's
            // computation?
            results.busyPeer = try await BusyPeerBench.run(options, client: client, log: log)
        } catch {
            log("benchmark failed: \(error)\n\(mesh.logs(lines: 20))")
            try? await client.shutdown()
            await secured?.destroy()
            await traced?.destroy()
            authority.remove()
            await nginx?.stop()
            await mlserverNginx?.stop()
            for relay in relays { await relay.stop() }
            await direct?.stop()
            await runtimeMesh?.destroy()
            await mlserver?.stop()
            await mesh.destroy()
            throw error
        }
        try? await client.shutdown()
        await nginx?.stop()
        await mlserverNginx?.stop()
        for relay in relays { await relay.stop() }
        await direct?.stop()
        await runtimeMesh?.destroy()
        await mlserver?.stop()
        await mesh.destroy()
        await secured?.destroy()
        await traced?.destroy()
        authority.remove()
        results.loadAverageAfter = ProcessStats.loadAverage
        return results
    }

    /// MLServer and a one-peer mesh whose pool it is, holding a scikit-learn model trained on iris
    /// (`examples/train_runtime_models.py`, run from the repository root as tools/bench does).
    static func startMLServerPeer(directory: TemporaryDirectory) async throws -> (MLServerProcess, LocalMesh) {
        let server = try await MLServerProcess.start(repository: directory.appending("mlserver-repository"), in: directory)
        let config = directory.appending("runtime-servers.yaml")
        let entry = "- {name: mlserver, protocol: open-inference, server: mlserver, rest: \"\(server.restURL)\", "
            + "repository: \"\(server.repository)\", formats: [sklearn], memory: 256Mi}\n"
        do {
            try entry.write(toFile: config, atomically: true, encoding: .utf8)
            let mesh = try await LocalMesh.start(peers: 1, arguments: ["--runtime-servers", config])
            do {
                _ = try runCommand("python3", ["examples/train_runtime_models.py", mesh.workDirectory.appending("trained")])
                let peer = mesh.peers[0]
                let registration = #"{"id": "iris-sklearn", "type": "sklearn", "storageUri": "trained/iris-sklearn/model.joblib"}"#
                // The peer takes the registration for the type its pool declares at once; its
                // pool opens once it has found MLServer ready, and until then inference is 503.
                let deadline = ContinuousClock.now + .seconds(30)
                var status = try await TestHTTP.post(peer.url + "/v1/models", json: registration).status
                while status != 201, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    status = try await TestHTTP.post(peer.url + "/v1/models", json: registration).status
                }
                let request = #"{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]}"#
                for url in [peer.url, server.restURL] {
                    var reply = try await TestHTTP.post(url + "/v2/models/iris-sklearn/infer", json: request, timeout: .seconds(60))
                    while reply.status == 503, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(200))
                        reply = try await TestHTTP.post(url + "/v2/models/iris-sklearn/infer", json: request, timeout: .seconds(60))
                    }
                    guard reply.status == 200 else { throw TestSupportError("iris-sklearn at \(url): \(reply.status) \(reply.text)\n\(mesh.logs())") }
                }
                return (server, mesh)
            } catch {
                await mesh.destroy()
                throw error
            }
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Starts `mesh-bench nio-relay` in front of `upstream`, kept in `relays` (to be stopped
    /// whatever happens next), and returns its URL and process once a request goes through it.
    static func startRelay(_ mode: NIORelay.Mode, upstream: String, directory: TemporaryDirectory,
                           into relays: inout [ManagedProcess]) async throws -> (url: String, pid: Int32) {
        let port = FreePort.next()
        let relay = try ManagedProcess(
            name: "\(mode)-relay-\(relays.count)", executable: try MeshPeerProcess.executable("mesh-bench"),
            arguments: ["nio-relay", "--port", String(port), "--upstream", upstream, "--mode", mode.rawValue],
            logPath: directory.appending("\(mode)-relay-\(relays.count).log"))
        relays.append(relay)
        let url = "http://127.0.0.1:\(port)"
        try await waitForReady(url, process: relay)
        return (url, relay.pid)
    }

    static func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1000)) }

    static func waitForReady(_ url: String, process: ManagedProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestSupportError("\(process.name) exited: \(process.logTail())") }
            if let reply = try? await TestHTTP.get(url + "/v2/health/ready", timeout: .seconds(1)), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("\(process.name) did not become ready: \(process.logTail())")
    }
}

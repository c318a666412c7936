import Foundation
import LoadGenerator

extension LatencyBench.Results {
    func variant(_ name: String) -> LatencySummary {
        latency.first { $0.name == name }?.measurement.recorder.summary ?? LatencyRecorder().summary
    }

    /// `a − b` at p50, p90 and p99, in µs (differences of percentiles, not percentiles of differences).
    func added(_ a: String, over b: String) -> (p50: Double, p90: Double, p99: Double) {
        let x = variant(a), y = variant(b)
        return (Double(x.p50) - Double(y.p50), Double(x.p90) - Double(y.p90), Double(x.p99) - Double(y.p99))
    }

    /// The Markdown section for BENCHMARKS.md.
    public var markdown: String {
        var text: [String] = []
        text.append("## Serving latency, throughput, cold misses and scale-up (`tools/bench`)")
        text.append("")
        text.append("Measured by `tools/bench` on \(ProcessStats.today), \(ProcessStats.cores) cores (\(ProcessStats.cpuModel)), release build, "
            + "load average \(loadAverageBefore) before and \(loadAverageAfter) after (the machine is shared; the run held the build lock). "
            + "One \(etcdVersion) member, three peers (`mesh-0` entry, `mesh-1` holder, `mesh-2`), the direct server and nginx \(nginxVersion), all on loopback. "
            + "Client: `mesh-loadgen`'s library: REST over AsyncHTTPClient (HTTP/1.1 keep-alive) with a \(options.elements)-element FP32 tensor as JSON, "
            + "and gRPC (grpc-swift 2, one HTTP/2 connection) with the same tensor as raw contents.")
        text.append("")

        text.append("### Latency of one request at a time")
        text.append("")
        text.append("Closed loop, one request in flight, \(options.rounds) rounds of \(Figures.seconds(options.roundSeconds)) s per path, the paths interleaved "
            + "round by round so that background load falls on all alike; each round starts with 0.3 s unmeasured. Latencies in µs (HdrHistogram, 3 digits).")
        text.append("")
        var table = MarkdownTable(["path", "what it is", "requests", "errors", "p50", "p90", "p99", "max"], alignRight: [false, false, true, true, true, true, true, true])
        for variant in latency {
            let s = variant.measurement.recorder.summary
            table.add([variant.name, variant.path, String(variant.measurement.requests), String(variant.measurement.errorCount),
                       Figures.micros(s.p50), Figures.micros(s.p90), Figures.micros(s.p99), Figures.micros(s.max)])
        }
        text.append(table.text)
        text.append("")
        let mesh = added("local", over: "direct")
        let hop = added("forwarded", over: "local")
        let nginxHop = added("nginx", over: "local")
        var added = MarkdownTable(["added latency", "p50 (µs)", "p90 (µs)", "p99 (µs)", "target", "met"], alignRight: [false, true, true, true, false, false])
        added.add(["mesh on a local hit (local − direct)", Figures.micros(mesh.p50), Figures.micros(mesh.p90), Figures.micros(mesh.p99),
                   "< 50 µs at p50", mesh.p50 < 50 ? "yes" : "no"])
        added.add(["one mesh hop (forwarded − local)", Figures.micros(hop.p50), Figures.micros(hop.p90), Figures.micros(hop.p99),
                   "≤ nginx hop at p50", hop.p50 <= nginxHop.p50 ? "yes" : "no"])
        added.add(["one nginx hop (nginx − local)", Figures.micros(nginxHop.p50), Figures.micros(nginxHop.p90), Figures.micros(nginxHop.p99), "baseline", ""])
        for (name, label) in [("nio-relay", "one bare SwiftNIO HTTP/1.1 relay hop (nio-relay − local)"), ("tcp-relay", "one bare SwiftNIO TCP splice (tcp-relay − local)")]
        where latency.contains(where: { $0.name == name }) {
            let floor = self.added(name, over: "local")
            added.add([label, Figures.micros(floor.p50), Figures.micros(floor.p90), Figures.micros(floor.p99), "floor", ""])
        }
        let grpcMesh = latency.contains(where: { $0.name == "grpc-direct" }) ? self.added("grpc-local", over: "grpc-direct") : nil
        if let grpcMesh {
            added.add(["mesh on a gRPC local hit (grpc-local − grpc-direct)", Figures.micros(grpcMesh.p50), Figures.micros(grpcMesh.p90),
                       Figures.micros(grpcMesh.p99), "—", ""])
        }
        if latency.contains(where: { $0.name == "grpc-forwarded" }) {
            let grpcHop = self.added("grpc-forwarded", over: "grpc-local")
            let nginxGRPC = latency.contains(where: { $0.name == "nginx-grpc" }) ? self.added("nginx-grpc", over: "grpc-local") : nil
            added.add(["one mesh hop over gRPC (grpc-forwarded − grpc-local)", Figures.micros(grpcHop.p50), Figures.micros(grpcHop.p90),
                       Figures.micros(grpcHop.p99), nginxGRPC == nil ? "≤ nginx hop at p50" : "≤ nginx gRPC hop at p50",
                       grpcHop.p50 <= (nginxGRPC ?? nginxHop).p50 ? "yes" : "no"])
            if let nginxGRPC {
                added.add(["one nginx hop over gRPC (nginx-grpc − grpc-local)", Figures.micros(nginxGRPC.p50), Figures.micros(nginxGRPC.p90),
                           Figures.micros(nginxGRPC.p99), "baseline", ""])
            }
        }
        let runtimeServer = latency.contains(where: { $0.name == "mlserver-local" }) ? self.added("mlserver-local", over: "mlserver-direct") : nil
        if let runtimeServer {
            added.add(["mesh in front of MLServer (mlserver-local − mlserver-direct)", Figures.micros(runtimeServer.p50), Figures.micros(runtimeServer.p90),
                       Figures.micros(runtimeServer.p99), "≤ local hit + 100 µs at p50", runtimeServer.p50 <= mesh.p50 + 100 ? "yes" : "no"])
            if latency.contains(where: { $0.name == "mlserver-nginx" }) {
                let proxy = self.added("mlserver-nginx", over: "mlserver-direct")
                added.add(["nginx in front of MLServer (mlserver-nginx − mlserver-direct)", Figures.micros(proxy.p50), Figures.micros(proxy.p90),
                           Figures.micros(proxy.p99), "baseline", ""])
            }
            if latency.contains(where: { $0.name == "mlserver-nio-relay" }) {
                let floor = self.added("mlserver-nio-relay", over: "mlserver-direct")
                added.add(["bare SwiftNIO relay in front of MLServer (mlserver-nio-relay − mlserver-direct)", Figures.micros(floor.p50), Figures.micros(floor.p90),
                           Figures.micros(floor.p99), "floor", ""])
            }
        }
        let tlsHop = latency.contains(where: { $0.name == "tls-forwarded" }) ? self.added("tls-forwarded", over: "tls-local") : nil
        if let tlsHop {
            added.add(["one mesh hop over mutual TLS (tls-forwarded − tls-local)", Figures.micros(tlsHop.p50), Figures.micros(tlsHop.p90),
                       Figures.micros(tlsHop.p99), "≤ 1.2× the plaintext hop at p50", tlsHop.p50 <= 1.2 * hop.p50 ? "yes" : "no"])
        }
        text.append(added.text)
        text.append("")
        let restLocal = variant("local").p50, grpcLocal = variant("grpc-local").p50
        if latency.contains(where: { $0.name == "grpc-local" }), restLocal > 0 {
            let ratio = Double(grpcLocal) / Double(restLocal)
            var line = "gRPC local hit / REST local hit at p50: \(Figures.ratio(ratio)) (target ≤ 1.3: \(ratio <= 1.3 ? "met" : "not met"))"
            let grpcDirect = variant("grpc-direct").p50, restDirect = variant("direct").p50
            if grpcDirect > 0, restDirect > 0 {
                line += "; the direct servers, gRPC / REST: \(Figures.ratio(Double(grpcDirect) / Double(restDirect))), which is what grpc-swift 2 and HTTP/2 cost "
                    + "against Hummingbird and HTTP/1.1 with no mesh in either"
            }
            text.append(line + ".")
            text.append("")
        }
        if let tlsHop, hop.p50 > 0 {
            text.append("Mutual-TLS hop / plaintext hop at p50: \(Figures.ratio(tlsHop.p50 / hop.p50)) (a second mesh of two peers with "
                + "certificates from a test CA, measured in the same rounds; the hop reuses its keep-alive TLS connections).")
            text.append("")
        }
        if latency.contains(where: { $0.name == "traced-forwarded" }) {
            let tracedLocal = self.added("traced-local", over: "local"), tracedHop = self.added("traced-forwarded", over: "forwarded")
            text.append("Tracing every request (a third mesh exporting each span over OTLP/HTTP) adds \(Figures.micros(tracedLocal.p50)) µs to a local hit "
                + "and \(Figures.micros(tracedHop.p50)) µs to a forwarded request at p50. Off, which is the default, a span site is one atomic load "
                + "and no middleware, interceptor or header is added, so the local and forwarded rows above are the untraced cost.")
            text.append("")
        }
        let cpu = Dictionary(uniqueKeysWithValues: latency.compactMap { variant in variant.hopCPUPerRequest.map { (variant.name, $0) } })
        if let mesh = cpu["forwarded"], let proxy = cpu["nginx"] {
            let relayCPU = { (name: String) in cpu[name].map(Figures.micros) ?? "—" }
            var table = MarkdownTable(["CPU per forwarded request (µs), in the process that makes the hop", "mesh entry peer", "nginx",
                                       "bare SwiftNIO relay (HTTP / TCP)", "target", "met"],
                                      alignRight: [false, true, true, true, false, false])
            table.add(["REST", Figures.micros(mesh), Figures.micros(proxy), "\(relayCPU("nio-relay")) / \(relayCPU("tcp-relay"))", "≤ nginx", mesh <= proxy ? "yes" : "no"])
            if let meshGRPC = cpu["grpc-forwarded"], let proxyGRPC = cpu["nginx-grpc"] {
                table.add(["gRPC", Figures.micros(meshGRPC), Figures.micros(proxyGRPC), "—", "≤ nginx", meshGRPC <= proxyGRPC ? "yes" : "no"])
            }
            if let meshRelay = cpu["mlserver-local"], let proxyRelay = cpu["mlserver-nginx"] {
                table.add(["REST, in front of MLServer (the peer whose pool it is)", Figures.micros(meshRelay), Figures.micros(proxyRelay),
                           relayCPU("mlserver-nio-relay"), "—", ""])
            }
            text.append(table.text)
            text.append("")
            text.append("User and system CPU time (/proc) of the entry peer, of nginx's master and workers, or of the relay, while the variant ran, "
                + "divided by its requests; one request in flight, so this includes what an idle process spends between requests.")
            text.append("")
        }
        if nginxHop.p50 > 0 {
            var floorRatio = ""
            if latency.contains(where: { $0.name == "nio-relay" }) {
                let floor = self.added("nio-relay", over: "local")
                if floor.p50 > 0 {
                    floorRatio = " Mesh hop / bare SwiftNIO relay hop: \(Figures.ratio(hop.p50 / floor.p50)); bare SwiftNIO relay / nginx: "
                        + "\(Figures.ratio(floor.p50 / nginxHop.p50))."
                }
            }
            text.append("Mesh hop / nginx hop at p50: \(Figures.ratio(hop.p50 / nginxHop.p50)).\(floorRatio) The added figures subtract percentiles of separate runs; "
                + "they are estimates of the typical added time, not percentiles of a per-request difference.")
            text.append("")
        }

        text.append("### Throughput of one peer")
        text.append("")
        text.append("Closed loop, \(options.throughputConcurrency) requests in flight for \(Figures.seconds(options.throughputSeconds)) s after 1 s of warm-up, "
            + "same model and tensor; the client runs on the same two cores as the server, so these are lower bounds for the server. "
            + "wrk (1 thread, \(options.throughputConcurrency) connections, C) costs the client less CPU and gives the higher figure.")
        text.append("")
        var throughputTable = MarkdownTable(["server", "mesh-loadgen req/s", "p50 (µs)", "p99 (µs)", "errors", "wrk req/s"])
        for row in throughput {
            guard let report = row.report else { continue }
            throughputTable.add([row.name, Figures.rate(report.throughput), Figures.micros(report.latency.p50), Figures.micros(report.latency.p99),
                                 String(report.errors), row.wrk.map(Figures.rate) ?? "-"])
        }
        text.append(throughputTable.text)
        text.append("")
        let rates = Dictionary(throughput.compactMap { row in row.report.map { (row.name, $0.throughput) } }, uniquingKeysWith: { first, _ in first })
        if let peer = rates["peer, local hit"], let direct = rates["direct server"], direct > 0 {
            var line = "Peer / direct server (target ≥ 0.8): REST \(Figures.ratio(peer / direct))"
            if let peerGRPC = rates["peer, local hit, gRPC"] {
                if let directGRPC = rates["direct server, gRPC"], directGRPC > 0 {
                    line += ", gRPC \(Figures.ratio(peerGRPC / directGRPC)) against the direct gRPC server"
                }
                line += " and \(Figures.ratio(peerGRPC / direct)) against the direct REST server"
            }
            text.append(line + ".")
            text.append("")
        }

        text.append("### Cold misses")
        text.append("")
        text.append("\(options.coldModels) registered models never requested before, each requested once through the entry peer, one at a time; "
            + "each model's synthetic load takes \(options.coldLoadMillis) ms (`loadMillis`). Overhead = latency − \(options.coldLoadMillis) ms: placement, "
            + "the load's start and end (files, runtime, waking the request), the request itself and, where the load is shorter than it, the copy claim "
            + "in etcd (a transaction with etcd's fsync, written while the load runs); `tools/cold-miss-steps` times each step from a peer's traces.")
        text.append("")
        var coldTable = MarkdownTable(["where the model loads", "requests", "errors", "p50 (ms)", "max (ms)", "overhead p50 (ms)", "target", "met"],
                                      alignRight: [false, true, true, true, true, true, false, false])
        for row in cold {
            let overhead = Double(row.report.latency.p50) - Double(options.coldLoadMillis) * 1000
            coldTable.add([row.name, String(row.report.requests), String(row.report.errors), Figures.millis(row.report.latency.p50),
                           Figures.millis(row.report.latency.max), Figures.millis(overhead), "< 3 ms", overhead < 3000 ? "yes" : "no"])
        }
        text.append(coldTable.text)
        text.append("")

        if let scale = scaleUp {
            text.append("### Scale-up reaction")
            text.append("")
            text.append("Model `scaler` loaded once (on \(scale.initialHolder)), then an open loop of \(Figures.rate(options.scaleRate)) requests/s spread over the "
                + "three peers for \(Figures.seconds(options.scaleSeconds)) s; peers run the default scaling settings (scale up above 30 requests/s per copy, "
                + "decided every 1 s over a 5 s rate window). A peer counts as serving when a response carries its id in `mm-served-by`; times are from the start of the load.")
            text.append("")
            var scaleTable = MarkdownTable(["peer", "first served at (s)"])
            for peer in scale.peers {
                scaleTable.add([peer + (peer == scale.initialHolder ? " (initial copy)" : ""), scale.report.firstSeen[peer].map(Figures.seconds) ?? "never"])
            }
            text.append(scaleTable.text)
            text.append("")
            let extra = scale.peers.filter { $0 != scale.initialHolder }.compactMap { scale.report.firstSeen[$0] }
            if let last = extra.max() {
                text.append("All \(extra.count + 1) copies serving \(Figures.seconds(last)) s after the hot load started; \(scale.report.requests) requests, "
                    + "\(scale.report.errors) errors, p50 \(scale.report.latency.p50) µs, p99 \(scale.report.latency.p99) µs over the whole run.")
            } else {
                text.append("No extra copy served within the run (\(scale.report.requests) requests, \(scale.report.errors) errors).")
            }
            text.append("")
        }
        if !busyPeer.isEmpty {
            text.append(busyPeerMarkdown)
        }
        return text.joined(separator: "\n")
    }

    var busyPeerMarkdown: String {
        var text: [String] = []
        text.append("### A peer busy computing")
        text.append("")
        text.append("Two one-peer meshes, measured in alternating rounds (\(options.rounds) of \(Figures.seconds(options.roundSeconds)) s each): "
            + "\(BusyPeerBench.computingConcurrency) requests at a time of a model that computes for \(BusyPeerBench.computeMillis) ms "
            + "(synthetic `computeMillis`, a CPU kept busy) and, beside them, one request at a time of a small model (the \(options.elements)-element doubler). "
            + "One peer computes on its inference threads (the default), the other on the requests' event loops (`--inference-threads 0`).")
        text.append("")
        var table = MarkdownTable(["computation runs", "small model: requests", "p50 (µs)", "p90 (µs)", "p99 (µs)", "max (µs)", "errors",
                                   "computing model: requests", "errors"],
                                  alignRight: [false, true, true, true, true, true, true, true, true])
        for row in busyPeer {
            let s = row.small.recorder.summary
            table.add([row.name, String(row.small.requests), Figures.micros(s.p50), Figures.micros(s.p90), Figures.micros(s.p99), Figures.micros(s.max),
                       String(row.small.errorCount), String(row.computing.requests), String(row.computing.errorCount)])
        }
        text.append(table.text)
        text.append("")
        if busyPeer.count == 2 {
            let threads = busyPeer[0].small.recorder.summary, loops = busyPeer[1].small.recorder.summary
            if threads.p50 > 0, threads.p99 > 0 {
                text.append("Small model on the event loops / on a peer with inference threads: p50 \(Figures.ratio(Double(loops.p50) / Double(threads.p50))), "
                    + "p99 \(Figures.ratio(Double(loops.p99) / Double(threads.p99))).")
                text.append("")
            }
        }
        return text.joined(separator: "\n")
    }
}

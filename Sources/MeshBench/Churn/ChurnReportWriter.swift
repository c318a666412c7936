import LoadGenerator

extension ChurnBench.Results {
    public var markdown: String {
        let o = options
        var text: [String] = []
        text.append("## Models that outnumber memory (`tools/bench-churn`)")
        text.append("")
        text.append("Measured by `tools/bench-churn` on \(ProcessStats.today), \(ProcessStats.cores) cores (\(ProcessStats.cpuModel)), release build, "
            + "load average \(loadAverageBefore) before and \(loadAverageAfter) after.")
        text.append("")
        text.append("\(o.peers) peers on loopback with `--capacity \(Figures.megabytes(o.capacityBytes))Mi` each"
            + (o.peerArguments.isEmpty ? "" : " and `\(o.peerArguments.joined(separator: " "))`")
            + " and otherwise default settings; \(o.models) synthetic models of \(Figures.megabytes(o.modelBytes)) MiB whose load takes \(o.loadMillis) ms "
            + "(the peers hold \(o.pooledModels) of them together); \(o.clients) closed-loop clients send every request to the first peer, "
            + "choosing the model of each by Zipf rank, for \(Figures.seconds(o.seconds)) s; then \(o.burst) concurrent requests for a registered model "
            + "nobody has used. Each skew runs on a fresh mesh. *Loads* are every peer's `modelmesh_loadmodel_total` over the run (copy scaling "
            + "included); *pooled LRU* replays the same requests, in the order they were sent, through one least-recently-used cache of "
            + "\(o.pooledModels) models — all the peers' memory as one.")
        text.append("")
        var table = MarkdownTable(["skew", "requests", "answered/s", "p50 (ms)", "p99 (ms)", "refused (503)", "other errors",
                                   "loads per request", "pooled LRU", "mesh ÷ pooled", "recently used evicted"])
        for run in runs {
            let latency = run.load.recorder.summary
            let answered = Double(run.load.requests - run.load.errorCount) / max(run.load.seconds, 0.001)
            let ratio = run.pooled.missRatio > 0 ? Figures.ratio(run.meshLoadsPerRequest / run.pooled.missRatio) : "—"
            table.add([run.skewName, String(run.load.requests), Figures.rate(answered), Figures.millis(latency.p50), Figures.millis(latency.p99),
                       String(run.refused), String(run.load.errorCount - run.refused), String(format: "%.3f", run.meshLoadsPerRequest),
                       String(format: "%.3f", run.pooled.missRatio), ratio, String(Int(run.recentEvictions))])
        }
        text.append(table.text)
        text.append("")
        var burst = MarkdownTable(["skew", "burst requests", "errors", "loads of the new model", "p50 (ms)", "max (ms)"])
        for run in runs {
            let latency = run.burst.recorder.summary
            burst.add([run.skewName, String(run.burst.requests), String(run.burst.errorCount), String(Int(run.burstLoads)),
                       Figures.millis(latency.p50), Figures.millis(latency.max)])
        }
        text.append(burst.text)
        text.append("")
        let errors = runs.flatMap { run in run.load.errors.map { (run.skewName, $0.key, $0.value) } + run.burst.errors.map { (run.skewName + " burst", $0.key, $0.value) } }
        if !errors.isEmpty {
            text.append("Errors:")
            text.append("")
            for (skew, message, count) in errors.sorted(by: { $0.2 > $1.2 }).prefix(10) {
                text.append("- \(skew): \(count)× `\(message.replacingOccurrences(of: "`", with: "'"))`")
            }
            text.append("")
        }
        let refused = runs.reduce(0) { $0 + $1.refused + $1.burst.errorCount }
        let loadsMet = runs.allSatisfy { $0.meshLoadsPerRequest <= $0.pooled.missRatio }
        let p99Met = runs.allSatisfy { Double($0.load.recorder.summary.p99) <= Double(3 * o.loadMillis * 1000) }
        let burstMet = runs.allSatisfy { $0.burstLoads == 1 && $0.burst.errorCount == 0 }
        text.append("Targets: no refused request — \(refused == 0 ? "met" : "missed (\(refused))"); the burst loads its model once with no error — "
            + "\(burstMet ? "met" : "missed"); loads per request at most the pooled LRU's — \(loadsMet ? "met" : "missed"); p99 at most 3× the load time "
            + "(\(3 * o.loadMillis) ms) — \(p99Met ? "met" : "missed").")
        text.append("")
        return text.joined(separator: "\n")
    }
}

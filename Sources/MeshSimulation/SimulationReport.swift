import MeshCore

/// The results of one run and their Markdown rendering.
public struct SimulationReport: Sendable {
    public struct Timings: Sendable, Hashable {
        public var trace: Duration = .zero
        public var mesh: Duration = .zero
        public var randomLRU: Duration = .zero
        public var belady: Duration = .zero
        public var total: Duration = .zero
    }

    /// Facts about the trace that help read the results.
    public struct Workload: Sendable, Hashable {
        public var requests: Int
        public var distinctModels: Int
        public var meanModelBytes: Double
        public var totalModelBytes: Int64
        public var medianLoadMillis: Int64
        public var deaths: Int
        public var joins: Int
        /// Requests per popularity band.
        public var bandRequests: [Int]

        public init(catalog: ModelCatalog, trace: Trace) {
            requests = trace.count
            var requested = [Bool](repeating: false, count: catalog.count)
            for model in trace.models { requested[Int(model)] = true }
            distinctModels = requested.lazy.filter { $0 }.count
            totalModelBytes = catalog.totalBytes
            meanModelBytes = Double(totalModelBytes) / Double(max(1, catalog.count))
            let loads = catalog.loadMillis.sorted()
            medianLoadMillis = loads.isEmpty ? 0 : loads[loads.count / 2]
            deaths = trace.membership.filter { if case .kill = $0.change { return true } else { return false } }.count
            joins = trace.membership.count - deaths
            let bands = PopularityBands(models: catalog.count)
            bandRequests = Array(repeating: 0, count: bands.count)
            for model in trace.models { bandRequests[bands.band(ofRank: catalog.ranks[Int(model)])] += 1 }
        }
    }

    public var configuration: SimulationConfiguration
    public var workload: Workload
    public var mesh: MeshStatistics
    public var randomLRU: CacheRunResult
    public var belady: CacheRunResult
    public var timings: Timings

    /// The mesh summarised like the baselines.
    public var meshSummary: CacheRunResult {
        var result = CacheRunResult(tally: mesh.tally)
        result.loads = mesh.loads
        result.evictions = mesh.evictions + mesh.resizeEvictions
        result.failed = mesh.count(.failed)
        result.samples = mesh.samples
        return result
    }

    public func markdown(command: String? = nil) -> String {
        let c = configuration
        let f = ReportFormatting.self
        let seconds = c.duration.seconds
        let bands = PopularityBands(models: c.models)
        let columns = [meshSummary, randomLRU, belady]
        let residency = columns.map { ResidencySummary($0.samples, durationMillis: c.duration.milliseconds, bands: bands.count) }
        let clusterBytes = Double(c.peers) * Double(c.peerCapacityBytes)
        var lines: [String] = []

        lines.append("## Placement simulation")
        lines.append("")
        if let command { lines.append("Command: `\(command)`") ; lines.append("") }
        lines.append("Seed \(c.seed); run time \(f.elapsed(timings.total)) (trace \(f.elapsed(timings.trace)), mesh \(f.elapsed(timings.mesh)), per-peer LRU \(f.elapsed(timings.randomLRU)), Belady \(f.elapsed(timings.belady))), release build, one thread.")
        lines.append("")
        lines.append("Workload: \(c.peers) peers × \(f.bytes(Double(c.peerCapacityBytes))) (\(f.bytes(clusterBytes)) in all, \(c.zones) zones); "
            + "\(f.count(c.models)) models, log-normal sizes (median \(f.bytes(Double(c.medianModelBytes))), spread \(f.decimal(c.modelSizeSpread, 2)), mean \(f.bytes(workload.meanModelBytes)), "
            + "\(f.bytes(Double(workload.totalModelBytes))) in all: the cluster holds \(f.percent(clusterBytes / Double(workload.totalModelBytes))) of it); "
            + "Zipf popularity, exponent \(f.decimal(c.zipfExponent, 2)); \(f.decimal(c.requestsPerSecond, 0)) requests/s for \(f.duration(c.duration)) "
            + "(\(f.count(workload.requests)) requests, \(f.count(workload.distinctModels)) distinct models); "
            + "load time \(f.duration(c.loadBase)) + \(f.duration(c.loadPerGiB))/GiB with spread \(f.decimal(c.loadTimeSpread, 2)) (median \(workload.medianLoadMillis) ms); "
            + "inference \(f.duration(c.inferenceLatency)); size hints \(c.sizeHints ? "registered" : "absent (default \(f.bytes(Double(c.defaultModelBytes))))"). "
            + churnText)
        lines.append("")
        lines.append("Mesh settings (a peer's defaults): gossip every \(f.duration(c.gossipInterval)), reports \(f.duration(c.gossipDelay)) old on arrival, ignored after \(f.duration(c.reportMaxAge)); "
            + "scaling every \(f.duration(c.scaleInterval)), up above \(f.decimal(c.scaleUpRequestsPerSecond, 0)) requests/s per copy or \(f.decimal(c.scaleUpInFlight, 0)) in flight, idle scale-down after \(f.duration(c.scaleDownAfter)); "
            + "eviction \(c.evictionPolicy.rawValue); churn guard \(f.duration(c.minChurnAge)), at most \(f.decimal(c.churnLimitPerSecond)) recently used models evicted per second and peer; "
            + "\(c.maxLoadingConcurrency) loads at once per peer; lease \(f.duration(c.leaseTTL)); refused peers excluded for \(f.duration(c.quarantine)); \(c.maxAttempts) attempts per request.")
        lines.append("")
        lines.append("| | mesh (MeshCore) | per-peer LRU, random routing | offline optimal (Belady) |")
        lines.append("|---|---:|---:|---:|")
        func row(_ name: String, _ values: [String]) { lines.append("| \(name) | " + values.joined(separator: " | ") + " |") }
        row("hit ratio, whole trace", columns.map { f.percent($0.tally.hitRatio) })
        row("hit ratio, second half", columns.map { f.percent($0.tally.steadyHitRatio) })
        row("loads per second", columns.map { f.decimal(Double($0.loads) / seconds, 2) })
        row("evictions per second", columns.map { f.decimal(Double($0.evictions) / seconds, 2) })
        row("requests that found no capacity", [
            "\(f.count(mesh.capacityFailures)) (\(f.percent(ratio(mesh.capacityFailures, workload.requests), 3)))",
            "\(f.count(randomLRU.failed)) (\(f.percent(ratio(randomLRU.failed, workload.requests), 3)))",
            "\(f.count(belady.failed))",
        ])
        row("memory in use, second half (mean)", residency.map { "\(f.bytes($0.usedBytes)) (\(f.percent($0.capacityBytes > 0 ? $0.usedBytes / $0.capacityBytes : 0)))" })
        row("copies resident (mean)", residency.map { f.decimal($0.copies, 0) })
        row("distinct models resident (mean)", residency.map { f.decimal($0.distinctModels, 0) })
        lines.append("")

        lines.append("### Mesh: how requests were served")
        lines.append("")
        lines.append("| outcome | requests | share |")
        lines.append("|---|---:|---:|")
        for outcome in RequestOutcome.allCases {
            lines.append("| \(outcome.label) | \(f.count(mesh.count(outcome))) | \(f.percent(ratio(mesh.count(outcome), mesh.requests), 2)) |")
        }
        for reason in FailureReason.allCases {
            guard let count = mesh.failures[reason], count > 0 else { continue }
            lines.append("| failed: \(reason.rawValue) | \(f.count(count)) | \(f.percent(ratio(count, mesh.requests), 3)) |")
        }
        lines.append("")
        lines.append("| mesh event | count | per second |")
        lines.append("|---|---:|---:|")
        let events: [(String, Int)] = [
            ("loads for requests", mesh.requestLoads),
            ("loads by the copy scaler", mesh.scalerLoads),
            ("evictions to make room", mesh.evictions),
            ("evictions after a load measured more than planned", mesh.resizeEvictions),
            ("idle copies removed by scale-down", mesh.scaleDownRemovals),
            ("loads that waited for the churn limit", mesh.refusedByChurnGuard),
            ("loads that waited for evictable memory", mesh.refusedForRoom),
            ("copies lost with dead peers", mesh.copiesLostWithPeers),
            ("forwards to dead peers (refused connections)", mesh.deadPeerForwards.count),
            ("routing decisions (attempts and hops)", mesh.decisions),
        ]
        for (name, count) in events {
            lines.append("| \(name) | \(f.count(count)) | \(f.decimal(Double(count) / seconds, 2)) |")
        }
        lines.append("| time requests waited for room (seconds, in all) | \(f.decimal(Double(mesh.roomWaitMillis) / 1000, 1)) | |")
        lines.append("")

        lines.append("### By popularity")
        lines.append("")
        lines.append("Copies and residency are means over the samples of the second half (every \(f.duration(c.sampleInterval))).")
        lines.append("")
        lines.append("| popularity rank | share of requests | hit ratio: mesh | per-peer LRU | Belady | mesh: copies per model | mesh: most copies | mesh: models resident | per-peer LRU: copies per model |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for band in 0..<bands.count {
            let size = Double(bands.size(of: band))
            let hitRatios = columns.map { f.percent(ratio($0.tally.bandHits[band], $0.tally.bandRequests[band])) }
            lines.append("| \(bands.label(of: band)) | \(f.percent(ratio(workload.bandRequests[band], workload.requests), 2)) | "
                + hitRatios.joined(separator: " | ")
                + " | \(f.decimal(residency[0].bandCopies[band] / size, 2)) | \(residency[0].bandMaxCopies[band]) | \(f.percent(residency[0].bandModels[band] / size)) | \(f.decimal(residency[1].bandCopies[band] / size, 2)) |")
        }
        lines.append("")

        lines.append("### Hit ratio over time")
        lines.append("")
        lines.append("| window | mesh | per-peer LRU | Belady | mesh: failed requests |")
        lines.append("|---|---:|---:|---:|---:|")
        let windowMillis = c.duration.milliseconds / Int64(max(1, meshSummary.tally.windowRequests.count))
        for window in 0..<meshSummary.tally.windowRequests.count {
            let from = Duration.milliseconds(Int64(window) * windowMillis)
            let to = Duration.milliseconds(Int64(window + 1) * windowMillis)
            let values = columns.map { f.percent(ratio($0.tally.windowHits[window], $0.tally.windowRequests[window])) }
            lines.append("| \(f.duration(from))–\(f.duration(to)) | " + values.joined(separator: " | ") + " | \(f.count(mesh.windowFailures[window])) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var churnText: String {
        let f = ReportFormatting.self
        guard let every = configuration.killEvery, workload.deaths > 0 else { return "No peer dies." }
        let replaced = configuration.replaceAfter.map { "a fresh peer joins \(f.duration($0)) after each" } ?? "none is replaced"
        return "A random peer is killed every \(f.duration(every)) (\(workload.deaths) deaths; \(replaced), \(workload.joins) joins)."
    }
}

import ArgumentParser
import Foundation
import MeshCore
import MeshSimulation

@main
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh-simulate",
        abstract: "Run MeshCore's placement, routing, scaling and LRU over a simulated cluster and workload, next to a per-peer LRU and an offline-optimal baseline on the same trace.",
        discussion: "The defaults are the full-size run: 500 peers, 200,000 models, 1,000 requests/s for one hour."
    )

    @Option(help: "Peers at the start") var peers = 500
    @Option(help: "Memory per peer for models, GiB") var capacityGib = 8.0
    @Option(help: "Zones the peers are spread over (0: none)") var zones = 3
    @Option(help: "Registered models") var models = 200_000
    @Option(help: "Zipf exponent of model popularity") var zipf = 1.0
    @Option(help: "Median model size, MiB (log-normal)") var medianSizeMib = 256.0
    @Option(help: "Spread of model sizes: standard deviation of the logarithm") var sizeSpread = 0.8
    @Option(help: "Fixed part of a load, milliseconds") var loadBaseMs = 500
    @Option(help: "Load time per GiB of model, seconds") var loadSecondsPerGib = 4.0
    @Flag(help: "Register models without a size hint (peers plan with the default size until a load measures it)") var noSizeHints = false
    @Option(help: "Requests per second") var rate = 1000.0
    @Option(help: "Simulated seconds") var duration = 3600
    @Option(help: "Inference time per request, milliseconds") var inferenceMs = 20
    @Option(help: "Seed for the trace and every random choice") var seed: UInt64 = 1
    @Option(help: "Seconds between peer deaths (0: none)") var killEvery = 300
    @Option(help: "Seconds after a death before a fresh peer joins (negative: never)") var replaceAfter = 30
    @Option(help: "Age of a load report when the other peers receive it, milliseconds") var gossipDelayMs = 1000
    @Option(help: "Seconds between copy-scaling rounds") var scaleInterval = 1.0
    @Option(help: "Eviction policy of the mesh's peers: cost-aware or lru") var evictionPolicy = LocalCache.Policy.costAware.rawValue
    @Option(help: "Evictions of recently used models allowed per second and peer (the churn limit)") var churnLimit = MeshDefaults.churnLimitPerSecond
    @Option(help: "Seconds within which a model counts as recently used (the churn guard)") var minChurnAge = MeshDefaults.minChurnAge.seconds
    @Option(help: "Loads running at once on one peer") var maxLoadingConcurrency = MeshDefaults.maxLoadingConcurrency
    @Option(help: "Write the Markdown report here too") var report = ".build/simulation-report.md"
    @Flag(help: "Print only the report") var quiet = false

    func run() throws {
        var c = SimulationConfiguration()
        c.peers = peers
        c.peerCapacityBytes = Int64(capacityGib * Double(1 << 30))
        c.zones = zones
        c.models = models
        c.zipfExponent = zipf
        c.medianModelBytes = Int64(medianSizeMib * Double(1 << 20))
        c.modelSizeSpread = sizeSpread
        c.loadBase = .milliseconds(loadBaseMs)
        c.loadPerGiB = .milliseconds(Int64(loadSecondsPerGib * 1000))
        c.sizeHints = !noSizeHints
        c.requestsPerSecond = rate
        c.duration = .seconds(duration)
        c.inferenceLatency = .milliseconds(inferenceMs)
        c.seed = seed
        c.killEvery = killEvery > 0 ? .seconds(killEvery) : nil
        c.replaceAfter = replaceAfter >= 0 ? .seconds(replaceAfter) : nil
        c.gossipDelay = .milliseconds(gossipDelayMs)
        c.scaleInterval = .milliseconds(Int64(scaleInterval * 1000))
        guard let policy = LocalCache.Policy(rawValue: evictionPolicy) else {
            throw ValidationError("--eviction-policy must be cost-aware or lru")
        }
        c.evictionPolicy = policy
        c.churnLimitPerSecond = churnLimit
        c.minChurnAge = .milliseconds(Int64(minChurnAge * 1000))
        c.maxLoadingConcurrency = maxLoadingConcurrency
        try validate(c)

        let quiet = self.quiet
        let result = Simulation.run(c) { message in
            if !quiet { FileHandle.standardError.write(Data(("==> " + message + "\n").utf8)) }
        }
        let command = (["tools/simulate"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let markdown = result.markdown(command: command)
        print(markdown)
        let url = URL(fileURLWithPath: report)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(markdown.utf8).write(to: url)
        if !quiet { FileHandle.standardError.write(Data("==> report written to \(report)\n".utf8)) }
    }

    private func validate(_ c: SimulationConfiguration) throws {
        guard c.peers > 0, c.models > 0, c.requestsPerSecond > 0, duration > 0 else {
            throw ValidationError("peers, models, rate and duration must be positive")
        }
        guard c.peerCapacityBytes >= c.minModelBytes else {
            throw ValidationError("a peer must hold at least the smallest model (\(ByteCount(c.minModelBytes)))")
        }
        guard c.scaleInterval > .zero else { throw ValidationError("--scale-interval must be positive") }
    }
}

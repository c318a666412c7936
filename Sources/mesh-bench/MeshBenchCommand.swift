import ArgumentParser
import Foundation
import MeshBench
import OpenInferenceGRPC

@main
struct MeshBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh-bench",
        abstract: "Side-by-side benchmarks of the mesh on loopback (driven by tools/bench and tools/bench-scale).",
        subcommands: [Latency.self, Scale.self, Churn.self, DirectServerCommand.self, NIORelayCommand.self]
    )
}

struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Direct vs local hit vs forwarded hit vs nginx hop, throughput, cold misses and scale-up, in one run."
    )
    @Option(help: "Markdown file whose generated section is rewritten") var output = "BENCHMARKS.md"
    @Option(help: "Interleaved rounds per latency path") var rounds = 5
    @Option(help: "Seconds per round") var roundSeconds = 3.0
    @Option(help: "Seconds per throughput run") var throughputSeconds = 8.0
    @Flag(help: "A seconds-long run that checks the pieces work (numbers meaningless)") var quick = false

    func run() async throws {
        var options = quick ? LatencyBench.Options.quick : LatencyBench.Options()
        if !quick {
            options.rounds = rounds
            options.roundSeconds = roundSeconds
            options.throughputSeconds = throughputSeconds
        }
        setenv("MESH_PEER_LOG", "warning", 0)
        let results = try await LatencyBench.run(options) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let section = results.markdown
        print(section)
        if !quick {
            try MarkdownSection.write("tools/bench", content: section, toFile: output)
            FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
        }
    }
}

struct Scale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register 1k, 100k and 1M models and measure a fresh peer's start-up, memory, cold miss, warm hit and listing."
    )
    @Option(help: "Markdown file whose generated section is rewritten") var output = "BENCHMARKS.md"
    @Option(parsing: .upToNextOption, help: "Registry sizes, ascending") var sizes: [Int] = [1_000, 100_000, 1_000_000]
    @Flag(help: "Do not write the Markdown file") var dryRun = false

    func run() async throws {
        setenv("MESH_PEER_LOG", "warning", 0)
        var options = ScaleBench.Options()
        options.sizes = sizes.sorted()
        let results = try await ScaleBench.run(options) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let section = results.markdown
        print(section)
        if !dryRun {
            try MarkdownSection.write("tools/bench-scale", content: section, toFile: output)
            FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
        }
    }
}

struct Churn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Three small peers, more models than fit, Zipf clients and a burst for a new model: refusals, latency and loads against a pooled LRU."
    )
    @Option(help: "Markdown file whose generated section is rewritten") var output = "BENCHMARKS.md"
    @Option(help: "Seconds of load per skew") var seconds = 60.0
    @Option(parsing: .upToNextOption, help: "Zipf exponents, one run each (0: uniform)") var skews: [Double] = [1.1, 0.8, 0]
    @Option(help: "Closed-loop clients") var clients = 32
    @Option(help: "Concurrent requests for the new model after the run") var burst = 50
    @Option(parsing: .unconditional, help: "Flags added to every peer, as one word list, e.g. --peer-arguments '--eviction-policy lru'")
    var peerArguments: String = ""
    @Flag(help: "Do not write the Markdown file") var dryRun = false

    func run() async throws {
        setenv("MESH_PEER_LOG", "warning", 0)
        var options = ChurnBench.Options()
        options.seconds = seconds
        options.skews = skews
        options.clients = clients
        options.burst = burst
        options.peerArguments = peerArguments.split(whereSeparator: \.isWhitespace).map(String.init)
        let results = try await ChurnBench.run(options) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let section = results.markdown
        print(section)
        if !dryRun {
            try MarkdownSection.write("tools/bench-churn", content: section, toFile: output)
            FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
        }
    }
}

/// Where a benchmark's server listens.
struct ListenOptions: ParsableArguments {
    @Option var host = "127.0.0.1"
    @Option var port: Int
}

struct DirectServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "direct-server",
        abstract: "Serve one synthetic model over Open Inference REST (and gRPC) with no mesh in the path (the baseline)."
    )
    @OptionGroup var listen: ListenOptions
    @Option(help: "Also serve ModelInfer over gRPC on this port.") var grpcPort: Int?
    @Option var model: String
    @Option var modelFile: String

    func run() async throws {
        try await DirectServer.run(host: listen.host, port: listen.port, grpcPort: grpcPort, model: model, modelFile: modelFile)
    }
}

struct NIORelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nio-relay",
        abstract: "Relay connections to one upstream with nothing but SwiftNIO (the floor beside nginx for a hop)."
    )
    @OptionGroup var listen: ListenOptions
    @Option(help: "host:port to relay to") var upstream: String
    @Option(help: "http: through NIO's HTTP/1.1 codecs; tcp: bytes spliced as read") var mode: String = "http"

    func run() async throws {
        guard let mode = NIORelay.Mode(rawValue: mode) else { throw ValidationError("--mode is http or tcp") }
        guard let (upstreamHost, upstreamPort) = GRPCAddress.split(upstream) else { throw ValidationError("--upstream is host:port") }
        try await NIORelay.run(host: listen.host, port: listen.port, upstreamHost: upstreamHost, upstreamPort: upstreamPort, mode: mode)
    }
}

import ArgumentParser
import Foundation
import LoadGenerator

/// `mesh-loadgen`: open- or closed-loop Open Inference load against one or many peers and models.
@main
struct LoadGenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh-loadgen",
        abstract: "Send Open Inference requests over REST or gRPC at a fixed rate (open loop) or concurrency (closed loop) and report throughput and latency percentiles.",
        discussion: """
        Examples:
          mesh-loadgen --target http://127.0.0.1:8008 --model m --concurrency 32 --duration 10
          mesh-loadgen --target http://127.0.0.1:8008 --target http://127.0.0.1:8009 --model-prefix m- --model-count 1000 --rate 500 --duration 30
          mesh-loadgen --target grpc://127.0.0.1:8033 --model m --concurrency 32 --duration 10
        """
    )

    @Option(name: .customLong("target"), help: "Peer or proxy: http://host:port for REST, grpc://host:port for gRPC (repeatable); requests are spread over all")
    var targets: [String] = []
    @Option(name: .customLong("model"), help: "Model id (repeatable)")
    var models: [String] = []
    @Option(help: "With --model-count: models <prefix>0 ... <prefix>N-1")
    var modelPrefix: String?
    @Option(help: "How many models named with --model-prefix")
    var modelCount: Int?
    @Option(help: "Open loop: requests started per second")
    var rate: Double?
    @Option(help: "Closed loop: requests in flight (the default, 1, when --rate is not given)")
    var concurrency: Int?
    @Option(help: "Seconds to measure")
    var duration: Double?
    @Option(name: .customLong("requests"), help: "Stop after this many measured requests")
    var maxRequests: Int?
    @Option(help: "Seconds of unmeasured load first")
    var warmup: Double = 0
    @Option(help: "FP32 elements in the request tensor")
    var elements = 4
    @Flag(help: "Send the tensor as binary (Open Inference binary extension)")
    var binary = false
    @Option(help: "round-robin or random")
    var pick: String = LoadOptions.Pick.roundRobin.rawValue
    @Option(help: "Seconds before a request counts as failed")
    var timeout: Double = 30
    @Option(help: "Report when each distinct value of this response header was first seen (e.g. mm-served-by)")
    var trackHeader: String?
    @Flag(help: "Print the report as one JSON object")
    var json = false

    func options() throws -> LoadOptions {
        var names = models
        if let modelPrefix {
            guard let modelCount, modelCount > 0 else { throw ValidationError("--model-prefix needs a positive --model-count") }
            names += (0..<modelCount).map { "\(modelPrefix)\($0)" }
        }
        if rate != nil && concurrency != nil { throw ValidationError("give --rate (open loop) or --concurrency (closed loop), not both") }
        guard let pick = LoadOptions.Pick(rawValue: pick) else {
            throw ValidationError("--pick must be one of \(LoadOptions.Pick.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let mode: LoadOptions.Mode = rate.map { .openLoop(requestsPerSecond: $0) } ?? .closedLoop(concurrency: concurrency ?? 1)
        let measured: Duration? = duration.map { .milliseconds(Int64($0 * 1000)) } ?? (maxRequests == nil ? .seconds(10) : nil)
        let options = LoadOptions(
            targets: targets, models: names, mode: mode, duration: measured, maxRequests: maxRequests,
            warmup: .milliseconds(Int64(warmup * 1000)), tensorElements: elements, binary: binary, pick: pick,
            requestTimeout: .milliseconds(Int64(timeout * 1000)), trackHeader: trackHeader
        )
        do { try options.validate() } catch { throw ValidationError(error.description) }
        return options
    }

    func run() async throws {
        let options = try options()
        let connections: Int
        switch options.mode {
        case .closedLoop(let concurrency): connections = concurrency
        case .openLoop(let rate): connections = min(1024, max(8, Int(rate / 100)))
        }
        let client = LoadRunner.makeClient(connections: connections)
        let report = await (try LoadRunner(options: options, client: client)).run()
        try await client.shutdown()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
        if report.requests > 0 && report.errors == report.requests { throw ExitCode(1) }
    }
}

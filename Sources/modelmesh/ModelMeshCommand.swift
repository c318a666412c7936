import ArgumentParser
import Foundation
import Logging
import MeshPeer
import Metrics
import ModelRuntimes
import NIOPosix
import OTel
import OpenInference
import Prometheus
import RemoteRuntimes
import ServiceLifecycle

@main
struct ModelMeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelmesh",
        abstract: "A peer of swift-model-mesh: serves any registered model, loading it where and when it is used.",
        discussion: """
        Every setting can also come from an environment variable or a JSON config file (--config \
        FILE or MM_CONFIG, keyed by setting name); flags win over the environment, which wins over \
        the file.

        \(PeerSettings.helpText)
        """
    )

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings as --name value or --name=value (see below)", valueName: "settings"))
    var settings: [String] = []

    func run() async throws {
        // BLAS threads compete with concurrent requests for the same cores; one per call is the
        // better default for a server (set OPENBLAS_NUM_THREADS to override).
        setenv("OPENBLAS_NUM_THREADS", "1", 0)
        let environment = ProcessInfo.processInfo.environment
        let configuration: PeerConfiguration
        do {
            var arguments = settings
            let configPath = ConfigFile.takeConfigPath(&arguments) ?? environment["MM_CONFIG"]
            let file = try ConfigFile.read(configPath)
            configuration = try PeerSettings.resolve(flags: try PeerSettings.flags(from: arguments), environment: environment, file: file)
        } catch {
            throw ValidationError("\(error)")
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let json = configuration.logFormat == "json"
        // With tracing, every log line written inside a span carries its trace and span id.
        let tracing = configuration.otlpEndpoint != nil
        LoggingSystem.bootstrap({ label, provider in
            var handler: any LogHandler = json
                ? JSONLogHandler(label: label, metadataProvider: provider)
                : StreamLogHandler.standardError(label: label, metadataProvider: provider)
            handler.logLevel = level
            return handler
        }, metadataProvider: tracing ? OTel.makeLoggingMetadataProvider() : nil)
        let logger = Logger(label: "modelmesh")
        var first: [any Service] = []
        if let endpoint = configuration.otlpEndpoint {
            do {
                first.append(try Self.startTracing(endpoint: endpoint, peer: configuration.peerID.rawValue, logger: logger))
            } catch {
                FileHandle.standardError.write(Data("modelmesh: cannot start tracing: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }

        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000]
        factory.valueHistogramBuckets["modelmesh_loaded_model_size_bytes"] = [1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
        MetricsSystem.bootstrap(factory)

        // The built-in runtimes compute on threads of their own, stopped once the peer has stopped.
        let inferencePool = configuration.inferenceThreads > 0 ? NIOThreadPool(numberOfThreads: configuration.inferenceThreads) : nil
        inferencePool?.start()
        let inference = inferencePool.map { InferenceThreads($0) } ?? .caller
        let node: PeerNode
        do {
            // The built-in runtimes, then the runtime servers beside the peer.
            let servers = try configuration.runtimeServersPath.map { path in
                try RuntimeServers.load(file: path, maxMessageBytes: max(configuration.maxBodyBytes, 64 << 20), logger: logger)
            } ?? []
            node = try await PeerNode.make(
                configuration: configuration,
                runtimes: RuntimeRegistry([SyntheticRuntime(compute: inference), ONNXRuntime(compute: inference)] + servers),
                prometheus: registry,
                logger: logger
            )
        } catch {
            try? await inferencePool?.shutdownGracefully()
            FileHandle.standardError.write(Data("modelmesh: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        logger.info("starting", metadata: [
            "peer": "\(configuration.peerID)", "http": "\(configuration.listenHost):\(configuration.httpPort)",
            "grpc": "\(configuration.grpcPort.map { "\(configuration.listenHost):\($0)" } ?? "off")",
            "advertise": "\(configuration.httpAddress)", "etcd": "\(configuration.etcdEndpoints.joined(separator: ","))",
            "prefix": "\(configuration.layout.prefix)", "capacity": "\(configuration.capacityBytes)",
        ])
        var failure: (any Error)?
        do {
            try await node.run(first: first)
        } catch {
            failure = error
        }
        try? await inferencePool?.shutdownGracefully()
        if let failure {
            logger.critical("\(failure)")
            FileHandle.standardError.write(Data("modelmesh: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension ModelMeshCommand {
    /// Bootstraps the tracer: spans are batched and sent to `endpoint` over OTLP/HTTP
    /// (protobuf). Only traces: the peer's metrics stay on /metrics and its logs on stderr.
    /// Returns the exporter's service, which flushes what is left when the peer stops.
    static func startTracing(endpoint: String, peer: String, logger: Logger) throws -> any Service {
        var otel = OTel.Configuration.default
        otel.serviceName = "modelmesh"
        otel.resourceAttributes = ["service.instance.id": peer]
        otel.metrics.enabled = false
        otel.logs.enabled = false
        otel.traces.exporter = .otlp
        otel.traces.otlpExporter.endpoint = endpoint
        otel.traces.otlpExporter.protocol = .httpProtobuf
        otel.traces.batchSpanProcessor.scheduleDelay = .milliseconds(500)
        otel.diagnosticLogger = .custom(logger)
        let service = try OTel.bootstrap(configuration: otel, environment: [:])
        MeshPeer.MeshTracing.enable()
        return service
    }
}

/// The optional JSON config file: `{"capacity": "2Gi", "labels": ["gpu"], "http-port": 8008}`.
enum ConfigFile {
    static func read(_ path: String?) throws -> [String: String] {
        guard let path else { return [:] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the config file \(path)")
        }
        guard let object = (try? JSONParser.parse(Array(data)))?.objectValue else {
            throw ValidationError("the config file \(path) is not a JSON object")
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            guard PeerSettings.all.contains(where: { $0.name == key }) else {
                throw ValidationError("the config file \(path) has an unknown setting \"\(key)\"; see --help")
            }
            switch value {
            case .string(let text): values[key] = text
            case .int(let number): values[key] = String(number)
            case .double(let number): values[key] = String(number)
            case .bool(let flag): values[key] = flag ? "true" : "false"
            case .array(let list): values[key] = list.map { $0.stringValue ?? $0.int64Value.map(String.init) ?? "" }.joined(separator: ",")
            default: throw ValidationError("setting \"\(key)\" in \(path) must be a string, number, boolean or list")
            }
        }
        return values
    }

    /// Takes `--config FILE` (or `--config=FILE`) out of the arguments: the file is read before
    /// the other settings.
    static func takeConfigPath(_ arguments: inout [String]) -> String? {
        guard let index = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return nil }
        if arguments[index] == "--config" {
            guard index + 1 < arguments.count else { return nil }
            let path = arguments[index + 1]
            arguments.removeSubrange(index...(index + 1))
            return path
        }
        let path = String(arguments[index].dropFirst("--config=".count))
        arguments.remove(at: index)
        return path
    }
}

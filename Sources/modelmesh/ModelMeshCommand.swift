import ArgumentParser
import Foundation
import Logging
import MeshPeer
import Metrics
import ModelRuntimes
import OpenInference
import Prometheus

@main
struct ModelMeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelmesh",
        abstract: "A peer of swift-model-mesh: serves any registered model, loading it where and when it is used.",
        discussion: """
        Every setting can also come from an environment variable or a JSON config file (--config); \
        flags win over the environment, which wins over the file.

        \(PeerSettings.all.map { "  --\($0.name) / \($0.environment) (default: \($0.defaultText))" }.joined(separator: "\n"))
        """
    )

    @Option(name: .customLong("peer-id"), help: help("peer-id")) var peerID: String?
    @Option(name: .customLong("cluster"), help: help("cluster")) var cluster: String?
    @Option(name: .customLong("etcd-prefix"), help: help("etcd-prefix")) var etcdPrefix: String?
    @Option(name: .customLong("etcd-endpoints"), help: help("etcd-endpoints")) var etcdEndpoints: String?
    @Option(name: .customLong("listen-host"), help: help("listen-host")) var listenHost: String?
    @Option(name: .customLong("http-port"), help: help("http-port")) var httpPort: String?
    @Option(name: .customLong("grpc-port"), help: help("grpc-port")) var grpcPort: String?
    @Option(name: .customLong("advertise-host"), help: help("advertise-host")) var advertiseHost: String?
    @Option(name: .customLong("zone"), help: help("zone")) var zone: String?
    @Option(name: .customLong("labels"), help: help("labels")) var labels: String?
    @Option(name: .customLong("capacity"), help: help("capacity")) var capacity: String?
    @Option(name: .customLong("default-model-size"), help: help("default-model-size")) var defaultModelSize: String?
    @Option(name: .customLong("lease-ttl"), help: help("lease-ttl")) var leaseTTL: String?
    @Option(name: .customLong("request-timeout"), help: help("request-timeout")) var requestTimeout: String?
    @Option(name: .customLong("load-timeout"), help: help("load-timeout")) var loadTimeout: String?
    @Option(name: .customLong("min-churn-age"), help: help("min-churn-age")) var minChurnAge: String?
    @Option(name: .customLong("failure-expiry"), help: help("failure-expiry")) var failureExpiry: String?
    @Option(name: .customLong("max-load-failures"), help: help("max-load-failures")) var maxLoadFailures: String?
    @Option(name: .customLong("max-attempts"), help: help("max-attempts")) var maxAttempts: String?
    @Option(name: .customLong("max-body-bytes"), help: help("max-body-bytes")) var maxBodyBytes: String?
    @Option(name: .customLong("record-cache-size"), help: help("record-cache-size")) var recordCacheSize: String?
    @Option(name: .customLong("models-root"), help: help("models-root")) var modelsRoot: String?
    @Option(name: .customLong("per-model-metrics"), help: help("per-model-metrics")) var perModelMetrics: String?
    @Option(name: .customLong("storage-config"), help: help("storage-config")) var storageConfig: String?
    @Option(name: .customLong("gossip-interval"), help: help("gossip-interval")) var gossipInterval: String?
    @Option(name: .customLong("gossip-fanout"), help: help("gossip-fanout")) var gossipFanout: String?
    @Option(name: .customLong("scale-interval"), help: help("scale-interval")) var scaleInterval: String?
    @Option(name: .customLong("scale-up-rps"), help: help("scale-up-rps")) var scaleUpRPS: String?
    @Option(name: .customLong("scale-up-inflight"), help: help("scale-up-inflight")) var scaleUpInFlight: String?
    @Option(name: .customLong("idle-rps"), help: help("idle-rps")) var idleRPS: String?
    @Option(name: .customLong("scale-down-after"), help: help("scale-down-after")) var scaleDownAfter: String?
    @Option(name: .customLong("shutdown-timeout"), help: help("shutdown-timeout")) var shutdownTimeout: String?
    @Option(name: .customLong("migrate-used-within"), help: help("migrate-used-within")) var migrateUsedWithin: String?
    @Option(name: .customLong("cache-dir"), help: help("cache-dir")) var cacheDir: String?
    @Option(name: .customLong("cache-size"), help: help("cache-size")) var cacheSize: String?
    @Option(name: .customLong("max-model-size"), help: help("max-model-size")) var maxModelSize: String?
    @Option(name: .customLong("allowed-http-hosts"), help: help("allowed-http-hosts")) var allowedHTTPHosts: String?
    @Option(name: .customLong("config"), help: "A JSON file of settings, keyed by flag name (env: MM_CONFIG)") var config: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env: MM_LOG_LEVEL, default: info)") var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text or json (env: MM_LOG_FORMAT, default: text)") var logFormat: String?

    static func help(_ name: String) -> ArgumentHelp {
        let setting = PeerSettings.all.first { $0.name == name }!
        return ArgumentHelp("\(setting.help) (env: \(setting.environment), default: \(setting.defaultText))")
    }

    var flags: [String: String] {
        let pairs: [(String, String?)] = [
            ("peer-id", peerID), ("cluster", cluster), ("etcd-prefix", etcdPrefix), ("etcd-endpoints", etcdEndpoints),
            ("listen-host", listenHost), ("http-port", httpPort), ("grpc-port", grpcPort), ("advertise-host", advertiseHost),
            ("zone", zone), ("labels", labels), ("capacity", capacity), ("default-model-size", defaultModelSize),
            ("lease-ttl", leaseTTL), ("request-timeout", requestTimeout), ("load-timeout", loadTimeout),
            ("min-churn-age", minChurnAge), ("failure-expiry", failureExpiry), ("max-load-failures", maxLoadFailures),
            ("max-attempts", maxAttempts), ("max-body-bytes", maxBodyBytes), ("record-cache-size", recordCacheSize),
            ("models-root", modelsRoot), ("per-model-metrics", perModelMetrics), ("storage-config", storageConfig),
            ("gossip-interval", gossipInterval), ("gossip-fanout", gossipFanout), ("scale-interval", scaleInterval),
            ("scale-up-rps", scaleUpRPS), ("scale-up-inflight", scaleUpInFlight), ("idle-rps", idleRPS), ("scale-down-after", scaleDownAfter),
            ("shutdown-timeout", shutdownTimeout), ("migrate-used-within", migrateUsedWithin), ("cache-dir", cacheDir), ("cache-size", cacheSize), ("max-model-size", maxModelSize), ("allowed-http-hosts", allowedHTTPHosts),
        ]
        return Dictionary(uniqueKeysWithValues: pairs.compactMap { name, value in value.map { (name, $0) } })
    }

    func run() async throws {
        // BLAS threads compete with concurrent requests for the same cores; one per call is the
        // better default for a server (set OPENBLAS_NUM_THREADS to override).
        setenv("OPENBLAS_NUM_THREADS", "1", 0)
        let environment = ProcessInfo.processInfo.environment
        let level = Logger.Level(rawValue: logLevel ?? environment["MM_LOG_LEVEL"] ?? "info") ?? .info
        let json = (logFormat ?? environment["MM_LOG_FORMAT"] ?? "text") == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "modelmesh")

        let configuration: PeerConfiguration
        do {
            let file = try ConfigFile.read(config ?? environment["MM_CONFIG"])
            configuration = try PeerSettings.resolve(flags: flags, environment: environment, file: file)
        } catch {
            throw ValidationError("\(error)")
        }

        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000]
        factory.valueHistogramBuckets["modelmesh_loaded_model_size_bytes"] = [1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
        MetricsSystem.bootstrap(factory)

        let node: PeerNode
        do {
            node = try await PeerNode.make(
                configuration: configuration,
                runtimes: RuntimeRegistry([SyntheticRuntime(), ONNXRuntime()]),
                prometheus: registry,
                logger: logger
            )
        } catch {
            FileHandle.standardError.write(Data("modelmesh: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        logger.info("starting", metadata: [
            "peer": "\(configuration.peerID)", "http": "\(configuration.listenHost):\(configuration.httpPort)",
            "grpc": "\(configuration.grpcPort.map { "\(configuration.listenHost):\($0)" } ?? "off")",
            "advertise": "\(configuration.httpAddress)", "etcd": "\(configuration.etcdEndpoints.joined(separator: ","))",
            "prefix": "\(configuration.layout.prefix)", "capacity": "\(configuration.capacityBytes)",
        ])
        do {
            try await node.run()
        } catch {
            logger.critical("\(error)")
            FileHandle.standardError.write(Data("modelmesh: \(error)\n".utf8))
            throw ExitCode(1)
        }
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
}

import MeshCore

/// The settings a peer reads, from (lowest to highest precedence) defaults, a JSON config file,
/// `MM_*` environment variables and command-line flags. One table drives parsing and `--help`.
public enum PeerSettings {
    public struct Setting: Sendable {
        /// The flag name without dashes; also the key in the config file.
        public let name: String
        public let environment: String
        public let defaultText: String
        public let help: String
    }

    public static let all: [Setting] = [
        Setting(name: "peer-id", environment: "MM_PEER_ID", defaultText: "$HOSTNAME", help: "This peer's id; in a StatefulSet the pod name"),
        Setting(name: "cluster", environment: "MM_CLUSTER", defaultText: "default", help: "Cluster name; records live under /mm/<cluster> in etcd"),
        Setting(name: "etcd-prefix", environment: "MM_ETCD_PREFIX", defaultText: "/mm/<cluster>", help: "etcd key prefix (overrides --cluster)"),
        Setting(name: "etcd-endpoints", environment: "MM_ETCD_ENDPOINTS", defaultText: "http://127.0.0.1:2379", help: "Comma-separated etcd client URLs"),
        Setting(name: "listen-host", environment: "MM_LISTEN_HOST", defaultText: "0.0.0.0", help: "Address the servers bind to"),
        Setting(name: "http-port", environment: "MM_HTTP_PORT", defaultText: "8008", help: "REST port: Open Inference Protocol, /v1 management, /metrics, peer hops"),
        Setting(name: "grpc-port", environment: "MM_GRPC_PORT", defaultText: "8033", help: "gRPC port: Open Inference gRPC, ModelMesh management API, peer hops (0 disables gRPC)"),
        Setting(name: "advertise-host", environment: "MM_ADVERTISE_HOST", defaultText: "127.0.0.1", help: "Host other peers use to reach this one (pod IP or DNS name)"),
        Setting(name: "zone", environment: "MM_ZONE", defaultText: "none", help: "Failure zone; copies of a model spread across zones"),
        Setting(name: "labels", environment: "MM_LABELS", defaultText: "none", help: "Comma-separated labels models can require"),
        Setting(name: "capacity", environment: "MM_CAPACITY", defaultText: "1Gi", help: "Memory for models (bytes, or with Ki/Mi/Gi/K/M/G)"),
        Setting(name: "default-model-size", environment: "MM_DEFAULT_MODEL_SIZE", defaultText: "64Mi", help: "Size assumed for a model before its first load measures it"),
        Setting(name: "lease-ttl", environment: "MM_LEASE_TTL", defaultText: "10s", help: "etcd lease TTL: a crashed peer's records vanish after this"),
        Setting(name: "request-timeout", environment: "MM_REQUEST_TIMEOUT", defaultText: "60s", help: "Deadline for a request that sets none (mm-timeout-ms / grpc-timeout)"),
        Setting(name: "load-timeout", environment: "MM_LOAD_TIMEOUT", defaultText: "120s", help: "Longest a model load may take"),
        Setting(name: "min-churn-age", environment: "MM_MIN_CHURN_AGE", defaultText: "30s", help: "Never evict a model used more recently than this to load another"),
        Setting(name: "failure-expiry", environment: "MM_FAILURE_EXPIRY", defaultText: "180s", help: "How long a failed load keeps a peer from retrying that model"),
        Setting(name: "max-load-failures", environment: "MM_MAX_LOAD_FAILURES", defaultText: "3", help: "After this many recent failures a model answers with its last load error"),
        Setting(name: "max-attempts", environment: "MM_MAX_ATTEMPTS", defaultText: "8", help: "Routing attempts per request before giving up"),
        Setting(name: "max-body-bytes", environment: "MM_MAX_BODY_BYTES", defaultText: "64Mi", help: "Largest request body or gRPC message accepted (RESOURCE_EXHAUSTED over it)"),
        Setting(name: "record-cache-size", environment: "MM_RECORD_CACHE_SIZE", defaultText: "10000", help: "Model and vmodel records cached in memory"),
        Setting(name: "models-root", environment: "MM_MODELS_ROOT", defaultText: "/models", help: "Root for relative storage paths (a mounted volume)"),
        Setting(name: "storage-config", environment: "MM_STORAGE_CONFIG", defaultText: "none", help: "storage-config Secret directory or JSON file (ModelMesh format); reloaded on change"),
        Setting(name: "cache-dir", environment: "MM_CACHE_DIR", defaultText: "$TMPDIR/modelmesh-cache/<peer-id>", help: "Disk cache for downloaded models"),
        Setting(name: "cache-size", environment: "MM_CACHE_SIZE", defaultText: "20Gi", help: "Disk cache bound; least recently used models not in use go first"),
        Setting(name: "max-model-size", environment: "MM_MAX_MODEL_SIZE", defaultText: "8Gi", help: "Largest model download accepted (enforced while streaming)"),
        Setting(name: "allowed-http-hosts", environment: "MM_ALLOWED_HTTP_HOSTS", defaultText: "any", help: "Comma-separated hosts HTTP storage may use (*.example.com allowed)"),
        Setting(name: "gossip-interval", environment: "MM_GOSSIP_INTERVAL", defaultText: "1s", help: "How often load reports are pushed to other peers"),
        Setting(name: "gossip-fanout", environment: "MM_GOSSIP_FANOUT", defaultText: "3", help: "Peers each load report is pushed to"),
        Setting(name: "scale-interval", environment: "MM_SCALE_INTERVAL", defaultText: "1s", help: "How often copy counts are reconsidered"),
        Setting(name: "scale-up-rps", environment: "MM_SCALE_UP_RPS", defaultText: "30", help: "Requests per second per copy beyond which a model gets more copies (per model: scaleUpRequestsPerSecond)"),
        Setting(name: "scale-up-inflight", environment: "MM_SCALE_UP_INFLIGHT", defaultText: "8", help: "Requests in flight per copy beyond which a model gets more copies"),
        Setting(name: "idle-rps", environment: "MM_IDLE_RPS", defaultText: "scale-up-rps / 10", help: "Below this total rate a model counts as idle"),
        Setting(name: "scale-down-after", environment: "MM_SCALE_DOWN_AFTER", defaultText: "120s", help: "Idle this long, a model loses a copy (never below max(minCopies, 1))"),
        Setting(name: "shutdown-timeout", environment: "MM_SHUTDOWN_TIMEOUT", defaultText: "60s", help: "On SIGTERM, how long to spend moving recently used models to other peers"),
        Setting(name: "migrate-used-within", environment: "MM_MIGRATE_USED_WITHIN", defaultText: "1h", help: "On SIGTERM, models used this recently are re-created elsewhere first"),
        Setting(name: "per-model-metrics", environment: "MM_PER_MODEL_METRICS", defaultText: "true", help: "Label request metrics by model (first 1000 models)"),
    ]

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// Resolves the configuration. `values` maps setting names to text from flags; `environment`
    /// is the process environment; `file` holds the config file's entries.
    public static func resolve(flags: [String: String], environment: [String: String], file: [String: String]) throws -> PeerConfiguration {
        func value(_ name: String) -> String? {
            if let flag = flags[name] { return flag }
            let setting = all.first { $0.name == name }!
            if let env = environment[setting.environment], !env.isEmpty { return env }
            return file[name]
        }
        guard let rawID = value("peer-id") ?? environment["HOSTNAME"] else {
            throw Problem(description: "no peer id: pass --peer-id, set MM_PEER_ID, or run where HOSTNAME is set (a StatefulSet pod)")
        }
        var configuration: PeerConfiguration
        do {
            configuration = PeerConfiguration(peerID: try PeerID(rawID))
        } catch {
            throw Problem(description: "--peer-id: \(error.description)")
        }
        if let text = value("cluster") {
            do { try MeshIdentifier.validate(text, kind: "cluster name") } catch { throw Problem(description: "--cluster: \(error.description)") }
            configuration.clusterName = text
        }
        if let text = value("etcd-prefix") {
            guard text.hasPrefix("/") else { throw Problem(description: "--etcd-prefix must start with '/'") }
            configuration.etcdPrefix = text
        }
        if let text = value("etcd-endpoints") {
            let endpoints = text.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            guard !endpoints.isEmpty else { throw Problem(description: "--etcd-endpoints is empty") }
            configuration.etcdEndpoints = endpoints
        }
        if let text = value("listen-host") { configuration.listenHost = text }
        if let text = value("http-port") { configuration.httpPort = try port(text, "http-port") }
        if let text = value("grpc-port") {
            let grpc = try port(text, "grpc-port", allowZero: true)
            configuration.grpcPort = grpc == 0 ? nil : grpc
        }
        if let text = value("advertise-host") { configuration.advertiseHost = text }
        if let text = value("zone"), !text.isEmpty { configuration.zone = text }
        if let text = value("labels") { configuration.labels = text.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty } }
        if let text = value("capacity") { configuration.capacityBytes = try bytes(text, "capacity") }
        if let text = value("default-model-size") { configuration.defaultModelSizeBytes = try bytes(text, "default-model-size") }
        if let text = value("lease-ttl") {
            let ttl = try duration(text, "lease-ttl")
            guard ttl >= .seconds(2) else { throw Problem(description: "--lease-ttl must be at least 2s") }
            configuration.leaseTTLSeconds = Int64(ttl.seconds.rounded(.up))
        }
        if let text = value("request-timeout") { configuration.requestTimeout = try duration(text, "request-timeout") }
        if let text = value("load-timeout") { configuration.loadTimeout = try duration(text, "load-timeout") }
        if let text = value("min-churn-age") { configuration.minChurnAge = try duration(text, "min-churn-age", allowZero: true) }
        if let text = value("failure-expiry") { configuration.failureExpiry = try duration(text, "failure-expiry") }
        if let text = value("max-load-failures") { configuration.maxLoadFailures = try count(text, "max-load-failures") }
        if let text = value("max-attempts") { configuration.maxAttempts = try count(text, "max-attempts") }
        if let text = value("max-body-bytes") { configuration.maxBodyBytes = Int(try bytes(text, "max-body-bytes")) }
        if let text = value("record-cache-size") { configuration.recordCacheSize = try count(text, "record-cache-size") }
        if let text = value("models-root") { configuration.modelsRoot = text }
        if let text = value("storage-config"), !text.isEmpty { configuration.storageConfigPath = text }
        if let text = value("cache-dir"), !text.isEmpty { configuration.cacheDirectory = text }
        if let text = value("cache-size") { configuration.cacheBytes = try bytes(text, "cache-size") }
        if let text = value("max-model-size") { configuration.maxModelBytes = try bytes(text, "max-model-size") }
        if let text = value("allowed-http-hosts") {
            let hosts = text.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            configuration.allowedHTTPHosts = hosts.isEmpty ? nil : hosts
        }
        if let text = value("gossip-interval") { configuration.gossipInterval = try duration(text, "gossip-interval") }
        if let text = value("gossip-fanout") { configuration.gossipFanout = try count(text, "gossip-fanout") }
        if let text = value("scale-interval") { configuration.scaleInterval = try duration(text, "scale-interval") }
        if let text = value("scale-up-rps") { configuration.scaleUpRequestsPerSecond = try rate(text, "scale-up-rps") }
        if let text = value("scale-up-inflight") { configuration.scaleUpInFlight = try rate(text, "scale-up-inflight") }
        if let text = value("idle-rps") { configuration.idleRequestsPerSecond = try rate(text, "idle-rps") }
        if let text = value("scale-down-after") { configuration.scaleDownAfter = try duration(text, "scale-down-after") }
        if let text = value("shutdown-timeout") { configuration.shutdownTimeout = try duration(text, "shutdown-timeout") }
        if let text = value("migrate-used-within") { configuration.migrateUsedWithin = try duration(text, "migrate-used-within") }
        if let text = value("per-model-metrics") { configuration.perModelMetrics = try flag(text, "per-model-metrics") }
        return configuration
    }

    static func port(_ text: String, _ name: String, allowZero: Bool = false) throws -> Int {
        guard let value = Int(text), value >= (allowZero ? 0 : 1), value <= 65535 else {
            throw Problem(description: "--\(name) must be a port number, not \"\(text)\"")
        }
        return value
    }

    static func count(_ text: String, _ name: String) throws -> Int {
        guard let value = Int(text), value > 0 else { throw Problem(description: "--\(name) must be a positive integer, not \"\(text)\"") }
        return value
    }

    static func rate(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value > 0, value.isFinite else {
            throw Problem(description: "--\(name) must be a positive number, not \"\(text)\"")
        }
        return value
    }

    static func flag(_ text: String, _ name: String) throws -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw Problem(description: "--\(name) must be true or false, not \"\(text)\"")
        }
    }

    /// `30s`, `500ms`, `2m`, `1h`, or a plain number of seconds.
    public static func duration(_ text: String, _ name: String, allowZero: Bool = false) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = text
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let stripped = String(text.dropLast(suffix.count))
            if Double(stripped) != nil {
                number = stripped
                scale = factor
                break
            }
        }
        guard let value = Double(number), value >= 0, allowZero || value > 0 else {
            throw Problem(description: "--\(name) must be a duration like 30s, 500ms or 2m, not \"\(text)\"")
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    /// `1Gi`, `512Mi`, `64Ki`, `2G`, `500M`, or plain bytes.
    public static func bytes(_ text: String, _ name: String) throws -> Int64 {
        let units: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
                                         ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        var number = text
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = String(text.dropLast(suffix.count))
            scale = factor
            break
        }
        guard let value = Double(number), value > 0 else {
            throw Problem(description: "--\(name) must be a size like 1Gi, 512Mi or 1000000, not \"\(text)\"")
        }
        return Int64(value * scale)
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var text = self
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String { self[...].trimmingCharacters(in: set) }
}

import MeshCore
import ModelStorage

/// The settings a peer reads, declared once: each entry is a flag (`--name`), an environment
/// variable (`MM_NAME`), a config-file key (`name`), a default and a help line, and how its text
/// changes the configuration. Precedence, lowest first: defaults, the JSON config file, `MM_*`
/// variables, flags.
///
/// (apple/swift-configuration layers providers the same way, but it neither parses our units
/// (`64Mi`, `30s`) nor generates `--help`; the table below would be needed anyway, and the
/// layering it adds is the ten lines of ``resolve(flags:environment:file:)``.)
public enum PeerSettings {
    public struct Setting: Sendable {
        /// The flag name without dashes; also the key in the config file.
        public let name: String
        public let help: String
        /// The default as `--help` shows it.
        public let defaultText: String
        let apply: @Sendable (String, inout PeerConfiguration) throws(Problem) -> Void

        /// `MM_` and the name in capitals, dashes as underscores.
        public var environment: String {
            "MM_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
        }
    }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The configuration every default comes from (the peer id is set later).
    static let defaults = PeerConfiguration(peerID: PeerID(trusted: "default"))

    public static let all: [Setting] = [
        Setting(name: "peer-id", help: "This peer's id; in a StatefulSet the pod name", defaultText: "$HOSTNAME") { text, configuration throws(Problem) in
            do { configuration.peerID = try PeerID(text) } catch { throw Problem(description: "--peer-id: \(error)") }
        },
        Setting(name: "cluster", help: "Cluster name; records live under /mm/<cluster> in etcd", defaultText: defaults.clusterName) { text, configuration throws(Problem) in
            do { try MeshIdentifier.validate(text, kind: "cluster name") } catch { throw Problem(description: "--cluster: \(error)") }
            configuration.clusterName = text
        },
        Setting(name: "etcd-prefix", help: "etcd key prefix (overrides --cluster)", defaultText: "/mm/<cluster>") { text, configuration throws(Problem) in
            guard text.hasPrefix("/") else { throw Problem(description: "--etcd-prefix must start with '/'") }
            configuration.etcdPrefix = text
        },
        list("etcd-endpoints", \.etcdEndpoints, help: "Comma-separated etcd client URLs", allowEmpty: false),
        optionalText("etcd-ca-file", \.etcdCAFile, help: "PEM CA certificates to trust for https:// etcd endpoints", defaultText: "the system's roots"),
        optionalText("etcd-cert-file", \.etcdCertificateFile, help: "PEM client certificate for etcd (its --client-cert-auth)", defaultText: "none"),
        optionalText("etcd-key-file", \.etcdKeyFile, help: "PEM key of --etcd-cert-file", defaultText: "none"),
        optionalText("etcd-username", \.etcdUsername, help: "etcd user, when etcd's authentication is enabled (with --etcd-password-file)", defaultText: "none"),
        optionalText("etcd-password-file", \.etcdPasswordFile, help: "File holding the etcd user's password (a mounted Secret)", defaultText: "none"),
        optionalText("cluster-secret-file", \.clusterSecretFile,
                     help: "File with the cluster's shared secret (a mounted Secret, 32+ bytes): hops and gossip are signed and only signed ones accepted",
                     defaultText: "none (peer-only requests accepted from peers' addresses)"),
        optionalText("tls-cert-file", \.tlsCertificateFile,
                     help: "PEM certificate chain (tls.crt) the REST and gRPC servers present; with --tls-key-file they serve TLS and hops to peers use it",
                     defaultText: "none (plaintext)"),
        optionalText("tls-key-file", \.tlsKeyFile, help: "PEM private key (tls.key) of --tls-cert-file", defaultText: "none"),
        optionalText("tls-ca-file", \.tlsCAFile,
                     help: "PEM CA certificates (ca.crt) that sign the peers' certificates: hops trust only them; client certificates are checked against them",
                     defaultText: "the system's roots"),
        flag("tls-require-client-cert", \.tlsRequireClientCertificates,
             help: "Accept only TLS clients (and peers) presenting a certificate --tls-ca-file signed"),
        duration("tls-reload-interval", \.tlsReloadInterval, help: "How often the certificate and key files are re-read (a renewed Secret takes effect within it)"),
        Setting(name: "otlp-endpoint", help: "OTLP/HTTP endpoint spans are exported to, e.g. http://collector:4318/v1/traces (W3C traceparent is then continued from clients and across hops)", defaultText: "none (tracing off)") { text, configuration throws(Problem) in
            guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count > 8 else {
                throw Problem(description: "--otlp-endpoint must be an http:// or https:// URL, not \"\(TextLimit.clip(text))\"")
            }
            configuration.otlpEndpoint = text
        },
        optionalText("auth-tokens-file", \.authTokensFile,
                     help: "File of bearer tokens as '<role> <principal> <sha256 of the token>' lines (roles: admin, infer); when set, every request but health needs a token",
                     defaultText: "none (no tokens asked)"),
        Setting(name: "metrics-access", help: "Who may read /metrics when tokens are asked: open, or infer (any token)", defaultText: "open") { text, configuration throws(Problem) in
            switch text {
            case "open": configuration.metricsOpen = true
            case "infer": configuration.metricsOpen = false
            default: throw Problem(description: "--metrics-access must be open or infer, not \"\(TextLimit.clip(text))\"")
            }
        },
        duration("auth-reload-interval", \.authReloadInterval, help: "How often the tokens file is re-read (a rotated Secret takes effect within it)"),
        text("listen-host", \.listenHost, help: "Address the servers bind to"),
        port("http-port", \.httpPort, help: "REST port: Open Inference Protocol, /v1 management, /metrics, peer hops"),
        Setting(name: "grpc-port", help: "gRPC port: Open Inference gRPC, ModelMesh management API, peer hops (0 disables gRPC)",
                defaultText: defaults.grpcPort.map(String.init) ?? "0") { text, configuration throws(Problem) in
            let grpc = try port(text, "grpc-port", allowZero: true)
            configuration.grpcPort = grpc == 0 ? nil : grpc
        },
        text("advertise-host", \.advertiseHost, help: "Host other peers use to reach this one (pod IP or DNS name)"),
        Setting(name: "zone", help: "Failure zone; copies of a model spread across zones", defaultText: "none") { text, configuration throws(Problem) in
            configuration.zone = text.isEmpty ? nil : text
        },
        list("labels", \.labels, help: "Comma-separated labels models can require", defaultText: "none"),
        bytes("capacity", \.capacityBytes, help: "Memory for models (bytes, or with Ki/Mi/Gi/K/M/G)"),
        bytes("default-model-size", \.defaultModelSizeBytes, help: "Size assumed for a model before its first load measures it"),
        Setting(name: "lease-ttl", help: "etcd lease TTL: a crashed peer's records vanish after this",
                defaultText: "\(defaults.leaseTTLSeconds)s") { text, configuration throws(Problem) in
            let ttl = try duration(text, "lease-ttl")
            guard ttl >= .seconds(2) else { throw Problem(description: "--lease-ttl must be at least 2s") }
            configuration.leaseTTLSeconds = Int64(ttl.seconds.rounded(.up))
        },
        duration("request-timeout", \.requestTimeout, help: "Deadline for a request that sets none (mm-timeout-ms / grpc-timeout)"),
        duration("load-timeout", \.loadTimeout, help: "Longest a model load may take"),
        duration("hop-probe-after", \.hopProbeAfter,
                 help: "Longest a hop waits before its peer's liveness is probed (sooner for models that answer fast), again every interval; a peer that does not answer is skipped (0: off)",
                 allowZero: true),
        duration("hop-probe-floor", \.hopProbeFloor, help: "Shortest a hop waits before its peer is probed, however fast the model answers"),
        duration("hop-probe-timeout", \.hopProbeTimeout, help: "How long a probed peer has to answer its liveness route before it counts as frozen"),
        duration("watch-check-interval", \.watchCheckInterval,
                 help: "How often the etcd watch is checked against etcd's revision; a silent watch is replaced and the cluster re-read (0: off)",
                 allowZero: true),
        duration("copy-audit-interval", \.copyAuditInterval,
                 help: "How often this peer's copy records in etcd are reconciled with the models it holds (0: off)", allowZero: true),
        duration("min-churn-age", \.minChurnAge,
                 help: "Models used more recently than this are evicted only after every older one, and only as fast as --churn-limit allows", allowZero: true),
        rate("churn-limit", \.churnLimitPerSecond, help: "Evictions per second of models used within --min-churn-age (loads beyond it wait)"),
        count("max-loading-concurrency", \.maxLoadingConcurrency, help: "Model loads running at once on this peer; more queue, request loads first"),
        Setting(name: "eviction-policy", help: "cost-aware (uses × load time ÷ size) or lru", defaultText: LocalCache.Policy.costAware.rawValue) { text, configuration throws(Problem) in
            guard let policy = LocalCache.Policy(rawValue: text) else { throw Problem(description: "--eviction-policy must be cost-aware or lru, not \"\(TextLimit.clip(text))\"") }
            configuration.evictionPolicy = policy
        },
        duration("failure-expiry", \.failureExpiry, help: "How long a failed load keeps a peer from retrying that model"),
        count("max-load-failures", \.maxLoadFailures, help: "After this many recent failures a model answers with its last load error"),
        count("max-attempts", \.maxAttempts, help: "Routing attempts per request before giving up"),
        Setting(name: "max-body-bytes", help: "Largest request body or gRPC message accepted (RESOURCE_EXHAUSTED over it)",
                defaultText: bytesText(Int64(defaults.maxBodyBytes))) { text, configuration throws(Problem) in
            configuration.maxBodyBytes = Int(try bytes(text, "max-body-bytes"))
        },
        bytes("body-memory", \.bodyMemoryBytes, help: "Memory for request bodies read at once; large requests beyond it get 503 until others finish"),
        duration("idle-timeout", \.idleTimeout, help: "Client connections idle this long are closed (HTTP and gRPC)"),
        count("max-connections", \.maxConnections, help: "Open HTTP connections at most; more wait to be accepted"),
        count("record-cache-size", \.recordCacheSize, help: "Model and vmodel records cached in memory"),
        Setting(name: "inference-threads",
                help: "Threads that run built-in models' computation (ONNX), so that it holds up no connection; 0: on the request's event loop",
                defaultText: "one per CPU the peer may use") { text, configuration throws(Problem) in
            guard let value = Int(text), (0...1024).contains(value) else {
                throw Problem(description: "--inference-threads must be a number of threads from 0 to 1024, not \"\(TextLimit.clip(text))\"")
            }
            configuration.inferenceThreads = value
        },
        text("models-root", \.modelsRoot, help: "Root for relative storage paths (a mounted volume)"),
        optionalText("storage-config", \.storageConfigPath, help: "storage-config Secret directory or JSON file (ModelMesh format); reloaded on change",
                     defaultText: "none"),
        optionalText("runtime-servers", \.runtimeServersPath,
                     help: "YAML or JSON file of runtime servers beside the peer (MLServer, Triton, ModelMesh runtimes): each a pool with its formats and memory",
                     defaultText: "none (built-in runtimes only)"),
        optionalText("cache-dir", \.cacheDirectory, help: "Disk cache for downloaded models", defaultText: "$TMPDIR/modelmesh-cache/<peer-id>"),
        bytes("cache-size", \.cacheBytes, help: "Disk cache bound; least recently used models not in use go first"),
        bytes("max-model-size", \.maxModelBytes, help: "Largest model download accepted (enforced while streaming)"),
        Setting(name: "allowed-http-hosts", help: "Comma-separated hosts HTTP storage may use (*.example.com allowed)",
                defaultText: "any") { text, configuration throws(Problem) in
            let hosts = splitList(text)
            configuration.allowedHTTPHosts = hosts.isEmpty ? nil : hosts
        },
        Setting(name: "storage-egress-allow", help: "Comma-separated addresses, CIDR ranges or hosts (optionally :port) HTTP storage may reach although refused by default (loopback, link-local, metadata)",
                defaultText: "none") { text, configuration throws(Problem) in
            do { _ = try EgressRule.list(text) } catch { throw Problem(description: "--storage-egress-allow: \(error)") }
            configuration.storageEgressAllow = splitList(text)
        },
        flag("storage-egress-deny-private", \.storageEgressDenyPrivate, help: "Refuse private networks (10/8, 172.16/12, 192.168/16, fc00::/7) to HTTP storage"),
        duration("gossip-interval", \.gossipInterval, help: "How often load reports are pushed to other peers"),
        count("gossip-fanout", \.gossipFanout, help: "Peers each load report is pushed to"),
        duration("scale-interval", \.scaleInterval, help: "How often copy counts are reconsidered"),
        rate("scale-up-rps", \.scaleUpRequestsPerSecond,
             help: "Requests per second per copy beyond which a model gets more copies (per model: scaleUpRequestsPerSecond)"),
        rate("scale-up-inflight", \.scaleUpInFlight, help: "Requests in flight per copy beyond which a model gets more copies"),
        Setting(name: "idle-rps", help: "Below this total rate a model counts as idle", defaultText: "scale-up-rps / 10") { text, configuration throws(Problem) in
            configuration.idleRequestsPerSecond = try rate(text, "idle-rps")
        },
        duration("scale-down-after", \.scaleDownAfter, help: "Idle this long, a model loses a copy (never below max(minCopies, 1))"),
        duration("shutdown-timeout", \.shutdownTimeout, help: "On SIGTERM, how long to spend moving recently used models to other peers"),
        duration("migrate-used-within", \.migrateUsedWithin, help: "On SIGTERM, models used this recently are re-created elsewhere first"),
        flag("per-model-metrics", \.perModelMetrics, help: "Label request metrics by model (first 1000 models)"),
        flag("grpc-one-loop", \.grpcOneLoop,
             help: "Serve gRPC and make gRPC hops on one thread of their own: less CPU per call and hop; built-in inference over gRPC then uses one core"),
        Setting(name: "grpc-infer-hops", help: "http1 (ModelInfer hops as protobuf over the peers' HTTP/1.1 connections) or grpc",
                defaultText: GRPCInferHops.http1.rawValue) { text, configuration throws(Problem) in
            guard let hops = GRPCInferHops(rawValue: text) else {
                throw Problem(description: "--grpc-infer-hops must be http1 or grpc, not \"\(TextLimit.clip(text))\"")
            }
            configuration.grpcInferHops = hops
        },
        flag("rest-fast-path", \.restFastPath,
             help: "Answer REST inference requests on the connection's channel, without the router's per-request machinery (same answers)"),
        flag("grpc-fast-path", \.grpcFastPath,
             help: "Answer gRPC ModelInfer calls on their HTTP/2 stream, without grpc-swift's per-call machinery (same answers)"),
        text("log-level", \.logLevel, help: "trace, debug, info, notice, warning, error or critical"),
        text("log-format", \.logFormat, help: "text or json"),
    ]

    /// Resolves the configuration. `flags` maps setting names to text from the command line;
    /// `environment` is the process environment; `file` holds the config file's entries.
    public static func resolve(flags: [String: String], environment: [String: String], file: [String: String]) throws -> PeerConfiguration {
        var configuration = defaults
        guard let peerID = flags["peer-id"] ?? nonEmpty(environment["MM_PEER_ID"]) ?? file["peer-id"] ?? environment["HOSTNAME"] else {
            throw Problem(description: "no peer id: pass --peer-id, set MM_PEER_ID, or run where HOSTNAME is set (a StatefulSet pod)")
        }
        try all[0].apply(peerID, &configuration)
        for setting in all.dropFirst() {
            guard let text = flags[setting.name] ?? nonEmpty(environment[setting.environment]) ?? file[setting.name] else { continue }
            try setting.apply(text, &configuration)
        }
        if (configuration.tlsCertificateFile == nil) != (configuration.tlsKeyFile == nil) {
            throw Problem(description: "--tls-cert-file and --tls-key-file go together: set both to serve TLS, or neither")
        }
        if (configuration.etcdCertificateFile == nil) != (configuration.etcdKeyFile == nil) {
            throw Problem(description: "--etcd-cert-file and --etcd-key-file go together")
        }
        if (configuration.etcdUsername == nil) != (configuration.etcdPasswordFile == nil) {
            throw Problem(description: "--etcd-username and --etcd-password-file go together")
        }
        if configuration.tlsRequireClientCertificates && (configuration.tlsCAFile == nil || configuration.tlsCertificateFile == nil) {
            throw Problem(description: "--tls-require-client-cert needs --tls-cert-file, --tls-key-file and --tls-ca-file (the CA client certificates are checked against)")
        }
        return configuration
    }

    /// `--name value` and `--name=value` pairs from the command line, by setting name; an
    /// unknown flag or a missing value is refused with what was expected.
    public static func flags(from arguments: [String]) throws -> [String: String] {
        var flags: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else { throw Problem(description: "unexpected argument \"\(TextLimit.clip(argument))\"") }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard all.contains(where: { $0.name == name }) else {
                throw Problem(description: "unknown option --\(TextLimit.clip(name)); see --help for the settings")
            }
            if value == nil {
                index += 1
                guard index < arguments.count else { throw Problem(description: "--\(name) needs a value") }
                value = arguments[index]
            }
            flags[name] = value
            index += 1
        }
        return flags
    }

    /// Every setting with its variable and default, for `--help`.
    public static var helpText: String {
        all.map { "  --\($0.name) (\($0.environment), default \($0.defaultText))\n      \($0.help)" }.joined(separator: "\n")
    }

    private static func nonEmpty(_ text: String?) -> String? {
        text.flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: Kinds of setting

    static func text(_ name: String, _ path: WritableKeyPath<PeerConfiguration, String> & Sendable, help: String) -> Setting {
        Setting(name: name, help: help, defaultText: defaults[keyPath: path]) { text, configuration in configuration[keyPath: path] = text }
    }

    static func optionalText(_ name: String, _ path: WritableKeyPath<PeerConfiguration, String?> & Sendable, help: String, defaultText: String) -> Setting {
        Setting(name: name, help: help, defaultText: defaultText) { text, configuration in configuration[keyPath: path] = text.isEmpty ? nil : text }
    }

    static func list(_ name: String, _ path: WritableKeyPath<PeerConfiguration, [String]> & Sendable, help: String,
                     defaultText: String? = nil, allowEmpty: Bool = true) -> Setting {
        Setting(name: name, help: help, defaultText: defaultText ?? defaults[keyPath: path].joined(separator: ",")) { text, configuration throws(Problem) in
            let items = splitList(text)
            guard allowEmpty || !items.isEmpty else { throw Problem(description: "--\(name) is empty") }
            configuration[keyPath: path] = items
        }
    }

    static func port(_ name: String, _ path: WritableKeyPath<PeerConfiguration, Int> & Sendable, help: String) -> Setting {
        Setting(name: name, help: help, defaultText: String(defaults[keyPath: path])) { text, configuration throws(Problem) in
            configuration[keyPath: path] = try port(text, name)
        }
    }

    static func count(_ name: String, _ path: WritableKeyPath<PeerConfiguration, Int> & Sendable, help: String) -> Setting {
        Setting(name: name, help: help, defaultText: String(defaults[keyPath: path])) { text, configuration throws(Problem) in
            configuration[keyPath: path] = try count(text, name)
        }
    }

    static func bytes(_ name: String, _ path: WritableKeyPath<PeerConfiguration, Int64> & Sendable, help: String) -> Setting {
        Setting(name: name, help: help, defaultText: bytesText(defaults[keyPath: path])) { text, configuration throws(Problem) in
            configuration[keyPath: path] = try bytes(text, name)
        }
    }

    static func duration(_ name: String, _ path: WritableKeyPath<PeerConfiguration, Duration> & Sendable, help: String,
                         allowZero: Bool = false) -> Setting {
        Setting(name: name, help: help, defaultText: durationText(defaults[keyPath: path])) { text, configuration throws(Problem) in
            configuration[keyPath: path] = try duration(text, name, allowZero: allowZero)
        }
    }

    static func rate(_ name: String, _ path: WritableKeyPath<PeerConfiguration, Double> & Sendable, help: String) -> Setting {
        Setting(name: name, help: help, defaultText: Formatting.decimal(defaults[keyPath: path])) { text, configuration throws(Problem) in
            configuration[keyPath: path] = try rate(text, name)
        }
    }

    static func flag(_ name: String, _ path: WritableKeyPath<PeerConfiguration, Bool> & Sendable, help: String) -> Setting {
        Setting(name: name, help: help, defaultText: String(defaults[keyPath: path])) { text, configuration throws(Problem) in
            configuration[keyPath: path] = try flag(text, name)
        }
    }

    // MARK: Values

    static func splitList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    static func port(_ text: String, _ name: String, allowZero: Bool = false) throws(Problem) -> Int {
        guard let value = Int(text), value >= (allowZero ? 0 : 1), value <= 65535 else {
            throw Problem(description: "--\(name) must be a port number, not \"\(TextLimit.clip(text))\"")
        }
        return value
    }

    static func count(_ text: String, _ name: String) throws(Problem) -> Int {
        guard let value = Int(text), value > 0 else { throw Problem(description: "--\(name) must be a positive integer, not \"\(TextLimit.clip(text))\"") }
        return value
    }

    static func rate(_ text: String, _ name: String) throws(Problem) -> Double {
        guard let value = Double(text), value > 0, value.isFinite else {
            throw Problem(description: "--\(name) must be a positive number, not \"\(TextLimit.clip(text))\"")
        }
        return value
    }

    static func flag(_ text: String, _ name: String) throws(Problem) -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw Problem(description: "--\(name) must be true or false, not \"\(TextLimit.clip(text))\"")
        }
    }

    /// `30s`, `500ms`, `2m`, `1h`, or a plain number of seconds.
    public static func duration(_ text: String, _ name: String, allowZero: Bool = false) throws(Problem) -> Duration {
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
        guard let value = Double(number), value >= 0, allowZero || value > 0, value * scale <= 1e9 else {
            throw Problem(description: "--\(name) must be a duration like 30s, 500ms or 2m, not \"\(TextLimit.clip(text))\"")
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    /// `1Gi`, `512Mi`, `64Ki`, `2G`, `500M`, or plain bytes.
    public static func bytes(_ text: String, _ name: String) throws(Problem) -> Int64 {
        guard let bytes = ByteCount.parse(text) else {
            throw Problem(description: "--\(name) must be a size like 1Gi, 512Mi or 1000000, not \"\(TextLimit.clip(text))\"")
        }
        return bytes
    }

    static func bytesText(_ bytes: Int64) -> String {
        for (suffix, unit) in [("Ti", Int64(1) << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] where bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return String(bytes)
    }

    static func durationText(_ duration: Duration) -> String {
        let millis = duration.milliseconds
        if millis % 3_600_000 == 0 { return "\(millis / 3_600_000)h" }
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        return "\(millis)ms"
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

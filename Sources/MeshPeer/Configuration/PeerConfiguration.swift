import MeshCore
import NIOCore

/// Everything a peer can be told, with the defaults a production mesh starts from.
public struct PeerConfiguration: Sendable {
    public var peerID: PeerID
    public var clusterName = "default"
    /// Overrides the etcd prefix `/mm/<cluster>`.
    public var etcdPrefix: String?
    public var etcdEndpoints = ["http://127.0.0.1:2379"]
    public var listenHost = "0.0.0.0"
    public var httpPort = 8008
    /// gRPC port (Open Inference gRPC, ModelMesh management API, peer hops); nil disables gRPC.
    public var grpcPort: Int? = 8033
    /// The host other peers use to reach this one (pod IP or DNS name).
    public var advertiseHost = "127.0.0.1"
    public var zone: String?
    public var labels: [String] = []
    public var capacityBytes: Int64 = MeshDefaults.capacityBytes
    public var defaultModelSizeBytes: Int64 = MeshDefaults.defaultModelSizeBytes
    public var leaseTTLSeconds: Int64 = MeshDefaults.leaseTTL.components.seconds
    public var requestTimeout: Duration = MeshDefaults.requestTimeout
    public var loadTimeout: Duration = MeshDefaults.loadTimeout
    public var minChurnAge: Duration = MeshDefaults.minChurnAge
    /// A hop that waited as long as the model's answers normally take (at least
    /// ``hopProbeFloor``, at most this) has its peer's liveness probed, again every interval; a
    /// peer that does not answer within ``hopProbeTimeout`` is treated as unreachable. Zero
    /// turns the probe off.
    public var hopProbeAfter: Duration = .seconds(1)
    /// The least a hop waits before its peer is probed, however fast the model usually answers.
    public var hopProbeFloor: Duration = .milliseconds(200)
    /// How long a probed peer has to answer its liveness route.
    public var hopProbeTimeout: Duration = .milliseconds(500)
    /// Serve gRPC, and make gRPC hops, on one event loop thread of their own: every connection,
    /// call and hop of gRPC then runs on that thread, without waking another per step (less CPU
    /// per call; see BENCHMARKS.md), but built-in inference over gRPC uses one core.
    public var grpcOneLoop = false
    /// How `ModelInfer` hops travel to peers that announce ``PeerFeature/protobufInfer``: as
    /// protobuf bodies over the peers' kept-alive HTTP/1.1 connections (the REST hop's
    /// machinery, a fraction of a gRPC call's), or as gRPC calls.
    public var grpcInferHops = GRPCInferHops.http1
    /// Answer REST inference requests on the HTTP/1.1 channel (``InferFastPath``) instead of
    /// through Hummingbird's router: the same answers with less machinery per request.
    public var restFastPath = true
    /// Answer plain gRPC `ModelInfer` calls on their HTTP/2 stream (``GRPCInferFastPath``)
    /// instead of through grpc-swift's server: the same answers with less machinery per call.
    public var grpcFastPath = true
    /// How often the etcd watch is checked for silence while etcd moves on (zero: never).
    public var watchCheckInterval: Duration = .seconds(5)
    /// How often this peer's copy records in etcd are reconciled with what it holds (zero: never).
    public var copyAuditInterval: Duration = .seconds(30)
    /// Evictions per second of models used within ``minChurnAge``; loads beyond it wait.
    public var churnLimitPerSecond: Double = MeshDefaults.churnLimitPerSecond
    public var maxLoadingConcurrency = MeshDefaults.maxLoadingConcurrency
    public var evictionPolicy: LocalCache.Policy = .costAware
    public var failureExpiry: Duration = MeshDefaults.failureExpiry
    public var maxLoadFailures = MeshDefaults.maxLoadFailures
    public var maxAttempts = MeshDefaults.maxAttempts
    public var maxBodyBytes = 64 << 20
    /// Memory for request bodies read at once (large ones beyond it get 503 until others finish).
    public var bodyMemoryBytes: Int64 = 256 << 20
    /// Connections idle this long are closed (HTTP and gRPC).
    public var idleTimeout: Duration = .seconds(120)
    /// Open HTTP connections at most; more wait in the listen backlog.
    public var maxConnections = 4096
    public var recordCacheSize = 10_000
    /// Threads that run the built-in runtimes' computation (``InferenceThreads``), one per core
    /// the container may use by default; zero computes on the request's own event loop.
    public var inferenceThreads = System.coreCount
    public var modelsRoot = "/models"
    /// A file holding the cluster's shared secret (a mounted Secret): peers sign hops and gossip
    /// with it and accept peer-only requests only when signed (nil: from peers' addresses only).
    public var clusterSecretFile: String?
    /// PEM certificate chain and key the servers present (cert-manager's `tls.crt`, `tls.key`);
    /// both set: REST and gRPC serve TLS, and hops to other peers use it too.
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// PEM CA certificates (`ca.crt`) that sign the peers' certificates: hops trust them, and,
    /// with `tlsRequireClientCertificates`, clients must present a certificate they signed.
    public var tlsCAFile: String?
    public var tlsRequireClientCertificates = false
    /// How often the certificate and key files are re-read.
    public var tlsReloadInterval: Duration = .seconds(30)
    /// etcd over TLS (`https://` endpoints): the CA to trust, and a client certificate and key
    /// for a cluster started with `--client-cert-auth`.
    public var etcdCAFile: String?
    public var etcdCertificateFile: String?
    public var etcdKeyFile: String?
    /// etcd's own authentication: a user, and a file holding its password (a mounted Secret).
    public var etcdUsername: String?
    public var etcdPasswordFile: String?
    /// A file of bearer tokens' SHA-256 hashes with roles and principals (nil: no tokens asked).
    public var authTokensFile: String?
    /// Where traces are exported (OTLP over HTTP); nil: tracing off.
    public var otlpEndpoint: String?
    /// Whether `/metrics` is open when tokens are asked (false: it needs the `infer` role).
    public var metricsOpen = true
    /// How often the tokens file is re-read.
    public var authReloadInterval: Duration = .seconds(5)
    /// A mounted storage-config Secret (directory) or a JSON file of storage entries.
    public var storageConfigPath: String?
    /// A YAML or JSON file listing runtime servers beside the peer (MLServer, Triton, ModelMesh
    /// runtimes), each a runtime pool with its formats and memory.
    public var runtimeServersPath: String?
    /// The disk cache of downloaded models (default: a directory per peer under the temp dir).
    public var cacheDirectory: String?
    public var cacheBytes: Int64 = 20 << 30
    public var maxModelBytes: Int64 = 8 << 30
    /// Hosts HTTP storage may fetch from (nil: any).
    public var allowedHTTPHosts: [String]?
    /// Addresses, ranges and hosts that HTTP storage may reach although the egress policy
    /// refuses them by default (loopback, link-local, metadata services).
    public var storageEgressAllow: [String] = []
    /// Refuse private networks (10/8, 172.16/12, 192.168/16, fc00::/7) to HTTP storage too.
    public var storageEgressDenyPrivate = false
    public var perModelMetrics = true
    public var peerQuarantine: Duration = MeshDefaults.peerQuarantine
    public var gossipInterval: Duration = MeshDefaults.gossipInterval
    public var gossipFanout = MeshDefaults.gossipFanout
    public var scaleInterval: Duration = MeshDefaults.scaleInterval
    public var scaleUpRequestsPerSecond: Double = MeshDefaults.scaleUpRequestsPerSecond
    public var scaleUpInFlight: Double = MeshDefaults.scaleUpInFlight
    public var idleRequestsPerSecond: Double?
    public var scaleDownAfter: Duration = MeshDefaults.scaleDownAfter
    /// Bounds the model migration of a graceful shutdown.
    public var shutdownTimeout: Duration = .seconds(60)
    /// Models used this recently are re-created on other peers before this one leaves.
    public var migrateUsedWithin: Duration = .seconds(3600)
    public var logLevel = "info"
    /// `text` or `json`.
    public var logFormat = "text"
    public var version = PeerConfiguration.softwareVersion

    public static let softwareVersion = "0.1.0"

    public init(peerID: PeerID) {
        self.peerID = peerID
    }

    public var layout: KeyLayout {
        etcdPrefix.map(KeyLayout.init(prefix:)) ?? KeyLayout(clusterName: clusterName)
    }

    public var httpAddress: String { "\(advertiseHost):\(httpPort)" }
    /// Load reports older than this many gossip intervals are ignored (placement, scaling, status).
    public var reportMaxAge: Duration { gossipInterval * MeshDefaults.reportAgeIntervals }
    public var grpcAddress: String? { grpcPort.map { "\(advertiseHost):\($0)" } }
}

/// The protocol of a gRPC inference hop (``PeerConfiguration/grpcInferHops``).
public enum GRPCInferHops: String, Sendable, CaseIterable {
    case http1
    case grpc
}

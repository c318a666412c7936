// The durable facts peers share through etcd, as they appear in `etcdctl get --prefix`.

/// `<prefix>/peers/<peerId>`, bound to the peer's lease.
public struct PeerRecord: Codable, Hashable, Sendable {
    /// `host:port` of the peer's HTTP server (data plane, management, peer hops).
    public var httpAddress: String
    /// `host:port` of the peer's gRPC server, when it runs one.
    public var grpcAddress: String?
    public var zone: String?
    /// Capabilities models can require (sorted).
    public var labels: [String]
    /// Memory the peer may fill with models.
    public var capacityBytes: Int64
    public var version: String
    public var startTime: MeshTime
    /// Set during graceful shutdown: place nothing new here.
    public var shuttingDown: Bool
    /// A random id per process: tells a restarted peer from its predecessor with the same name.
    public var instance: String
    /// Its runtime pools, each with the formats it runs and its own memory budget (nil: a peer
    /// of an earlier version, which runs every type in ``capacityBytes``).
    public var pools: [RuntimePool]?
    /// What its hops understand beyond what every version does (``PeerFeature``; nil: a peer of
    /// an earlier version), so a sender never asks a peer for what it cannot answer.
    public var features: [String]?

    public init(httpAddress: String, grpcAddress: String? = nil, zone: String? = nil, labels: [String] = [],
                capacityBytes: Int64, version: String, startTime: MeshTime, shuttingDown: Bool = false, instance: String,
                pools: [RuntimePool]? = nil, features: [String]? = nil) {
        self.httpAddress = httpAddress
        self.grpcAddress = grpcAddress
        self.zone = zone
        self.labels = labels.sorted()
        self.capacityBytes = capacityBytes
        self.version = version
        self.startTime = startTime
        self.shuttingDown = shuttingDown
        self.instance = instance
        self.pools = pools
        self.features = features
    }

    public func has(_ feature: String) -> Bool {
        features?.contains(feature) == true
    }
}

/// Features a peer announces in its ``PeerRecord``.
public enum PeerFeature {
    /// Its REST infer route takes and answers Open Inference `ModelInferRequest` /
    /// `ModelInferResponse` protobuf messages (`application/vnd.model-mesh.infer+protobuf`): gRPC
    /// inference hops travel to it over the peers' HTTP/1.1 connections.
    public static let protobufInfer = "infer-protobuf"

    /// What peers of this version announce.
    public static let all = [protobufInfer]
}

/// `<prefix>/models/<modelId>`: a registered model. Durable.
public struct ModelRecord: Codable, Hashable, Sendable {
    /// The model's format, which selects the runtime (`synthetic`, `onnx`, ...).
    public var type: String
    public var storage: StorageLocation?
    /// Expected memory size before the first load has measured it.
    public var sizeHintBytes: Int64?
    /// Copies kept loaded at all times (0: load on first use).
    public var minCopies: Int
    /// At most this many copies (nil: one per eligible peer).
    public var maxCopies: Int?
    /// Labels a peer must have to hold this model.
    public var labels: [String]
    /// Per-model override of the scale-up threshold, in requests per second per copy.
    public var scaleUpRequestsPerSecond: Double?
    public var created: MeshTime
    /// VModels pointing at this model; it cannot be unregistered while any does.
    public var references: Int
    /// Unregister automatically once no vmodel references it (vmodel-managed targets).
    public var autoDelete: Bool
    /// Metadata for tools (``Tags``); not part of the definition.
    public var tags: [String: String]

    public init(type: String, storage: StorageLocation? = nil, sizeHintBytes: Int64? = nil, minCopies: Int = 0,
                maxCopies: Int? = nil, labels: [String] = [], scaleUpRequestsPerSecond: Double? = nil,
                created: MeshTime, references: Int = 0, autoDelete: Bool = false, tags: [String: String] = [:]) {
        self.type = type
        self.storage = storage
        self.sizeHintBytes = sizeHintBytes
        self.minCopies = minCopies
        self.maxCopies = maxCopies
        self.labels = labels.sorted()
        self.scaleUpRequestsPerSecond = scaleUpRequestsPerSecond
        self.created = created
        self.references = references
        self.autoDelete = autoDelete
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case type, storage, sizeHintBytes, minCopies, maxCopies, labels, scaleUpRequestsPerSecond, created, references, autoDelete, tags
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        storage = try c.decodeIfPresent(StorageLocation.self, forKey: .storage)
        sizeHintBytes = try c.decodeIfPresent(Int64.self, forKey: .sizeHintBytes)
        minCopies = try c.decodeIfPresent(Int.self, forKey: .minCopies) ?? 0
        maxCopies = try c.decodeIfPresent(Int.self, forKey: .maxCopies)
        labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
        scaleUpRequestsPerSecond = try c.decodeIfPresent(Double.self, forKey: .scaleUpRequestsPerSecond)
        created = try c.decodeIfPresent(MeshTime.self, forKey: .created) ?? .epoch
        references = try c.decodeIfPresent(Int.self, forKey: .references) ?? 0
        autoDelete = try c.decodeIfPresent(Bool.self, forKey: .autoDelete) ?? false
        tags = try c.decodeIfPresent([String: String].self, forKey: .tags) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encodeIfPresent(storage, forKey: .storage)
        try c.encodeIfPresent(sizeHintBytes, forKey: .sizeHintBytes)
        try c.encode(minCopies, forKey: .minCopies)
        try c.encodeIfPresent(maxCopies, forKey: .maxCopies)
        if !labels.isEmpty { try c.encode(labels, forKey: .labels) }
        try c.encodeIfPresent(scaleUpRequestsPerSecond, forKey: .scaleUpRequestsPerSecond)
        try c.encode(created, forKey: .created)
        if references != 0 { try c.encode(references, forKey: .references) }
        if autoDelete { try c.encode(autoDelete, forKey: .autoDelete) }
        if !tags.isEmpty { try c.encode(tags, forKey: .tags) }
    }

    /// Whether two registrations describe the same model (registering it again is then a no-op).
    /// Tags are metadata, changed with an update, so they do not count.
    public func sameDefinition(as other: ModelRecord) -> Bool {
        sameSource(as: other) && sizeHintBytes == other.sizeHintBytes
            && minCopies == other.minCopies && maxCopies == other.maxCopies && labels == other.labels
            && scaleUpRequestsPerSecond == other.scaleUpRequestsPerSecond
    }
}

/// `<prefix>/copies/<modelId>/<peerId>`, bound to the holder's lease.
public struct CopyRecord: Codable, Hashable, Sendable {
    public enum State: String, Codable, Sendable { case loading, loaded }
    public var state: State
    /// When the copy entered `state`.
    public var since: MeshTime
    /// Measured size once loaded, the estimate while loading.
    public var sizeBytes: Int64
    /// What fetching the model's files cost this copy.
    public var download: Download?

    public struct Download: Codable, Hashable, Sendable {
        public var bytes: Int64
        public var millis: Int64
        /// Served from the peer's disk cache instead of downloaded.
        public var fromCache: Bool

        public init(bytes: Int64, millis: Int64, fromCache: Bool) {
            self.bytes = bytes
            self.millis = millis
            self.fromCache = fromCache
        }
    }

    public init(state: State, since: MeshTime, sizeBytes: Int64, download: Download? = nil) {
        self.state = state
        self.since = since
        self.sizeBytes = sizeBytes
        self.download = download
    }
}

/// `<prefix>/failures/<modelId>/<peerId>`: a recent load failure, on a short lease of its own.
public struct FailureRecord: Codable, Hashable, Sendable {
    public var time: MeshTime
    public var message: String

    public init(time: MeshTime, message: String) {
        self.time = time
        self.message = message
    }
}

/// `<prefix>/vmodels/<vmodelId>`: a stable name for a concrete model. Durable.
public struct VModelRecord: Codable, Hashable, Sendable {
    /// Where requests go now.
    public var activeModel: ModelID
    /// Where the vmodel is heading; equal to `activeModel` when not in transition.
    public var targetModel: ModelID
    public var owner: String
    /// The target failed to load; the active model keeps serving.
    public var failed: Bool
    public var failureMessage: String?
    /// Unregister the old model once the vmodel has moved off it.
    public var autoDeleteOldModel: Bool
    public var updated: MeshTime
    /// Metadata for tools (``Tags``); nil when there are none.
    public var tags: [String: String]?

    public init(activeModel: ModelID, targetModel: ModelID, owner: String = "", failed: Bool = false,
                failureMessage: String? = nil, autoDeleteOldModel: Bool = false, updated: MeshTime, tags: [String: String]? = nil) {
        self.activeModel = activeModel
        self.targetModel = targetModel
        self.owner = owner
        self.failed = failed
        self.failureMessage = failureMessage
        self.autoDeleteOldModel = autoDeleteOldModel
        self.updated = updated
        self.tags = tags.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var inTransition: Bool { activeModel != targetModel }
}

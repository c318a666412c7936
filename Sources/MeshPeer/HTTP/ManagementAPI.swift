import MeshCore

// JSON bodies of the /v1 management API (see openapi.yaml).

/// `POST /v1/models`, and the `model` of `PUT /v1/vmodels/{vmodel}` (where the id is the vmodel's
/// target and may be left out).
struct RegisterModelBody: Decodable {
    var id: String?
    var type: String
    var storage: StorageLocation?
    /// Shorthand for `{"storage": {"uri": ...}}`.
    var storageUri: String?
    var sizeHintBytes: Int64?
    var minCopies: Int?
    var maxCopies: Int?
    var labels: [String]?
    var scaleUpRequestsPerSecond: Double?
    var tags: [String: String]?
    /// Load one copy before answering.
    var loadNow: Bool?

    /// The registration it asks for (``ModelRegistration`` checks it). `defaultID`: the vmodel's
    /// target, for the definition a vmodel carries (its own `id` may be left out).
    func registration(defaultID: String? = nil) throws(MeshError) -> ModelRegistration {
        guard let id = id ?? defaultID else { throw .invalidArgument("a model registration needs an \"id\"") }
        if let defaultID, id != defaultID {
            throw .invalidArgument("the model's id \(TextLimit.clip(id)) differs from the vmodel's targetModel \(TextLimit.clip(defaultID)); leave it out")
        }
        if storage != nil && storageUri != nil {
            throw .invalidArgument("give either \"storage\" or \"storageUri\", not both")
        }
        return ModelRegistration(
            id: id, type: type, storage: storage ?? storageUri.map { StorageLocation.uri($0) }, sizeHintBytes: sizeHintBytes,
            minCopies: minCopies, maxCopies: maxCopies, labels: labels, scaleUpRequestsPerSecond: scaleUpRequestsPerSecond,
            tags: tags
        )
    }
}

/// `PATCH /v1/models/{id}`: the settings that can change after registration. `null` removes
/// `maxCopies` (no limit) or `scaleUpRequestsPerSecond` (the mesh's default).
struct UpdateModelBody: Decodable {
    var change: ModelRegistration.Update

    private enum CodingKeys: String, CodingKey {
        case minCopies, maxCopies, scaleUpRequestsPerSecond, tags
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        change = ModelRegistration.Update(
            minCopies: try c.decodeIfPresent(Int.self, forKey: .minCopies),
            maxCopies: try c.decodeIfPresent(Int.self, forKey: .maxCopies),
            scaleUpRequestsPerSecond: try c.decodeIfPresent(Double.self, forKey: .scaleUpRequestsPerSecond),
            tags: try c.decodeIfPresent([String: String].self, forKey: .tags)
        )
        if c.contains(.maxCopies) && change.maxCopies == nil { change.clearing.insert(.maxCopies) }
        if c.contains(.scaleUpRequestsPerSecond) && change.scaleUpRequestsPerSecond == nil { change.clearing.insert(.scaleUpRequestsPerSecond) }
    }
}

struct ModelSummary: Encodable {
    var id: String
    var type: String
    var storage: StorageLocation?
    var sizeHintBytes: Int64?
    var minCopies: Int
    var maxCopies: Int?
    var labels: [String]
    var scaleUpRequestsPerSecond: Double?
    var tags: [String: String]
    var created: MeshTime
    var copies: Int
    var loadedCopies: Int
    /// Created for a vmodel, and unregistered when no vmodel refers to it any more.
    var autoDelete: Bool
    var status: ModelAvailability

    init(id: ModelID, record: ModelRecord, view: ClusterView) {
        self.id = id.rawValue
        type = record.type
        storage = record.storage
        sizeHintBytes = record.sizeHintBytes
        minCopies = record.minCopies
        maxCopies = record.maxCopies
        labels = record.labels
        scaleUpRequestsPerSecond = record.scaleUpRequestsPerSecond
        tags = record.tags
        created = record.created
        let copies = view.copies(of: id)
        self.copies = copies.count
        loadedCopies = copies.values.filter { $0.state == .loaded }.count
        autoDelete = record.autoDelete
        status = ModelAvailability(copies: copies.values, recentFailures: view.failures(of: id).count)
    }
}

struct ModelList: Encodable {
    var models: [ModelSummary]
    /// Pass as `after` to get the next page; absent on the last page.
    var next: String?
}

struct CopyStatus: Encodable {
    var peer: String
    var state: String
    var since: MeshTime
    var sizeBytes: Int64
    /// The last download of the model's files for this copy.
    var download: CopyRecord.Download?
    /// This copy's request rate and in-flight requests (gossip), when known.
    var requestsPerSecond: Double?
    var inFlight: Int?
}

struct FailureStatus: Encodable {
    var peer: String
    var time: MeshTime
    var message: String
}

/// `GET /v1/models/{id}`.
struct ModelStatus: Encodable {
    /// `LOADED`, `LOADING`, `NOT_LOADED` or `LOADING_FAILED`.
    var status: ModelAvailability
    var id: String
    var model: ModelRecord
    var copies: [CopyStatus]
    var failures: [FailureStatus]
    /// The last copy-scaling decision, with its reason.
    var lastScaling: ScalingPolicy.Decision?
}

struct PeerStatus: Encodable {
    var id: String
    var httpAddress: String
    var grpcAddress: String?
    var zone: String?
    var labels: [String]
    var capacityBytes: Int64
    var usedBytes: Int64
    var models: Int
    var version: String
    var startTime: MeshTime
    var shuttingDown: Bool
    var inFlight: Int?
    var reportAgeMillis: Int64?
    /// Evictions of recently used models in the last minute (absent: none).
    var thrashEvictionsPerMinute: Int?
    /// The capacity that would have kept them: capacity plus the distinct models evicted.
    var capacityToEndThrashingBytes: Int64?
    /// Its runtime pools: the formats each runs, its memory, and whether it is ready.
    var pools: [PoolStatus]?
}

struct PoolStatus: Encodable {
    var name: String
    var formats: [String]
    var capacityBytes: Int64
    /// As last gossiped (a peer with one pool: all it holds).
    var usedBytes: Int64?
    var ready: Bool
}

struct PeerList: Encodable {
    var peers: [PeerStatus]
}

struct PlacementEntry: Encodable {
    var model: String
    var peer: String
    var state: String
    var since: MeshTime
    var sizeBytes: Int64
    /// This copy's request rate and in-flight requests (gossip), when known.
    var requestsPerSecond: Double?
    var inFlight: Int?
}

struct Placement: Encodable {
    var revision: Int64
    var copies: [PlacementEntry]
    /// The last copy-scaling decision of each model that has one.
    var decisions: [ScalingPolicy.Decision]
}

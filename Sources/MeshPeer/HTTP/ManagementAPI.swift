import MeshCore

// JSON bodies of the /v1 management API (see openapi.yaml).

/// `POST /v1/models`.
struct RegisterModelBody: Decodable {
    var id: String
    var type: String
    var storage: StorageLocation?
    /// Shorthand for `{"storage": {"uri": ...}}`.
    var storageUri: String?
    var sizeHintBytes: Int64?
    var minCopies: Int?
    var maxCopies: Int?
    var labels: [String]?
    var scaleUpRequestsPerSecond: Double?
    /// Load one copy before answering.
    var loadNow: Bool?

    /// The registration it asks for (``ModelRegistration`` checks it).
    func registration() throws(MeshError) -> ModelRegistration {
        if storage != nil && storageUri != nil {
            throw .invalidArgument("give either \"storage\" or \"storageUri\", not both")
        }
        return ModelRegistration(
            id: id, type: type, storage: storage ?? storageUri.map { StorageLocation.uri($0) }, sizeHintBytes: sizeHintBytes,
            minCopies: minCopies, maxCopies: maxCopies, labels: labels, scaleUpRequestsPerSecond: scaleUpRequestsPerSecond
        )
    }
}

/// `PATCH /v1/models/{id}`: the settings that can change after registration.
struct UpdateModelBody: Decodable {
    var minCopies: Int?
    var maxCopies: Int?
    var scaleUpRequestsPerSecond: Double?
}

struct ModelSummary: Encodable {
    var id: String
    var type: String
    var storage: StorageLocation?
    var sizeHintBytes: Int64?
    var minCopies: Int
    var maxCopies: Int?
    var labels: [String]
    var created: MeshTime
    var copies: Int
    var loadedCopies: Int

    init(id: ModelID, record: ModelRecord, view: ClusterView) {
        self.id = id.rawValue
        type = record.type
        storage = record.storage
        sizeHintBytes = record.sizeHintBytes
        minCopies = record.minCopies
        maxCopies = record.maxCopies
        labels = record.labels
        created = record.created
        let copies = view.copies(of: id)
        self.copies = copies.count
        loadedCopies = copies.values.filter { $0.state == .loaded }.count
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

import MeshCore

// JSON bodies of `/v1/vmodels` (see openapi.yaml).

/// `PUT /v1/vmodels/{vmodel}`.
struct SetVModelBody: Decodable {
    /// The model the vmodel should point at (registered through `/v1/models`).
    var targetModel: String
    /// A new vmodel gets this owner; an existing one must have it.
    var owner: String?
    /// Switch at once instead of waiting for the target to load.
    var force: Bool?
    /// Answer once the transition (or, with `loadNow`, the load) has finished.
    var sync: Bool?
    /// Load the target now, even if the active model is not loaded.
    var loadNow: Bool?
    /// Unregister models the vmodel moves off once nothing refers to them.
    var autoDeleteOldModel: Bool?
    /// Succeed only if the vmodel's current target is this (compare-and-set).
    var expectedTargetModel: String?
    /// Fail with 404 instead of creating a missing vmodel.
    var updateOnly: Bool?
    /// Replace the vmodel's tags (absent: keep them).
    var tags: [String: String]?
    /// The target's definition: registered with the vmodel when missing, and unregistered when
    /// no vmodel refers to it any more (as ModelMesh's `SetVModel` with `modelInfo` and
    /// `autoDeleteTargetModel`). An existing target must have the same type and storage.
    var model: RegisterModelBody?
}

/// A vmodel and the state of its models, from this peer's view of the cluster.
struct VModelSummary: Encodable {
    var id: String
    var owner: String
    var activeModel: String
    var targetModel: String
    /// `DEFINED`, `TRANSITIONING` or `TRANSITION_FAILED`.
    var status: String
    var failureMessage: String?
    var autoDeleteOldModel: Bool
    var updated: MeshTime
    var tags: [String: String]
    var activeModelStatus: ModelAvailability
    var targetModelStatus: ModelAvailability?

    init(id: ModelID, record: VModelRecord, view: ClusterView) {
        self.id = id.rawValue
        owner = record.owner
        activeModel = record.activeModel.rawValue
        targetModel = record.targetModel.rawValue
        status = !record.inTransition ? "DEFINED" : record.failed ? "TRANSITION_FAILED" : "TRANSITIONING"
        failureMessage = record.failureMessage
        autoDeleteOldModel = record.autoDeleteOldModel
        updated = record.updated
        tags = record.tags ?? [:]
        activeModelStatus = ModelAvailability(record.activeModel, in: view)
        targetModelStatus = record.inTransition ? ModelAvailability(record.targetModel, in: view) : nil
    }
}

struct VModelList: Encodable {
    var vmodels: [VModelSummary]
    /// Pass as `after` to get the next page; absent on the last page.
    var next: String?
}

import EtcdGateway
import MeshCore

/// The mesh's shared state: typed reads, the compare-and-swap writes that keep it consistent,
/// leases, and a stream of changes for the mirror. ``EtcdMeshStore`` keeps it in etcd (the only
/// implementation peers run); unit tests of the shell use an in-memory one.
///
/// Every method throws ``MeshError`` (`unavailable` when the store cannot be reached), or one of
/// the ``StoreFailure`` conditions its caller must react to.
public protocol MeshStore: Sendable {
    /// Answers once the store is reachable; throws otherwise.
    func checkReachable() async throws
    /// Closes connections (the peer stops).
    func close() async

    // MARK: Models

    /// Registers a model unless it exists; models with `minCopies > 0` are also indexed.
    func register(_ id: ModelID, _ record: ModelRecord) async throws -> RegistrationOutcome
    /// Replaces a model's record if it still has `revision` (a compare-and-swap).
    func update(_ id: ModelID, _ record: ModelRecord, ifRevision revision: Int64) async throws -> Bool
    /// Removes a model, its copies and failures, unless vmodels refer to it.
    func unregister(_ id: ModelID) async throws -> UnregistrationOutcome
    func model(_ id: ModelID) async throws -> Versioned<ModelRecord>
    /// One page of registered models in id order, starting after `after`.
    func listModels(after: ModelID?, limit: Int) async throws -> Page<ModelRecord>

    // MARK: Copies and failures

    /// Adds `peer`'s copy record if no copy of the model changed since `revision` (the revision
    /// the placement decision was made on) and the model is still registered. This is what makes
    /// a burst of first requests load a model exactly once.
    func claimCopy(_ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID, decidedAt revision: Int64) async throws -> ClaimOutcome
    /// Writes `peer`'s copy record under `lease` if the model is still registered and the key is
    /// absent or already bound to `lease`: a process never overwrites a record another process
    /// (a successor with the same peer id) owns, and no record outlives its model.
    func putCopy(_ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID) async throws -> CopyWriteOutcome
    /// Deletes `peer`'s copy record if it is bound to `lease`; false when it was absent or
    /// another lease owns it (and it was left alone).
    @discardableResult
    func deleteCopy(_ model: ModelID, on peer: PeerID, lease: LeaseID) async throws -> Bool
    /// Deletes every copy record of a model (holders unload); returns how many there were.
    func deleteAllCopies(of model: ModelID) async throws -> Int64
    /// Deletes `victim`'s copy record if no copy changed since `revision` and each of `others`
    /// still exists (copy scaling removes one copy, never the last ones).
    func removeCopy(_ model: ModelID, from victim: PeerID, keeping others: [PeerID], ifUnchangedSince revision: Int64) async throws -> Bool
    /// A model's copy and failure records as of one revision.
    func placement(of model: ModelID, atRevision revision: Int64) async throws -> ModelPlacement
    /// Records a failed load; it expires after `expiry`.
    func recordFailure(_ model: ModelID, on peer: PeerID, message: String, at time: MeshTime, expiry: Duration) async throws
    func clearFailure(_ model: ModelID, on peer: PeerID) async throws

    // MARK: Peers and leases

    func peer(_ id: PeerID) async throws -> (record: PeerRecord, lease: LeaseID)?
    /// Every registered peer's record, read now (not from the mirror).
    func peers() async throws -> [PeerID: PeerRecord]
    /// Writes the peer record under `lease` if no record exists (or the existing one is ours).
    func registerPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws -> Bool
    func putPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws
    func grantLease(ttl: Int64) async throws -> (lease: LeaseID, ttl: Int64)
    /// Renews a lease once; returns the seconds left. Throws ``StoreFailure/leaseExpired``.
    func renewLease(_ lease: LeaseID) async throws -> Int64
    /// Revokes a lease: every record bound to it disappears at once.
    func revokeLease(_ lease: LeaseID) async throws

    // MARK: VModels

    func vmodel(_ id: ModelID) async throws -> Versioned<VModelRecord>
    /// Writes a vmodel (nil deletes it) and the models whose references it changes, if none of
    /// them changed since they were read. Returns false when the compare failed.
    func commitVModel(
        _ id: ModelID, expectedRevision: Int64, previous: VModelRecord?, record: VModelRecord?, models: [VModelRules.ModelWrite]
    ) async throws -> Bool
    /// VModels in transition, from a small index (not a scan of every vmodel).
    func vmodelsInTransition() async throws -> [ModelID]
    func listVModels(after: ModelID?, limit: Int) async throws -> Page<VModelRecord>

    // MARK: Copy-scaling decisions

    func putDecision(_ decision: ScalingPolicy.Decision, lease: LeaseID) async throws
    func decision(of model: ModelID) async throws -> ScalingPolicy.Decision?
    func decisions() async throws -> [ScalingPolicy.Decision]

    // MARK: The mirror's feed

    /// Peers, copies, failures and the minCopies index, all at one revision.
    func snapshot() async throws -> ClusterSnapshot
    /// Every change after `revision`, in order, until the stream ends or fails
    /// (``StoreFailure/historyCompacted`` when that history is gone).
    func changes(after revision: Int64) -> AsyncThrowingStream<StoreBatch, any Error>
    /// The store's current revision, from a cheap read that does not use the watch.
    func currentRevision() async throws -> Int64
    /// Whether anything the mirror follows changed after `revision`, asked on a new watch that
    /// replays history (false when it showed nothing within `timeout`). Throws
    /// ``StoreFailure/historyCompacted`` when that history is gone.
    func changed(after revision: Int64, timeout: Duration) async throws -> Bool
}

public enum CopyWriteOutcome: Sendable, Equatable {
    case written
    /// The model is no longer registered: nothing was written.
    case modelGone
    /// Another lease owns the key (another process with this peer id): nothing was written.
    case ownedByAnotherLease
}

/// Conditions a caller must handle itself (everything else is a ``MeshError``).
public enum StoreFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The history a watch needed was compacted: read everything again.
    case historyCompacted
    /// The lease expired or was revoked.
    case leaseExpired

    public var description: String {
        switch self {
        case .historyCompacted: return "the store compacted the history this peer needed"
        case .leaseExpired: return "the lease expired or was revoked"
        }
    }
}

public enum RegistrationOutcome: Sendable, Equatable {
    case created(revision: Int64)
    /// The same definition was registered before: nothing changed.
    case unchanged(ModelRecord)
    /// A different definition exists under this id.
    case conflict(existing: ModelRecord)
}

public enum UnregistrationOutcome: Sendable, Equatable {
    case removed
    case notFound
    /// VModels still point at it.
    case referenced(count: Int)
}

public enum ClaimOutcome: Sendable, Equatable {
    case claimed(revision: Int64)
    /// Copies changed since the decision: here they are, as of `revision`.
    case conflict(copies: [PeerID: CopyRecord], revision: Int64)
    /// The model was unregistered.
    case modelGone
}

/// One page of a listing in id order.
public struct Page<Record: Sendable>: Sendable {
    public var items: [(ModelID, Record)]
    /// More follow after the last item.
    public var more: Bool

    public init(items: [(ModelID, Record)], more: Bool) {
        self.items = items
        self.more = more
    }
}

/// A model's copies and recent failures.
public struct ModelPlacement: Sendable, Equatable {
    public var copies: [PeerID: CopyRecord]
    public var failures: [PeerID: FailureRecord]

    public init(copies: [PeerID: CopyRecord] = [:], failures: [PeerID: FailureRecord] = [:]) {
        self.copies = copies
        self.failures = failures
    }
}

/// What the mirror starts from.
public struct ClusterSnapshot: Sendable {
    public var revision: Int64
    public var changes: [ClusterView.Change]

    public init(revision: Int64, changes: [ClusterView.Change]) {
        self.revision = revision
        self.changes = changes
    }
}

/// Changes the store applied together, up to `revision`.
public struct StoreBatch: Sendable {
    public var revision: Int64
    public var events: [StoreEvent]

    public init(revision: Int64, events: [StoreEvent]) {
        self.revision = revision
        self.events = events
    }
}

/// One change the mirror sees.
public enum StoreEvent: Sendable, Equatable {
    /// Peers, copies, failures, the minCopies index, changed at `revision`.
    case cluster(ClusterView.Change, revision: Int64)
    /// A model record written (nil: deleted), at `revision`.
    case model(ModelID, ModelRecord?, revision: Int64)
    case vmodel(ModelID, VModelRecord?, revision: Int64)
    /// A vmodel entered (or is still in) a transition.
    case transitionPending(ModelID)
}

extension MeshStore {
    /// The model's record, or nil.
    public func modelRecord(_ id: ModelID) async throws -> ModelRecord? {
        try await model(id).record
    }
}

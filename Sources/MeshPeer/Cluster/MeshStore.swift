import EtcdGateway
import MeshCore

/// The mesh's records in etcd: typed reads and the transactions that keep them consistent.
public struct MeshStore: Sendable {
    public let etcd: EtcdClient
    public let layout: KeyLayout

    public init(etcd: EtcdClient, layout: KeyLayout) {
        self.etcd = etcd
        self.layout = layout
    }

    // MARK: Models

    public enum RegistrationOutcome: Sendable, Equatable {
        case created(revision: Int64)
        /// The same definition was registered before: nothing changed.
        case unchanged(ModelRecord)
        /// A different definition exists under this id.
        case conflict(existing: ModelRecord)
    }

    /// Registers a model unless it exists; models with `minCopies > 0` are also indexed.
    public func register(_ id: ModelID, _ record: ModelRecord) async throws -> RegistrationOutcome {
        let key = layout.model(id)
        var success: [TxnOperation] = [.put(key: key, value: try RecordCoding.encode(record))]
        if record.minCopies > 0 { success.append(.put(layout.pinned(id), String(record.minCopies))) }
        let result = try await etcd.txn(Txn(if: [.absent(key)], then: success, else: [.range(.key(key))]))
        if result.succeeded { return .created(revision: result.header.revision) }
        guard let existing = result.ranges.first?.kvs.first else {
            // Deleted between the compare and now; rare enough to ask the caller to retry.
            throw EtcdError.compareFailed(key: key)
        }
        let stored = try RecordCoding.decode(ModelRecord.self, from: existing.value)
        return stored.sameDefinition(as: record) ? .unchanged(stored) : .conflict(existing: stored)
    }

    /// Replaces a model's record if it still has `revision` (a compare-and-swap).
    public func update(_ id: ModelID, _ record: ModelRecord, ifRevision revision: Int64) async throws -> Bool {
        let key = layout.model(id)
        var operations: [TxnOperation] = [.put(key: key, value: try RecordCoding.encode(record))]
        operations.append(record.minCopies > 0 ? .put(layout.pinned(id), String(record.minCopies)) : .delete(.key(layout.pinned(id))))
        return try await etcd.txn(Txn(if: [Compare(.key(key), .modRevision(revision), .equal)], then: operations)).succeeded
    }

    public enum UnregistrationOutcome: Sendable, Equatable {
        case removed
        case notFound
        /// VModels still point at it.
        case referenced(count: Int)
    }

    /// Removes a model and everything about it. Holders see their copy records vanish and unload.
    public func unregister(_ id: ModelID) async throws -> UnregistrationOutcome {
        let key = layout.model(id)
        guard let current = try await etcd.get(key) else { return .notFound }
        let record = try RecordCoding.decode(ModelRecord.self, from: current.value)
        if record.references > 0 { return .referenced(count: record.references) }
        let result = try await etcd.txn(Txn(
            if: [Compare(.key(key), .modRevision(current.modRevision), .equal)],
            then: [
                .delete(.key(key)), .delete(.key(layout.pinned(id))),
                .delete(.prefix(layout.copies(of: id))), .delete(.prefix(layout.failures(of: id))),
            ]
        ))
        if result.succeeded { return .removed }
        return try await unregister(id)
    }

    /// A model's record and the revision of the read, or nil.
    public func model(_ id: ModelID) async throws -> (record: ModelRecord?, modRevision: Int64, revision: Int64) {
        let result = try await etcd.range(.key(layout.model(id)))
        guard let kv = result.kvs.first else { return (nil, 0, result.header.revision) }
        return (try RecordCoding.decode(ModelRecord.self, from: kv.value), kv.modRevision, result.header.revision)
    }

    /// One page of registered models in id order, starting after `after`.
    public func listModels(after: ModelID?, limit: Int) async throws -> (models: [(ModelID, ModelRecord)], more: Bool) {
        let start = after.map { layout.model($0) + "\u{0}" } ?? layout.models
        let range = KeyRange(key: Array(start.utf8), rangeEnd: KeyRange.prefix(layout.models).rangeEnd)
        let result = try await etcd.range(range, RangeOptions(limit: Int64(limit)))
        let models = result.kvs.compactMap { kv -> (ModelID, ModelRecord)? in
            guard case .model(let id) = layout.entry(forKey: kv.keyString),
                  let record = try? RecordCoding.decode(ModelRecord.self, from: kv.value) else { return nil }
            return (id, record)
        }
        return (models, result.more)
    }

    /// How many models are registered (a count-only read).
    public func modelCount() async throws -> Int64 {
        try await etcd.range(.prefix(layout.models), RangeOptions(countOnly: true)).count
    }

    // MARK: Copies

    public enum ClaimOutcome: Sendable, Equatable {
        case claimed(revision: Int64)
        /// Copies changed since the decision: here they are, as of `revision`.
        case conflict(copies: [PeerID: CopyRecord], revision: Int64)
        /// The model was unregistered.
        case modelGone
    }

    /// Adds a copy record for `peer` if no copy of the model changed since `revision` (the
    /// revision the placement decision was made on) and the model is still registered. This is
    /// what makes a burst of first requests load a model exactly once.
    public func claimCopy(
        _ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID, decidedAt revision: Int64
    ) async throws -> ClaimOutcome {
        let copies = KeyRange.prefix(layout.copies(of: model))
        let result = try await etcd.txn(Txn(
            if: [.unchangedSince(copies, revision: revision), .present(layout.model(model))],
            then: [.put(key: layout.copy(model, on: peer), value: try RecordCoding.encode(record), lease: lease)],
            else: [.range(copies), .range(.key(layout.model(model)), RangeOptions(countOnly: true))]
        ))
        if result.succeeded { return .claimed(revision: result.header.revision) }
        let ranges = result.ranges
        if ranges.count == 2, ranges[1].count == 0 { return .modelGone }
        var current: [PeerID: CopyRecord] = [:]
        for kv in ranges.first?.kvs ?? [] {
            if case .copy(_, let holder) = layout.entry(forKey: kv.keyString),
               let copy = try? RecordCoding.decode(CopyRecord.self, from: kv.value) {
                current[holder] = copy
            }
        }
        return .conflict(copies: current, revision: result.header.revision)
    }

    public func putCopy(_ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID) async throws {
        try await etcd.put(layout.copy(model, on: peer), value: try RecordCoding.encode(record), lease: lease)
    }

    public func deleteCopy(_ model: ModelID, on peer: PeerID) async throws {
        try await etcd.delete(.key(layout.copy(model, on: peer)))
    }

    /// Deletes every copy record of a model (the repository "unload" call): holders unload.
    public func deleteAllCopies(of model: ModelID) async throws -> Int64 {
        try await etcd.delete(.prefix(layout.copies(of: model))).deleted
    }

    // MARK: Failures

    /// Records a failed load under a lease of its own, so it expires after `expiry`.
    public func recordFailure(_ model: ModelID, on peer: PeerID, message: String, at time: MeshTime, expiry: Duration) async throws {
        let lease = try await etcd.grantLease(ttl: max(2, Int64(expiry.seconds.rounded(.up))))
        try await etcd.put(
            layout.failure(model, on: peer),
            value: try RecordCoding.encode(FailureRecord(time: time, message: message)),
            lease: lease.id
        )
    }

    public func clearFailure(_ model: ModelID, on peer: PeerID) async throws {
        try await etcd.delete(.key(layout.failure(model, on: peer)))
    }

    // MARK: Peers

    public func peer(_ id: PeerID) async throws -> (record: PeerRecord, lease: LeaseID)? {
        guard let kv = try await etcd.get(layout.peer(id)) else { return nil }
        return (try RecordCoding.decode(PeerRecord.self, from: kv.value), kv.lease)
    }

    /// Writes the peer record under `lease` if no record exists (or the existing one is ours).
    public func registerPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws -> Bool {
        let key = layout.peer(id)
        let value = try RecordCoding.encode(record)
        let result = try await etcd.txn(Txn(if: [.absent(key)], then: [.put(key: key, value: value, lease: lease)]))
        if result.succeeded { return true }
        let owned = try await etcd.txn(Txn(
            if: [Compare(.key(key), .lease(lease), .equal)],
            then: [.put(key: key, value: value, lease: lease)]
        ))
        return owned.succeeded
    }
}

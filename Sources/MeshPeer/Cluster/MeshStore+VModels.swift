import EtcdGateway
import MeshCore

/// VModel records and the model references they hold, written together in compare-and-swap
/// transactions so that two peers changing the same vmodel (or the same model) cannot both win.
extension MeshStore {
    /// A record as read, with the revision a later write compares against (0: absent).
    public struct Versioned<Record: Sendable>: Sendable {
        public var record: Record?
        public var modRevision: Int64
    }

    public func vmodel(_ id: ModelID) async throws -> Versioned<VModelRecord> {
        guard let kv = try await etcd.get(layout.vmodel(id)) else { return Versioned(record: nil, modRevision: 0) }
        return Versioned(record: try RecordCoding.decode(VModelRecord.self, from: kv.value), modRevision: kv.modRevision)
    }

    public func versionedModel(_ id: ModelID) async throws -> Versioned<ModelRecord> {
        let (record, modRevision, _) = try await model(id)
        return Versioned(record: record, modRevision: modRevision)
    }

    /// A model write inside a vmodel transaction: `next` nil unregisters the model.
    public struct ModelWrite: Sendable {
        public var id: ModelID
        /// The revision the decision was made on (0: the model did not exist).
        public var modRevision: Int64
        public var next: ModelRecord?

        public init(id: ModelID, modRevision: Int64, next: ModelRecord?) {
            self.id = id
            self.modRevision = modRevision
            self.next = next
        }
    }

    /// Writes a vmodel (nil deletes it) and the models whose references it changes, if none of
    /// them changed since they were read (`previous` is the vmodel as read). Keeps the transition
    /// index (`transitions/`) in step: present exactly while the vmodel is in transition, and
    /// written again (waking the driver) when a transition starts, changes target or is retried.
    /// Returns false when the compare failed.
    public func commitVModel(
        _ id: ModelID, expectedRevision: Int64, previous: VModelRecord?, record: VModelRecord?, models: [ModelWrite]
    ) async throws -> Bool {
        let key = layout.vmodel(id)
        var compares = [expectedRevision == 0 ? Compare.absent(key) : Compare(.key(key), .modRevision(expectedRevision), .equal)]
        var operations: [TxnOperation] = []
        if let record {
            operations.append(.put(key: key, value: try RecordCoding.encode(record)))
            if !record.inTransition {
                operations.append(.delete(.key(layout.transition(id))))
            } else if let previous, previous.inTransition, previous.targetModel == record.targetModel, !(previous.failed && !record.failed) {
                // The same transition goes on: leave the index alone.
            } else {
                operations.append(.put(layout.transition(id), record.targetModel.rawValue))
            }
        } else {
            operations.append(.delete(.key(key)))
            operations.append(.delete(.key(layout.transition(id))))
        }
        for write in models {
            let modelKey = layout.model(write.id)
            compares.append(write.modRevision == 0 ? .absent(modelKey) : Compare(.key(modelKey), .modRevision(write.modRevision), .equal))
            if let next = write.next {
                operations.append(.put(key: modelKey, value: try RecordCoding.encode(next)))
                if next.minCopies > 0 { operations.append(.put(layout.pinned(write.id), String(next.minCopies))) }
            } else {
                operations += [
                    .delete(.key(modelKey)), .delete(.key(layout.pinned(write.id))),
                    .delete(.prefix(layout.copies(of: write.id))), .delete(.prefix(layout.failures(of: write.id))),
                ]
            }
        }
        return try await etcd.txn(Txn(if: compares, then: operations)).succeeded
    }

    /// VModels in transition, from the small index (not a scan of every vmodel).
    public func vmodelsInTransition() async throws -> [ModelID] {
        let (kvs, _) = try await etcd.getAll(prefix: layout.transitions)
        return kvs.compactMap { kv in
            if case .transition(let id) = layout.entry(forKey: kv.keyString) { return id }
            return nil
        }
    }

    /// One page of vmodels in id order, starting after `after`.
    public func listVModels(after: ModelID?, limit: Int) async throws -> (vmodels: [(ModelID, VModelRecord)], more: Bool) {
        let start = after.map { layout.vmodel($0) + "\u{0}" } ?? layout.vmodels
        let range = KeyRange(key: Array(start.utf8), rangeEnd: KeyRange.prefix(layout.vmodels).rangeEnd)
        let result = try await etcd.range(range, RangeOptions(limit: Int64(limit)))
        let vmodels = result.kvs.compactMap { kv -> (ModelID, VModelRecord)? in
            guard case .vmodel(let id) = layout.entry(forKey: kv.keyString),
                  let record = try? RecordCoding.decode(VModelRecord.self, from: kv.value) else { return nil }
            return (id, record)
        }
        return (vmodels, result.more)
    }
}

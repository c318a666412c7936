import EtcdGateway
import MeshCore

/// VModel records and the model references they hold, written together in compare-and-swap
/// transactions so that two peers changing the same vmodel (or the same model) cannot both win.
extension EtcdMeshStore {
    public func vmodel(_ id: ModelID) async throws -> Versioned<VModelRecord> {
        try await call {
            let result = try await etcd(range: .key(layout.vmodel(id)))
            guard let kv = result.kvs.first else { return Versioned(record: nil, modRevision: 0, readRevision: result.header.revision) }
            return Versioned(record: try RecordCoding.decode(VModelRecord.self, from: kv.value), modRevision: kv.modRevision,
                             readRevision: result.header.revision)
        }
    }

    /// Keeps the transition index (`transitions/`) in step: present exactly while the vmodel is
    /// in transition, and written again (waking the driver) when a transition starts, changes
    /// target or is retried.
    public func commitVModel(
        _ id: ModelID, expectedRevision: Int64, previous: VModelRecord?, record: VModelRecord?, models: [VModelRules.ModelWrite]
    ) async throws -> Bool {
        try await call {
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
                    operations += removal(of: write.id)
                }
            }
            return try await etcd(txn: Txn(if: compares, then: operations)).succeeded
        }
    }

    public func vmodelsInTransition() async throws -> [ModelID] {
        try await call {
            try await etcd(all: layout.transitions).kvs.compactMap { kv in
                if case .transition(let id) = layout.entry(forKey: kv.keyString) { return id }
                return nil
            }
        }
    }

    public func listVModels(after: ModelID?, limit: Int) async throws -> Page<VModelRecord> {
        try await page(of: VModelRecord.self, under: layout.vmodels, after: after, limit: limit) { key in
            if case .vmodel(let id) = layout.entry(forKey: key) { return id }
            return nil
        }
    }
}

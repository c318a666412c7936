import EtcdGateway
import MeshCore

/// The mirror's feed from etcd: one read of peers, copies, failures and the minCopies index at
/// one revision, then one watch of the whole cluster prefix, decoded into typed events.
/// Records that cannot be read are logged and left out.
extension EtcdMeshStore {
    public func snapshot() async throws -> ClusterSnapshot {
        try await call {
            let peers = try await etcd(all: layout.peers)
            let revision = peers.revision
            let copies = try await etcd(all: layout.copies, revision: revision)
            let failures = try await etcd(all: layout.failures, revision: revision)
            let pinned = try await etcd(all: layout.pinned, revision: revision)
            let changes = (peers.kvs + copies.kvs + failures.kvs + pinned.kvs).compactMap { event(for: $0, deleted: false) }
                .compactMap { event -> ClusterView.Change? in
                    if case .cluster(let change, _) = event { return change }
                    return nil
                }
            return ClusterSnapshot(revision: revision, changes: changes)
        }
    }

    public func changes(after revision: Int64) -> AsyncThrowingStream<StoreBatch, any Error> {
        let watch = etcd(watch: .prefix(layout.root), from: revision.addingSaturating(1))
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await batch in watch {
                        let events = batch.events.compactMap { event(for: $0.kv, deleted: $0.kind == .delete) }
                        continuation.yield(StoreBatch(revision: batch.revision, events: events))
                    }
                    continuation.finish()
                } catch let error as EtcdError {
                    if case .compacted = error {
                        continuation.finish(throwing: StoreFailure.historyCompacted)
                    } else {
                        continuation.finish(throwing: MeshError.unavailable("etcd is not available: \(error)"))
                    }
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func currentRevision() async throws -> Int64 {
        try await call { try await etcd(range: .key(layout.root), RangeOptions(countOnly: true)).header.revision }
    }

    public func changed(after revision: Int64, timeout: Duration) async throws -> Bool {
        let watch = etcd(watch: .prefix(layout.root), from: revision.addingSaturating(1))
        do {
            return try await call {
                try await withDeadline(.now + timeout, onTimeout: { NothingSeen() }) {
                    for try await batch in watch where !batch.events.isEmpty { return true }
                    return false
                }
            }
        } catch is NothingSeen {
            return false
        }
    }

    private struct NothingSeen: Error {}

    /// The typed event for one key, or nil for keys the mirror does not follow and records that
    /// cannot be read.
    func event(for kv: KeyValue, deleted: Bool) -> StoreEvent? {
        let key = kv.keyString
        guard let entry = layout.entry(forKey: key) else { return nil }
        func cluster(_ change: ClusterView.Change) -> StoreEvent { .cluster(change, revision: kv.modRevision) }
        do {
            switch entry {
            case .model(let id):
                return .model(id, deleted ? nil : try RecordCoding.decode(ModelRecord.self, from: kv.value), revision: kv.modRevision)
            case .vmodel(let id):
                return .vmodel(id, deleted ? nil : try RecordCoding.decode(VModelRecord.self, from: kv.value), revision: kv.modRevision)
            case .transition(let id):
                return deleted ? nil : .transitionPending(id)
            case .decision:
                return nil
            case .peer(let peer):
                return cluster(deleted ? .peerDeleted(peer) : .peerPut(peer, try RecordCoding.decode(PeerRecord.self, from: kv.value)))
            case .copy(let model, let peer):
                return cluster(deleted ? .copyDeleted(model, peer) : .copyPut(model, peer, try RecordCoding.decode(CopyRecord.self, from: kv.value)))
            case .failure(let model, let peer):
                return cluster(deleted ? .failureDeleted(model, peer)
                    : .failurePut(model, peer, try RecordCoding.decode(FailureRecord.self, from: kv.value)))
            case .pinned(let model):
                return cluster(deleted ? .pinnedDeleted(model) : .pinnedPut(model, minCopies: Int(kv.valueString) ?? 1))
            }
        } catch {
            logger.warning("ignoring an unreadable record in etcd", metadata: ["key": "\(key)", "error": "\(error)"])
            return nil
        }
    }
}

import EtcdGateway
import Logging
import MeshCore
import ServiceLifecycle
import Synchronization

/// Something the mirror saw change, for the parts of the peer that react to it.
public enum MirrorEvent: Sendable, Hashable {
    case modelRegistered(ModelID)
    case modelRemoved(ModelID)
    case copyRemoved(ModelID, PeerID)
    case peerChanged(PeerID)
    case peerRemoved(PeerID)
    /// A vmodel entered (or is still in) a transition: its `transitions/` index key was written.
    case transitionPending(ModelID)
    /// The mirror re-read everything (start-up, or history it needed was compacted).
    case resynced
}

/// Keeps this peer's copy of what routing reads on every request: peers, copies and recent
/// failures, mirrored from etcd by one range read and one watch of the cluster prefix; model and
/// vmodel records, read on demand into bounded caches the same watch keeps fresh.
///
/// Start-up cost depends on the number of peers and copies, never on the number of registered
/// models.
public final class ClusterMirror: Service, Sendable {
    public let store: MeshStore
    let logger: Logger
    private let state: Mutex<State>
    private let listeners: Mutex<[@Sendable (MirrorEvent) -> Void]> = Mutex([])

    struct State {
        var view = ClusterView()
        var models: RecordCache<ModelID, ModelRecord>
        var vmodels: RecordCache<ModelID, VModelRecord>
        var synced = false
        var waiters: [(revision: Int64, promise: Promise<Void>)] = []
    }

    public init(store: MeshStore, recordCacheSize: Int = 10_000, logger: Logger) {
        self.store = store
        self.logger = logger
        self.state = Mutex(State(models: RecordCache(capacity: recordCacheSize), vmodels: RecordCache(capacity: recordCacheSize)))
    }

    /// Registers a reaction to changes. Listeners run on the mirror's task: keep them short.
    public func onEvent(_ listener: @escaping @Sendable (MirrorEvent) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// The current view (a copy; cheap, the storage is shared until written).
    public var view: ClusterView { state.withLock { $0.view } }

    public var isSynced: Bool { state.withLock { $0.synced } }

    /// Whether the view holds `peer`'s record (a peer is ready only once it sees itself, so its
    /// first request never finds an empty cluster).
    public func knows(_ peer: PeerID) -> Bool { state.withLock { $0.view.peers[peer] != nil } }

    /// Mutates the gossip part of the view.
    public func updateView(_ body: (inout ClusterView) -> Void) {
        state.withLock { body(&$0.view) }
    }

    // MARK: Records on demand

    /// The model's record: from the cache, or a point read on a miss. Nil: not registered.
    public func model(_ id: ModelID) async throws -> ModelRecord? {
        if let entry = state.withLock({ $0.models.lookup(id) }) { return entry.record }
        state.withLock { $0.models.beginRead(id) }
        do {
            let (record, _, revision) = try await store.model(id)
            return state.withLock { $0.models.finishRead(id, record: record, revision: revision) }.record
        } catch {
            state.withLock { $0.models.cancelRead(id) }
            throw error
        }
    }

    public func vmodel(_ id: ModelID) async throws -> VModelRecord? {
        if let entry = state.withLock({ $0.vmodels.lookup(id) }) { return entry.record }
        state.withLock { $0.vmodels.beginRead(id) }
        do {
            let result = try await store.etcd.range(.key(store.layout.vmodel(id)))
            let record = try result.kvs.first.map { try RecordCoding.decode(VModelRecord.self, from: $0.value) }
            return state.withLock { $0.vmodels.finishRead(id, record: record, revision: result.header.revision) }.record
        } catch {
            state.withLock { $0.vmodels.cancelRead(id) }
            throw error
        }
    }

    /// Waits until the mirror has applied `revision` (or `timeout` passes); for callers that
    /// learned of a change from a transaction and need routing to see it.
    public func waitFor(revision: Int64, timeout: Duration = .seconds(2)) async {
        let promise: Promise<Void>? = state.withLock { state in
            guard state.view.revision < revision else { return nil }
            let promise = Promise<Void>()
            state.waiters.append((revision, promise))
            return promise
        }
        guard let promise else { return }
        _ = try? await withDeadline(.now + timeout, onTimeout: { CancellationError() }) { try await promise.wait() }
    }

    // MARK: The watch loop

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.mirror()
        }
    }

    private func mirror() async throws {
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do {
                let revision = try await resync()
                backoff = .milliseconds(100)
                for try await batch in store.etcd.watch(.prefix(store.layout.root), from: revision + 1) {
                    apply(batch)
                }
            } catch let error as EtcdError {
                if case .compacted = error {
                    logger.warning("etcd compacted history the mirror needed; re-reading the cluster", metadata: ["error": "\(error)"])
                    continue
                }
                logger.warning("cannot read the cluster from etcd; serving from the last known view", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            } catch is CancellationError {
                return
            }
        }
    }

    /// Reads peers, copies and failures at one revision and replaces the view with them.
    private func resync() async throws -> Int64 {
        let layout = store.layout
        let peers = try await store.etcd.getAll(prefix: layout.peers)
        let revision = peers.revision
        let copies = try await store.etcd.getAll(prefix: layout.copies, revision: revision)
        let failures = try await store.etcd.getAll(prefix: layout.failures, revision: revision)
        let pinned = try await store.etcd.getAll(prefix: layout.pinned, revision: revision)
        let changes = (peers.kvs + copies.kvs + failures.kvs + pinned.kvs).compactMap { change(for: $0) }
        let waiters = state.withLock { state in
            state.view.reset(revision: revision, changes: changes)
            state.models.removeAll()
            state.vmodels.removeAll()
            state.synced = true
            return takeWaiters(&state)
        }
        for waiter in waiters { waiter.succeed(()) }
        logger.info("cluster view loaded", metadata: [
            "revision": "\(revision)", "peers": "\(peers.kvs.count)", "copies": "\(copies.kvs.count)", "failures": "\(failures.kvs.count)",
        ])
        notify([.resynced])
        return revision
    }

    private func apply(_ batch: WatchBatch) {
        var events: [MirrorEvent] = []
        let layout = store.layout
        let waiters = state.withLock { state in
            for event in batch.events {
                let key = event.kv.keyString
                guard let entry = layout.entry(forKey: key) else { continue }
                let deleted = event.kind == .delete
                switch entry {
                case .model(let id):
                    let record = deleted ? nil : try? RecordCoding.decode(ModelRecord.self, from: event.kv.value)
                    state.models.apply(id, record: record, revision: event.kv.modRevision)
                    events.append(deleted ? .modelRemoved(id) : .modelRegistered(id))
                case .vmodel(let id):
                    let record = deleted ? nil : try? RecordCoding.decode(VModelRecord.self, from: event.kv.value)
                    state.vmodels.apply(id, record: record, revision: event.kv.modRevision)
                case .pinned(let id):
                    if deleted {
                        state.view.apply(.pinnedDeleted(id))
                    } else if let change = change(for: event.kv) {
                        state.view.apply(change)
                    }
                case .decision:
                    break
                case .transition(let id):
                    if !deleted { events.append(.transitionPending(id)) }
                case .peer(let peer):
                    if deleted {
                        state.view.apply(.peerDeleted(peer))
                        events.append(.peerRemoved(peer))
                    } else if let change = change(for: event.kv) {
                        state.view.apply(change)
                        events.append(.peerChanged(peer))
                    }
                case .copy(let model, let peer):
                    if deleted {
                        state.view.apply(.copyDeleted(model, peer))
                        events.append(.copyRemoved(model, peer))
                    } else if let change = change(for: event.kv) {
                        state.view.apply(change)
                    }
                case .failure(let model, let peer):
                    if deleted {
                        state.view.apply(.failureDeleted(model, peer))
                    } else if let change = change(for: event.kv) {
                        state.view.apply(change)
                    }
                }
            }
            state.view.advance(to: batch.revision)
            return takeWaiters(&state)
        }
        for waiter in waiters { waiter.succeed(()) }
        notify(events)
    }

    private func takeWaiters(_ state: inout State) -> [Promise<Void>] {
        let revision = state.view.revision
        let ready = state.waiters.filter { $0.revision <= revision }.map(\.promise)
        state.waiters.removeAll { $0.revision <= revision }
        return ready
    }

    private func notify(_ events: [MirrorEvent]) {
        guard !events.isEmpty else { return }
        let listeners = self.listeners.withLock { $0 }
        for event in events {
            for listener in listeners { listener(event) }
        }
    }

    /// Decodes a peer, copy or failure key-value; nil (and a log line) for anything unreadable.
    private func change(for kv: KeyValue) -> ClusterView.Change? {
        let key = kv.keyString
        do {
            switch store.layout.entry(forKey: key) {
            case .peer(let peer): return .peerPut(peer, try RecordCoding.decode(PeerRecord.self, from: kv.value))
            case .copy(let model, let peer): return .copyPut(model, peer, try RecordCoding.decode(CopyRecord.self, from: kv.value))
            case .failure(let model, let peer): return .failurePut(model, peer, try RecordCoding.decode(FailureRecord.self, from: kv.value))
            case .pinned(let model): return .pinnedPut(model, minCopies: Int(kv.valueString) ?? 1)
            default: return nil
            }
        } catch {
            logger.warning("ignoring an unreadable record in etcd", metadata: ["key": "\(key)", "error": "\(error)"])
            return nil
        }
    }
}

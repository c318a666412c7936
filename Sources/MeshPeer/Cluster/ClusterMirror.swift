import CoreMetrics
import Logging
import MeshCore
import ServiceLifecycle
import Synchronization

/// Something the mirror saw change, for the parts of the peer that react to it.
public enum MirrorEvent: Sendable, Hashable {
    case modelRegistered(ModelID)
    case modelRemoved(ModelID)
    /// A copy record deleted, at `revision`.
    case copyRemoved(ModelID, PeerID, revision: Int64)
    case peerChanged(PeerID)
    case peerRemoved(PeerID)
    /// A vmodel entered (or is still in) a transition: its `transitions/` index key was written.
    case transitionPending(ModelID)
    /// The mirror re-read everything (start-up, or history it needed was compacted).
    case resynced
}

/// Keeps this peer's copy of what routing reads on every request: peers, copies and recent
/// failures, mirrored from the store by one snapshot and one stream of changes; model and
/// vmodel records, read on demand into bounded caches the same stream keeps fresh.
///
/// Start-up cost depends on the number of peers and copies, never on the number of registered
/// models. Callers that need the view to reach a state wait for it (``waitFor(revision:timeout:)``,
/// ``waitUntil(timeout:_:)``) instead of polling.
public final class ClusterMirror: Service, Sendable {
    public let store: any MeshStore
    let logger: Logger
    /// How often the watch is checked against the store (zero: never); see ``watchForSilence``.
    let watchCheckInterval: Duration
    private let state: Mutex<State>
    private let listeners: Mutex<[@Sendable (MirrorEvent) -> Void]> = Mutex([])

    struct State {
        var view = ClusterView()
        var models: RecordCache<ModelID, ModelRecord>
        var vmodels: RecordCache<ModelID, VModelRecord>
        var synced = false
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// A task waiting for the view to satisfy `condition`.
    struct Waiter {
        var condition: @Sendable (ClusterView, Bool) -> Bool
        var promise: Promise<Void>
    }

    public init(store: any MeshStore, recordCacheSize: Int = 10_000, watchCheckInterval: Duration = .zero, logger: Logger) {
        self.store = store
        self.logger = logger
        self.watchCheckInterval = watchCheckInterval
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
            let read = try await store.model(id)
            return state.withLock { $0.models.finishRead(id, record: read.record, revision: read.readRevision) }.record
        } catch {
            state.withLock { $0.models.cancelRead(id) }
            throw error
        }
    }

    /// The model's record when the cache holds it, without a read (nil: not cached, or not
    /// registered).
    public func cachedModel(_ id: ModelID) -> ModelRecord? {
        state.withLock { $0.models.lookup(id) }?.record
    }

    public func vmodel(_ id: ModelID) async throws -> VModelRecord? {
        if let entry = state.withLock({ $0.vmodels.lookup(id) }) { return entry.record }
        state.withLock { $0.vmodels.beginRead(id) }
        do {
            let read = try await store.vmodel(id)
            return state.withLock { $0.vmodels.finishRead(id, record: read.record, revision: read.readRevision) }.record
        } catch {
            state.withLock { $0.vmodels.cancelRead(id) }
            throw error
        }
    }

    // MARK: Waiting for the view

    /// Waits until the view has applied `revision` (or `timeout` passes); for callers that
    /// learned of a change from a transaction or another peer and need routing to see it.
    public func waitFor(revision: Int64, timeout: Duration = MeshDefaults.revisionWait) async {
        _ = await waitUntil(timeout: timeout) { view, _ in view.revision >= revision }
    }

    /// Waits until the first full read of the cluster is in.
    public func waitUntilSynced() async throws {
        let promise = register { _, synced in synced }
        guard let (id, promise) = promise else { return }
        do {
            try await promise.wait()
        } catch {
            removeWaiter(id)
            throw error
        }
    }

    /// Waits until `condition` holds for the view, at most `timeout`; returns whether it held.
    @discardableResult
    public func waitUntil(timeout: Duration, _ condition: @escaping @Sendable (ClusterView) -> Bool) async -> Bool {
        await waitUntil(timeout: timeout) { view, _ in condition(view) }
    }

    private func waitUntil(timeout: Duration, _ condition: @escaping @Sendable (ClusterView, Bool) -> Bool) async -> Bool {
        guard let (id, promise) = register(condition) else { return true }
        do {
            try await withDeadline(.now + timeout, onTimeout: { CancellationError() }) { try await promise.wait() }
            return true
        } catch {
            // A waiter that timed out leaves no trace behind.
            removeWaiter(id)
            return false
        }
    }

    /// A waiter for `condition`, or nil when it holds already.
    private func register(_ condition: @escaping @Sendable (ClusterView, Bool) -> Bool) -> (UInt64, Promise<Void>)? {
        state.withLock { state in
            if condition(state.view, state.synced) { return nil }
            state.nextWaiter += 1
            let promise = Promise<Void>()
            state.waiters[state.nextWaiter] = Waiter(condition: condition, promise: promise)
            return (state.nextWaiter, promise)
        }
    }

    private func removeWaiter(_ id: UInt64) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    /// The waiters whose condition now holds, taken out of the list.
    private func satisfiedWaiters(_ state: inout State) -> [Promise<Void>] {
        guard !state.waiters.isEmpty else { return [] }
        let view = state.view, synced = state.synced
        let ready = state.waiters.filter { $0.value.condition(view, synced) }
        for id in ready.keys { state.waiters[id] = nil }
        return ready.values.map(\.promise)
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
                try await follow(from: revision)
            } catch StoreFailure.historyCompacted {
                logger.warning("the store compacted history the mirror needed; re-reading the cluster")
            } catch let stale as WatchWentSilent {
                logger.warning("the etcd watch went silent while etcd moved on; re-reading the cluster", metadata: [
                    "mirror_revision": "\(stale.mirrorRevision)", "etcd_revision": "\(stale.storeRevision)",
                ])
                Counter(label: "modelmesh_etcd_watch_restarts_total").increment()
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("cannot read the cluster; serving from the last known view", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }

    /// Reads peers, copies and failures at one revision and replaces the view with them.
    private func resync() async throws -> Int64 {
        let snapshot = try await store.snapshot()
        let waiters = state.withLock { state in
            state.view.reset(revision: snapshot.revision, changes: snapshot.changes)
            state.models.removeAll()
            state.vmodels.removeAll()
            state.synced = true
            return satisfiedWaiters(&state)
        }
        for waiter in waiters { waiter.succeed(()) }
        let view = self.view
        logger.info("cluster view loaded", metadata: [
            "revision": "\(snapshot.revision)", "peers": "\(view.peers.count)",
            "copies": "\(view.copies.values.reduce(0) { $0 + $1.count })", "failures": "\(view.failures.count)",
        ])
        notify([.resynced])
        return snapshot.revision
    }

    func apply(_ batch: StoreBatch) {
        var events: [MirrorEvent] = []
        let waiters = state.withLock { state in
            for event in batch.events {
                switch event {
                case .model(let id, let record, let revision):
                    state.models.apply(id, record: record, revision: revision)
                    events.append(record == nil ? .modelRemoved(id) : .modelRegistered(id))
                case .vmodel(let id, let record, let revision):
                    state.vmodels.apply(id, record: record, revision: revision)
                case .transitionPending(let id):
                    events.append(.transitionPending(id))
                case .cluster(let change, let revision):
                    state.view.apply(change)
                    switch change {
                    case .peerPut(let peer, _): events.append(.peerChanged(peer))
                    case .peerDeleted(let peer): events.append(.peerRemoved(peer))
                    case .copyDeleted(let model, let peer): events.append(.copyRemoved(model, peer, revision: revision))
                    default: break
                    }
                }
            }
            state.view.advance(to: batch.revision)
            return satisfiedWaiters(&state)
        }
        for waiter in waiters { waiter.succeed(()) }
        notify(events)
    }

    /// Marks the view as current up to `revision` when it is known that nothing it follows
    /// changed in between.
    func advance(to revision: Int64) {
        let waiters = state.withLock { state in
            state.view.advance(to: revision)
            return satisfiedWaiters(&state)
        }
        for waiter in waiters { waiter.succeed(()) }
    }

    private func notify(_ events: [MirrorEvent]) {
        guard !events.isEmpty else { return }
        let listeners = self.listeners.withLock { $0 }
        for event in events {
            for listener in listeners { listener(event) }
        }
    }
}

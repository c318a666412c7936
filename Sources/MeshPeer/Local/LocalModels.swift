import EtcdGateway
import Logging
import MeshCore
import ModelRuntimes
import OpenInference
import ServiceLifecycle
import Synchronization

/// The models this peer holds: the memory ledger (LRU), loads and unloads through the runtimes,
/// and this peer's copy records in etcd.
///
/// A load is claimed in etcd before it starts (so a model loads once however many requests race
/// for it), runs as a job owned by ``run()``, and is awaited by every request that needs it.
/// Evicted models leave routing at once and are unloaded when their last request finishes.
public actor LocalModels: Service {
    public struct Settings: Sendable {
        public var minChurnAge: Duration = .seconds(30)
        public var loadTimeout: Duration = .seconds(120)
        public var failureExpiry: Duration = .seconds(180)
        public var defaultModelSizeBytes: Int64 = 64 << 20
        public init() {}
    }

    nonisolated let peerID: PeerID
    nonisolated let store: MeshStore
    nonisolated let runtimes: RuntimeRegistry
    nonisolated let files: any ModelFileProvider
    nonisolated let settings: Settings
    nonisolated let metrics: MeshMetrics
    nonisolated let logger: Logger
    nonisolated let leaseProvider: @Sendable () -> LeaseID

    private var cache: LocalCache
    private var copies: [ModelID: Copy] = [:]
    private var inFlight: [ModelID: Int] = [:]
    /// Removed copies still serving their last requests; unloaded when those finish.
    private var draining: [ModelID: any LoadedModel] = [:]
    private var acceptingLoads = true
    /// Measured sizes of models loaded here before, for the next load's estimate.
    private var knownSizes: [ModelID: Int64] = [:]
    /// Requests served per model, for gossip and copy scaling.
    private var rates = RateTracker(window: 5)

    /// Copy states for the router's lock-free-ish read on every request.
    private nonisolated let published = Mutex<[ModelID: LocalCache.State]>([:])
    private nonisolated let ledger = Mutex<LedgerSnapshot>(LedgerSnapshot())
    private nonisolated let jobs: AsyncStream<Job>.Continuation
    private nonisolated let jobStream: AsyncStream<Job>

    struct LedgerSnapshot: Sendable {
        var capacityBytes: Int64 = 0
        var usedBytes: Int64 = 0
        var count = 0
        var lruTime: MeshTime?
        var loading = 0
        var inFlight = 0
    }

    final class Copy: Sendable {
        let record: ModelRecord
        let ready = Promise<any LoadedModel>()
        let started: MeshTime
        /// What fetching the files cost, once known.
        let download = Mutex<ModelFilesOnDisk?>(nil)
        init(record: ModelRecord, started: MeshTime) {
            self.record = record
            self.started = started
        }
    }

    enum Job: Sendable {
        case load(ModelID, Copy)
        case unload(ModelID, any LoadedModel)
        case remove(ModelID, reason: String)
    }

    public init(
        peerID: PeerID, capacityBytes: Int64, store: MeshStore, runtimes: RuntimeRegistry, files: any ModelFileProvider,
        settings: Settings, metrics: MeshMetrics, logger: Logger, lease: @escaping @Sendable () -> LeaseID
    ) {
        self.peerID = peerID
        self.store = store
        self.runtimes = runtimes
        self.files = files
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.leaseProvider = lease
        self.cache = LocalCache(capacityBytes: capacityBytes)
        (jobStream, jobs) = AsyncStream.makeStream(of: Job.self)
        ledger.withLock { $0.capacityBytes = capacityBytes }
    }

    // MARK: Reads for routing

    /// The state of this peer's copy of `model`, without waiting for the actor.
    public nonisolated func state(of model: ModelID) -> LocalCache.State? {
        published.withLock { $0[model] }
    }

    nonisolated var snapshot: LedgerSnapshot { ledger.withLock { $0 } }

    public nonisolated var heldModels: [ModelID: LocalCache.State] { published.withLock { $0 } }

    // MARK: Serving

    /// Takes a loaded copy for one request, waiting for a load in progress until `deadline`.
    /// Pair with ``release(_:)``.
    public func acquire(_ model: ModelID, until deadline: ContinuousClock.Instant) async throws -> any LoadedModel {
        let waitStarted = ContinuousClock.now
        var waited = false
        while true {
            guard let copy = copies[model] else { throw LocalError.notHere(model) }
            if case .success(let loaded)? = copy.ready.result {
                inFlight[model, default: 0] += 1
                let now = MeshTime.now
                cache.touch(model, now: now)
                rates.record(model, at: now)
                if waited { metrics.cacheMiss(model: model, waited: .now - waitStarted) }
                publishLedger()
                return loaded
            }
            if case .failure(let error)? = copy.ready.result { throw error }
            waited = true
            let ready = copy.ready
            _ = try await withDeadline(deadline, onTimeout: {
                InferenceError.deadlineExceeded("\(model) was still loading when the request's deadline passed")
            }) {
                try await ready.wait()
            }
        }
    }

    public func release(_ model: ModelID) {
        let remaining = (inFlight[model] ?? 1) - 1
        inFlight[model] = remaining > 0 ? remaining : nil
        if remaining <= 0, let loaded = draining.removeValue(forKey: model) {
            jobs.yield(.unload(model, loaded))
        }
        publishLedger()
    }

    // MARK: Loading

    /// Claims a copy of `model` here and starts loading it. Returns once the claim is in etcd;
    /// serve with ``acquire(_:until:)``, which waits for the load.
    public func load(_ model: ModelID, record: ModelRecord, decidedAt revision: Int64) async throws {
        if copies[model] != nil { return }
        guard acceptingLoads else { throw LocalError.shuttingDown }
        guard runtimes.runtime(for: record.type) != nil else {
            throw LocalError.refused(model, reason: "no runtime for model type \"\(record.type)\" (this peer runs \(runtimes.supportedTypes.joined(separator: ", ")))")
        }
        let now = MeshTime.now
        let size = record.sizeHintBytes ?? knownSizes[model] ?? settings.defaultModelSizeBytes
        let busy = Set(inFlight.keys)
        let before = cache
        let victims: [ModelID]
        switch cache.admit(model, sizeBytes: size, now: now, minChurnAge: settings.minChurnAge, busy: busy) {
        case .alreadyPresent:
            return
        case .admitted(let evicting):
            victims = evicting
        case .tooLarge(let needed, let capacity):
            throw LocalError.refused(model, reason: "it needs \(ByteCount(needed)) and this peer holds \(ByteCount(capacity))")
        case .wouldChurn(let needed, let idle):
            throw LocalError.refused(model, reason: "making room for \(ByteCount(needed)) would evict a model used \(Int(idle.seconds)) s ago (churn guard: \(Int(settings.minChurnAge.seconds)) s)")
        case .noRoom(let needed, let reclaimable):
            throw LocalError.refused(model, reason: "it needs \(ByteCount(needed)) but only \(ByteCount(reclaimable)) can be freed now")
        }
        let copy = Copy(record: record, started: now)
        copies[model] = copy
        publish(model, .loading)
        let outcome: MeshStore.ClaimOutcome
        do {
            outcome = try await store.claimCopy(
                model, on: peerID, record: CopyRecord(state: .loading, since: now, sizeBytes: size),
                lease: leaseProvider(), decidedAt: revision
            )
        } catch {
            rollBack(model, copy: copy, restoring: before, victims: victims, error: error)
            throw error
        }
        switch outcome {
        case .claimed:
            for victim in victims { await evict(victim, lastUsed: before.entry(victim)?.lastUsed, reason: "making room for \(model)") }
            logger.info("loading model", metadata: ["model": "\(model)", "size_estimate": "\(size)", "evicting": "\(victims.map(\.rawValue))"])
            jobs.yield(.load(model, copy))
        case .conflict(let holders, let at):
            let error = LocalError.lostRace(model, holders: Array(holders.keys), revision: at)
            rollBack(model, copy: copy, restoring: before, victims: victims, error: error)
            throw error
        case .modelGone:
            let error = LocalError.unregistered(model)
            rollBack(model, copy: copy, restoring: before, victims: victims, error: error)
            throw error
        }
        publishLedger()
    }

    private func rollBack(_ model: ModelID, copy: Copy, restoring before: LocalCache, victims: [ModelID], error: any Error) {
        guard copies[model] === copy else { return }
        copies[model] = nil
        cache.remove(model)
        for victim in victims {
            if let entry = before.entry(victim) { cache.restore(victim, entry) }
        }
        publish(model, nil)
        copy.ready.fail(error)
        publishLedger()
    }

    /// Runs in a job: fetch, load, measure, record.
    private nonisolated func performLoad(_ model: ModelID, _ copy: Copy) async {
        let started = ContinuousClock.now
        do {
            guard let runtime = runtimes.runtime(for: copy.record.type) else {
                throw ModelLoadError("no runtime for model type \"\(copy.record.type)\"")
            }
            let fetched = try await files.files(for: model, at: copy.record.storage)
            copy.download.withLock { $0 = fetched }
            let source = ModelSource(id: model, type: copy.record.type, path: fetched.path, sizeHintBytes: copy.record.sizeHintBytes)
            let timeout = settings.loadTimeout
            let loaded = try await withDeadline(.now + timeout, onTimeout: {
                ModelLoadError("loading took longer than \(Int(timeout.seconds)) s (--load-timeout)")
            }) {
                try await runtime.load(source)
            }
            metrics.loaded(model: model, duration: .now - started, sizeBytes: loaded.sizeBytes)
            await finishLoad(model, copy, loaded)
        } catch is CancellationError {
            await failLoad(model, copy, message: "the peer shut down during the load", record: false)
        } catch {
            metrics.loadFailed(model: model)
            await failLoad(model, copy, message: "\(error)", record: true)
        }
    }

    private func finishLoad(_ model: ModelID, _ copy: Copy, _ loaded: any LoadedModel) async {
        guard copies[model] === copy else {
            // Removed while loading (unregistered, unloaded): drop it.
            jobs.yield(.unload(model, loaded))
            return
        }
        let now = MeshTime.now
        knownSizes[model] = loaded.sizeBytes
        cache.markLoaded(model, now: now)
        let ledgerBefore = cache
        let victims = cache.resize(model, to: loaded.sizeBytes, now: now, busy: Set(inFlight.keys))
        publish(model, .loaded)
        copy.ready.succeed(loaded)
        publishLedger()
        logger.info("model loaded", metadata: ["model": "\(model)", "size": "\(loaded.sizeBytes)", "load_ms": "\((now - copy.started).milliseconds)"])
        for victim in victims { await evict(victim, lastUsed: ledgerBefore.entry(victim)?.lastUsed, reason: "\(model) is larger than estimated") }
        do {
            try await store.putCopy(model, on: peerID, record: loadedRecord(copy, since: now, sizeBytes: loaded.sizeBytes), lease: leaseProvider())
            try? await store.clearFailure(model, on: peerID)
        } catch {
            logger.warning("could not mark the copy loaded in etcd; it stays 'loading' there until the next sync", metadata: ["model": "\(model)", "error": "\(error)"])
        }
    }

    /// The copy record of a loaded copy, with what its download cost.
    private func loadedRecord(_ copy: Copy, since: MeshTime, sizeBytes: Int64) -> CopyRecord {
        var record = CopyRecord(state: .loaded, since: since, sizeBytes: sizeBytes)
        if let download = copy.download.withLock({ $0 }) {
            record.download = CopyRecord.Download(bytes: download.byteCount, millis: download.downloadDuration.milliseconds, fromCache: download.fromCache)
        }
        return record
    }

    private func failLoad(_ model: ModelID, _ copy: Copy, message: String, record: Bool) async {
        let error = LocalError.loadFailed(model, message: message)
        if copies[model] === copy {
            copies[model] = nil
            cache.remove(model)
            publish(model, nil)
            files.release(model)
        }
        copy.ready.fail(error)
        publishLedger()
        logger.warning("model failed to load", metadata: ["model": "\(model)", "error": "\(message)"])
        do {
            try await store.deleteCopy(model, on: peerID)
            if record {
                try await store.recordFailure(model, on: peerID, message: message, at: .now, expiry: settings.failureExpiry)
            }
        } catch {
            logger.warning("could not record the failed load in etcd", metadata: ["model": "\(model)", "error": "\(error)"])
        }
    }

    // MARK: Removing

    /// Removes this peer's copy of `model` (eviction, unregistration, explicit unload).
    public func remove(_ model: ModelID, reason: String, deleteRecord: Bool = true) async {
        guard let copy = copies.removeValue(forKey: model) else { return }
        cache.remove(model)
        publish(model, nil)
        files.release(model)
        publishLedger()
        logger.info("removing model", metadata: ["model": "\(model)", "reason": "\(reason)"])
        if case .success(let loaded)? = copy.ready.result {
            if inFlight[model, default: 0] > 0 {
                draining[model] = loaded
            } else {
                jobs.yield(.unload(model, loaded))
            }
        } else {
            copy.ready.fail(LocalError.removed(model))
        }
        if deleteRecord {
            do {
                try await store.deleteCopy(model, on: peerID)
            } catch {
                logger.warning("could not delete the copy record; it goes with the lease", metadata: ["model": "\(model)", "error": "\(error)"])
            }
        }
    }

    /// Removes a model to make room; `lastUsed` is from the ledger before the model left it.
    private func evict(_ model: ModelID, lastUsed: MeshTime?, reason: String) async {
        metrics.evicted(model: model, idle: lastUsed.map { .now - $0 } ?? .zero)
        await remove(model, reason: "evicted: \(reason)")
    }

    /// Re-writes every copy record under a new lease (after the old one expired).
    public func restoreCopyRecords(lease: LeaseID) async {
        for (model, copy) in copies {
            let size = cache.entry(model)?.sizeBytes ?? 0
            let loaded = copy.ready.result.map { (try? $0.get()) != nil } == true
            let record = loaded ? loadedRecord(copy, since: copy.started, sizeBytes: size) : CopyRecord(state: .loading, since: copy.started, sizeBytes: size)
            do {
                try await store.putCopy(model, on: peerID, record: record, lease: lease)
            } catch {
                logger.warning("could not restore a copy record", metadata: ["model": "\(model)", "error": "\(error)"])
            }
        }
        logger.info("copy records restored under the new lease", metadata: ["copies": "\(copies.count)"])
    }

    /// Reacts to cluster changes: models unregistered or copies removed by others are unloaded.
    public nonisolated func handle(_ event: MirrorEvent, peerRegistered: @escaping @Sendable () -> Bool) {
        switch event {
        case .modelRemoved(let model):
            guard state(of: model) != nil else { return }
            jobs.yield(.remove(model, reason: "unregistered"))
        case .copyRemoved(let model, let peer) where peer == peerID:
            // A lease that expired deletes our records too; those copies are restored, not unloaded.
            guard state(of: model) != nil, peerRegistered() else { return }
            jobs.yield(.remove(model, reason: "its copy record was deleted"))
        default:
            return
        }
    }

    /// Stops accepting loads (graceful shutdown).
    public func stopAcceptingLoads() { acceptingLoads = false }

    /// Loaded models used since `time`, most recently used first.
    public func recentlyUsed(since time: MeshTime) -> [ModelID] {
        cache.entries.filter { $0.value.state == .loaded && $0.value.lastUsed >= time }
            .sorted { $0.value.lastUsed > $1.value.lastUsed }.map(\.key)
    }

    /// Deletes this peer's copy records (leaving): routing stops sending work here, while the
    /// models stay loaded for the requests still arriving.
    public func dropCopyRecords() async {
        for model in copies.keys {
            do {
                try await store.deleteCopy(model, on: peerID)
            } catch {
                logger.warning("could not delete a copy record; it goes with the lease", metadata: ["model": "\(model)", "error": "\(error)"])
            }
        }
    }

    // MARK: Load

    /// This peer's rate and in-flight requests for every model it served recently or holds.
    public func modelRates(now: MeshTime) -> [ModelID: LoadReport.ModelRate] {
        rates.modelRates(inFlight: inFlight, at: now)
    }

    /// The report gossiped to other peers: totals, memory, LRU age and the busiest models.
    public func loadReport(peer: PeerID, now: MeshTime) -> LoadReport {
        LoadReport(
            peer: peer, time: now, inFlight: inFlight.values.reduce(0, +),
            loading: copies.values.filter { !$0.ready.isDone }.count,
            usedBytes: cache.usedBytes, capacityBytes: cache.capacityBytes, modelCount: cache.count,
            lruTime: cache.lruTime, rates: Array(modelRates(now: now).values)
        )
    }

    // MARK: Publishing state

    private func publish(_ model: ModelID, _ state: LocalCache.State?) {
        published.withLock { $0[model] = state }
    }

    private func publishLedger() {
        let loading = copies.values.filter { !$0.ready.isDone }.count
        let total = inFlight.values.reduce(0, +)
        let snapshot = LedgerSnapshot(
            capacityBytes: cache.capacityBytes, usedBytes: cache.usedBytes, count: cache.count,
            lruTime: cache.lruTime, loading: loading, inFlight: total
        )
        ledger.withLock { $0 = snapshot }
        metrics.memory(capacity: snapshot.capacityBytes, used: snapshot.usedBytes, models: snapshot.count,
                       lruAge: snapshot.lruTime.map { .now - $0 })
        metrics.inFlight.record(total)
    }

    // MARK: Service

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in jobStream.cancelOnGracefulShutdown() {
                switch job {
                case .load(let model, let copy):
                    group.addTask { await self.performLoad(model, copy) }
                case .remove(let model, let reason):
                    group.addTask { await self.remove(model, reason: reason, deleteRecord: false) }
                case .unload(let model, let loaded):
                    group.addTask {
                        let started = ContinuousClock.now
                        await loaded.unload()
                        self.metrics.unloaded(model: model, duration: .now - started)
                    }
                }
            }
            group.cancelAll()
        }
        await unloadEverything()
    }

    private func unloadEverything() async {
        for (_, copy) in copies {
            if case .success(let loaded)? = copy.ready.result { await loaded.unload() } else { copy.ready.fail(LocalError.shuttingDown) }
        }
        for (_, loaded) in draining { await loaded.unload() }
        copies.removeAll()
        draining.removeAll()
        published.withLock { $0.removeAll() }
    }
}

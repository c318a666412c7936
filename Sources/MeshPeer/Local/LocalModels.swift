import EtcdGateway
import Logging
import MeshCore
import ModelRuntimes
import ServiceLifecycle
import Synchronization
import Tracing

/// The models this peer holds: MeshCore's ``CopyLedger`` behind one lock, and the shell that
/// carries out what it decides — claims and copy records in the store, loads and unloads
/// through the runtimes, files through the storage, and the requests waiting for a load.
///
/// Loads and unloads run as jobs owned by ``run()``; everything else runs in the task that
/// asked. Reads for routing (``state(of:)``, ``inFlight``) take the lock briefly and never wait.
public final class LocalModels: Service, Sendable {
    public struct Settings: Sendable {
        public var ledger = CopyLedger<any LoadedModel>.Settings()
        public var loadTimeout: Duration = MeshDefaults.loadTimeout
        public var failureExpiry: Duration = MeshDefaults.failureExpiry
        public init() {}
    }

    let peerID: PeerID
    let store: any MeshStore
    let runtimes: RuntimeRegistry
    let files: any ModelFileProvider
    let settings: Settings
    let metrics: MeshMetrics
    let clock: any PeerClock
    let logger: Logger
    let leaseProvider: @Sendable () -> LeaseID

    let state: Mutex<State>
    /// Whether a thrashing episode is under way (for logging it once).
    private let thrashing = Mutex(false)
    private let jobs: AsyncStream<Job>.Continuation
    private let jobStream: AsyncStream<Job>

    struct State {
        var ledger: CopyLedger<any LoadedModel>
        /// Requests waiting for a load, by the load's token.
        var waiting: [UInt64: Promise<any LoadedModel>] = [:]
        /// Completed (and replaced) whenever memory may have been freed, for loads waiting for room.
        var roomChanged = Promise<Void>()
        var audit = CopyAudit()
    }

    enum Job: Sendable {
        /// `context`: the trace of the request that started the load, when tracing.
        case load(ModelID, ModelRecord, token: UInt64, context: ServiceContext?)
        case unload(ModelID, any LoadedModel)
        case remove(ModelID, reason: String)
        /// This peer's record of the model was deleted by someone else, at `revision`.
        case recordDeleted(ModelID, revision: Int64)
    }

    /// A copy one request is using; give it back with ``release(_:)``.
    public struct Use: Sendable {
        public let model: ModelID
        public let instance: any LoadedModel
        let token: UInt64
    }

    /// `pools`: the memory budget of each runtime pool.
    public init(
        peerID: PeerID, pools: [String: Int64], store: any MeshStore, runtimes: RuntimeRegistry, files: any ModelFileProvider,
        settings: Settings, metrics: MeshMetrics, clock: any PeerClock, logger: Logger, lease: @escaping @Sendable () -> LeaseID
    ) {
        self.peerID = peerID
        self.store = store
        self.runtimes = runtimes
        self.files = files
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        self.leaseProvider = lease
        self.state = Mutex(State(ledger: CopyLedger(me: peerID, pools: pools, settings: settings.ledger)))
        (jobStream, jobs) = AsyncStream.makeStream(of: Job.self)
    }

    // MARK: Reads

    /// The state of this peer's copy of `model` as routing sees it.
    public func state(of model: ModelID) -> LocalCache.State? {
        state.withLock { $0.ledger.state(of: model) }
    }

    /// The state of this peer's copy of `model`, and whether a loaded one relays requests from
    /// an event loop (``LoadedModel/relaysFromEventLoop``); nil when there is none.
    func copy(of model: ModelID) -> (state: LocalCache.State, relaysFromEventLoop: Bool)? {
        state.withLock { state in
            state.ledger.state(of: model).map { ($0, state.ledger.copies[model]?.instance?.relaysFromEventLoop ?? false) }
        }
    }

    /// Requests using a copy here now.
    public var inFlight: Int { state.withLock { $0.ledger.inFlight } }

    /// The models held here (any phase but draining) and their state.
    public var heldModels: [ModelID: LocalCache.State] {
        state.withLock { state in
            var held: [ModelID: LocalCache.State] = [:]
            for model in state.ledger.copies.keys { held[model] = state.ledger.state(of: model) }
            return held
        }
    }

    /// The size a load of `model` here would be planned with.
    func plannedSize(of model: ModelID, record: ModelRecord, view: ClusterView) -> Int64 {
        state.withLock { $0.ledger.plannedSize(of: model, record: record, view: view) }
    }

    // MARK: Serving

    /// Takes a loaded copy for one request, waiting for a load in progress until `deadline`.
    /// Throws ``CopyFailure`` when there is none, or `deadlineExceeded`.
    public func acquire(_ model: ModelID, until deadline: ContinuousClock.Instant) async throws -> Use {
        let waitStarted = ContinuousClock.now
        var waited = false
        while true {
            let now = clock.now
            let step: AcquireStep = state.withLock { state in
                switch state.ledger.acquire(model, now: now) {
                case .ready(let instance, let token):
                    return .use(Use(model: model, instance: instance, token: token))
                case .unavailable(let failure):
                    return .fail(failure)
                case .wait(let token):
                    let promise = state.waiting[token] ?? Promise()
                    state.waiting[token] = promise
                    return .wait(promise)
                }
            }
            switch step {
            case .use(let use):
                if waited { metrics.cacheMiss(model: model, waited: .now - waitStarted) }
                publishMetrics()
                return use
            case .fail(let failure):
                throw failure
            case .wait(let promise):
                waited = true
                _ = try await withDeadline(deadline, onTimeout: {
                    MeshError.deadlineExceeded("\(model) was still loading when the request's deadline passed")
                }) {
                    try await promise.wait()
                }
            }
        }
    }

    /// A loaded copy for one request when one is ready now (nil otherwise: ``acquire(_:until:)``
    /// waits for a load or says why there is none), for a caller that cannot wait.
    func acquireNow(_ model: ModelID) -> Use? {
        let now = clock.now
        let use: Use? = state.withLock { state in
            guard state.ledger.state(of: model) == .loaded, case .ready(let instance, let token) = state.ledger.acquire(model, now: now) else {
                return nil
            }
            return Use(model: model, instance: instance, token: token)
        }
        if use != nil { publishMetrics() }
        return use
    }

    private enum AcquireStep {
        case use(Use)
        case fail(CopyFailure)
        case wait(Promise<any LoadedModel>)
    }

    public func release(_ use: Use) async {
        let actions = state.withLock { $0.ledger.release(use.model, token: use.token) }
        await perform(actions)
        // A model no request uses any more can be evicted: a load waiting for room may go on.
        signalRoom()
    }

    /// The runtime server holding `model` lost it (`gone`): the copy goes, and requests route
    /// elsewhere or load it again.
    func runtimeLost(_ model: ModelID, _ gone: ModelGoneFromRuntime) async {
        logger.warning("the runtime no longer holds the model; removing the copy", metadata: ["model": "\(model)", "reason": "\(gone)"])
        await remove(model, reason: "its runtime server no longer holds it")
    }

    /// ``release(_:)`` for a caller that cannot wait: what the release sets off (the unload of a
    /// draining copy) runs in a task of its own.
    func releaseNow(_ use: Use) {
        let actions = state.withLock { $0.ledger.release(use.model, token: use.token) }
        guard !actions.isEmpty else { return signalRoom() }
        Task {
            await self.perform(actions)
            self.signalRoom()
        }
    }

    /// Wakes the loads waiting for room (they ask the ledger again).
    private func signalRoom() {
        state.withLock { state -> Promise<Void> in
            defer { state.roomChanged = Promise() }
            return state.roomChanged
        }.succeed(())
    }

    // MARK: Loading

    /// Claims a copy of `model` here and starts loading it; returns once the claim is in the
    /// store (serve with ``acquire(_:until:)``, which waits for the load), with the load's
    /// outcome to come (nil when a copy was here already). `view` is what the decision was made
    /// on. When memory cannot be freed now (everything is in use, or the churn limit is spent),
    /// a request's load waits for room until `deadline`; a background load gives up at once.
    /// Throws ``CopyFailure`` when this peer cannot take it.
    @discardableResult
    func load(
        _ model: ModelID, record: ModelRecord, view: ClusterView, priority: CopyLedger<any LoadedModel>.Priority = .request,
        until deadline: ContinuousClock.Instant
    ) async throws -> Promise<any LoadedModel>? {
        let pool = runtimes.runtime(for: record.type)?.pool
        var request: CopyLedger<any LoadedModel>.LoadRequest
        let waitStarted = ContinuousClock.now
        while true {
            let now = clock.now
            let roomChanged: Promise<Void>
            (request, roomChanged) = state.withLock { state in
                (state.ledger.requestLoad(model, record: record, view: view, now: now, pool: pool, priority: priority), state.roomChanged)
            }
            guard case .mustWait(let failure, let refusal, let until) = request else { break }
            guard priority == .request, ContinuousClock.now < deadline else {
                metrics.roomWait(model: model, waited: .now - waitStarted, gotRoom: false)
                throw failure
            }
            // Wake when memory is freed, when the churn limit allows the next eviction, or at
            // the deadline, whichever comes first.
            let wake = until.map { min(deadline, ContinuousClock.now + max(.milliseconds(1), $0 - now)) } ?? deadline
            logger.debug("waiting for room to load", metadata: ["model": "\(model)", "reason": "\(refusal)"])
            _ = try? await withDeadline(wake, onTimeout: { CancellationError() }) { try await roomChanged.wait() }
            try Task.checkCancellation()
        }
        if ContinuousClock.now - waitStarted > .milliseconds(1) { metrics.roomWait(model: model, waited: .now - waitStarted, gotRoom: true) }
        switch request {
        case .present:
            return nil
        case .mustWait(let failure, _, _):
            throw failure
        case .refused(let failure, _):
            if case .refused(_, let reason) = failure, pool == nil {
                if let waiting = runtimes.runtimes.first(where: { $0.runs(type: record.type) }) {
                    throw CopyFailure.refused(model, reason: "its runtime server (pool \(waiting.pool)) is not ready")
                }
                throw CopyFailure.refused(model, reason: "\(reason) (this peer runs \(runtimes.supportedTypes.joined(separator: ", ")))")
            }
            throw failure
        case .claiming(let actions):
            var outcome: Promise<any LoadedModel>?
            var claim: (record: CopyRecord, decidedAt: Int64, token: UInt64)?
            var others: [CopyLedger<any LoadedModel>.Action] = []
            for action in actions {
                guard case .claim(_, let copyRecord, let decidedAt, let token) = action else {
                    others.append(action)
                    continue
                }
                // Registered before anything runs, so a load that fails at once still reports to it.
                outcome = state.withLock { state in
                    let promise = state.waiting[token] ?? Promise()
                    state.waiting[token] = promise
                    return promise
                }
                claim = (copyRecord, decidedAt, token)
            }
            // A load that starts with its claim runs while the claim is written.
            await perform(others)
            if let claim { try await self.claim(model, claim.record, decidedAt: claim.decidedAt, token: claim.token) }
            return outcome
        }
    }

    /// Writes the claim; a lost race, a vanished model or an unreachable store give the memory
    /// back and fail the waiting requests.
    private func claim(_ model: ModelID, _ record: CopyRecord, decidedAt: Int64, token: UInt64) async throws {
        let failure: CopyFailure
        do {
            switch try await store.claimCopy(model, on: peerID, record: record, lease: leaseProvider(), decidedAt: decidedAt) {
            case .claimed(let revision):
                let now = clock.now
                let actions = state.withLock { $0.ledger.claimSucceeded(model, token: token, revision: revision, now: now) }
                await perform(actions)
                return
            case .conflict(let holders, let revision):
                failure = .lostRace(model, holders: Array(holders.keys), revision: revision)
            case .modelGone:
                failure = .unregistered(model)
            }
        } catch {
            failure = .refused(model, reason: "its copy could not be claimed: \(error)")
        }
        let actions = state.withLock { $0.ledger.claimFailed(model, token: token, failure) }
        await perform(actions)
        throw failure
    }

    /// Runs in a job: fetch, load, measure.
    private func performLoad(_ model: ModelID, _ record: ModelRecord, token: UInt64) async {
        let started = ContinuousClock.now
        let actions: [CopyLedger<any LoadedModel>.Action]
        do {
            guard let runtime = runtimes.runtime(for: record.type) else {
                throw MeshError.failedPrecondition("no runtime for model type \"\(record.type)\"")
            }
            let (loaded, download) = try await MeshTracing.span("mesh.load", attributes: ["mesh.model": model.rawValue]) {
                let fetched = try await files.files(for: model, at: record.storage)
                let download = CopyRecord.Download(bytes: fetched.byteCount, millis: fetched.downloadDuration.milliseconds, fromCache: fetched.fromCache)
                state.withLock { $0.ledger.noteDownload(model, token: token, download) }
                let source = ModelSource(id: model, type: record.type, path: fetched.path, sizeHintBytes: record.sizeHintBytes,
                                         diskBytes: fetched.byteCount, key: ModelKey.json(record.storage, diskBytes: fetched.byteCount))
                let timeout = settings.loadTimeout
                let loaded = try await withDeadline(.now + timeout, onTimeout: {
                    MeshError.failedPrecondition("loading took longer than \(Int(timeout.seconds)) s (--load-timeout)")
                }) {
                    try await runtime.load(source)
                }
                return (loaded, download)
            }
            metrics.loaded(model: model, duration: .now - started, sizeBytes: loaded.sizeBytes)
            let now = clock.now
            actions = state.withLock {
                $0.ledger.loadSucceeded(model, token: token, instance: loaded, sizeBytes: loaded.sizeBytes, download: download, now: now)
            }
            logger.info("model loaded", metadata: ["model": "\(model)", "size": "\(loaded.sizeBytes)", "load_ms": "\((.now - started).milliseconds)"])
        } catch is CancellationError {
            let now = clock.now
            actions = state.withLock { $0.ledger.loadFailed(model, token: token, message: "the peer shut down during the load", recordFailure: false, now: now) }
        } catch {
            metrics.loadFailed(model: model)
            logger.warning("model failed to load", metadata: ["model": "\(model)", "error": "\(error)"])
            let now = clock.now
            actions = state.withLock { $0.ledger.loadFailed(model, token: token, message: "\(error)", recordFailure: true, now: now) }
        }
        await perform(actions)
    }

    // MARK: Removing

    /// Removes this peer's copy of `model` (unregistration, explicit unload, its record deleted
    /// by another peer). `deleteRecord`: also delete its copy record.
    public func remove(_ model: ModelID, reason: String, deleteRecord: Bool = true) async {
        await removing(model, reason: reason) { $0.remove(model, deleteRecord: deleteRecord, now: $1) }
    }

    /// This peer's record of `model` was deleted at `revision`: the copy goes, unless the record
    /// was an earlier copy's (the deletion of a failed load's record seen after the next claim).
    func recordDeleted(_ model: ModelID, revision: Int64) async {
        await removing(model, reason: "its copy record was deleted") { $0.recordDeleted(model, revision: revision, now: $1) }
    }

    /// Carries out a removal the ledger decides, logged when it removes anything.
    private func removing(
        _ model: ModelID, reason: String, _ decide: (inout CopyLedger<any LoadedModel>, MeshTime) -> [CopyLedger<any LoadedModel>.Action]
    ) async {
        let now = clock.now
        let actions = state.withLock { decide(&$0.ledger, now) }
        guard !actions.isEmpty else { return }
        logger.info("removing model", metadata: ["model": "\(model)", "reason": "\(reason)"])
        await perform(actions)
    }

    /// Re-writes every copy record under a new lease (after the old one expired).
    public func restoreCopyRecords(lease: LeaseID) async {
        let actions = state.withLock { $0.ledger.recordsToRestore() }
        await perform(actions, lease: lease)
        logger.info("copy records restored under the new lease", metadata: ["copies": "\(actions.count)"])
    }

    /// Reacts to cluster changes: models unregistered or copies removed by others are unloaded.
    public func handle(_ event: MirrorEvent, peerRegistered: @escaping @Sendable () -> Bool) {
        switch event {
        case .modelRemoved(let model):
            guard state(of: model) != nil else { return }
            jobs.yield(.remove(model, reason: "unregistered"))
        case .copyRemoved(let model, let peer, let revision) where peer == peerID:
            // A lease that expired deletes our records too; those copies are restored, not unloaded.
            guard state(of: model) != nil, peerRegistered() else { return }
            jobs.yield(.recordDeleted(model, revision: revision))
        default:
            return
        }
    }

    // MARK: Runtime servers

    /// A runtime server stopped: its copies go (records deleted, waiting requests failed, so
    /// routing sends them elsewhere).
    public func poolLost(_ pool: String) async {
        let now = clock.now
        let actions = state.withLock { $0.ledger.poolLost(pool, now: now) }
        logger.warning("copies lost with their runtime server", metadata: ["pool": "\(pool)", "copies": "\(actions.filter { if case .deleteRecord = $0 { return true } else { return false } }.count)"])
        await perform(actions)
    }

    /// A runtime server is ready with this budget.
    public func setCapacity(_ bytes: Int64, of pool: String) {
        state.withLock { $0.ledger.setCapacity(bytes, of: pool) }
        signalRoom()
        publishMetrics()
        publishPoolMetrics()
    }

    /// Stops accepting loads (graceful shutdown).
    public func stopAcceptingLoads() {
        state.withLock { $0.ledger.stopAcceptingLoads() }
    }

    /// Loaded models used since `time`, most recently used first.
    public func recentlyUsed(since time: MeshTime) -> [ModelID] {
        state.withLock { $0.ledger.recentlyUsed(since: time) }
    }

    /// Deletes this peer's copy records (leaving): routing stops sending work here, while the
    /// models stay loaded for the requests still arriving.
    public func dropCopyRecords() async {
        await perform(state.withLock { $0.ledger.recordsToDrop() })
    }

    // MARK: Load

    /// This peer's rate and in-flight requests for every model it served recently or holds.
    public func modelRates(now: MeshTime) -> [ModelID: LoadReport.ModelRate] {
        state.withLock { $0.ledger.modelRates(now: now) }
    }

    /// The report gossiped to other peers: totals, memory, LRU age, the busiest models and
    /// thrashing. Thrashing is also logged, once when an episode starts and once when it ends.
    public func loadReport(now: MeshTime) -> LoadReport {
        let report = state.withLock { $0.ledger.loadReport(now: now) }
        let evictions = report.thrashEvictionsPerMinute ?? 0, missing = report.thrashMissingBytes ?? 0
        metrics.thrashing(evictionsPerMinute: evictions, missingBytes: missing)
        let (started, ended) = thrashing.withLock { thrashing -> (Bool, Bool) in
            defer { thrashing = evictions > 0 }
            return (!thrashing && evictions > 0, thrashing && evictions == 0)
        }
        if started {
            logger.warning("thrashing: models used recently are being evicted to load others; the working set does not fit", metadata: [
                "evictions_per_minute": "\(evictions)", "capacity": "\(ByteCount(report.capacityBytes))",
                "capacity_that_would_end_it": "\(ByteCount(report.capacityBytes.addingSaturating(missing)))",
            ])
        } else if ended {
            logger.info("thrashing ended")
        }
        return report
    }

    // MARK: Carrying out the ledger's actions

    func perform(_ actions: [CopyLedger<any LoadedModel>.Action], lease: LeaseID? = nil) async {
        guard !actions.isEmpty else { return }
        for action in actions {
            switch action {
            case .claim(let model, _, _, let token):
                // Claims are written by `load`, which reports their outcome to the caller.
                logger.error("a claim reached the generic executor", metadata: ["model": "\(model)", "token": "\(token)"])
            case .startLoad(let model, let record, let token):
                logger.info("loading model", metadata: ["model": "\(model)"])
                jobs.yield(.load(model, record, token: token, context: MeshTracing.currentContext))
            case .putRecord(let model, let record):
                await storeWrite("write the copy record", model) {
                    let outcome = try await store.putCopy(model, on: peerID, record: record, lease: lease ?? leaseProvider())
                    copyRecordNotWritten(model, outcome)
                }
            case .deleteRecord(let model):
                await storeWrite("delete the copy record; it goes with the lease", model) {
                    try await store.deleteCopy(model, on: peerID, lease: lease ?? leaseProvider())
                }
            case .recordFailure(let model, let message):
                let now = clock.now
                await storeWrite("record the failed load", model) {
                    try await store.recordFailure(model, on: peerID, message: message, at: now, expiry: settings.failureExpiry)
                }
            case .clearFailure(let model):
                try? await store.clearFailure(model, on: peerID)
            case .unload(let model, let instance):
                jobs.yield(.unload(model, instance))
            case .releaseFiles(let model):
                files.release(model)
            case .settle(let token, let result):
                state.withLock { $0.waiting.removeValue(forKey: token) }?.complete(result.mapError { $0 })
            case .evicted(let model, let idle, let cause):
                metrics.evicted(model: model, idle: idle, young: idle < settings.ledger.minChurnAge)
                logger.info("evicting model", metadata: ["model": "\(model)", "reason": "\(cause)", "idle_s": "\(Int(idle.seconds))"])
            }
        }
        signalRoom()
        publishMetrics()
        publishPoolMetrics()
    }

    /// A copy whose record could not be written is not served from here: its model was
    /// unregistered meanwhile, or another process runs with this peer id and owns the key.
    private func copyRecordNotWritten(_ model: ModelID, _ outcome: CopyWriteOutcome) {
        switch outcome {
        case .written:
            return
        case .modelGone:
            jobs.yield(.remove(model, reason: "unregistered while its copy record was written"))
        case .ownedByAnotherLease:
            logger.error("another process with this peer id owns this copy record; not serving the model here", metadata: ["model": "\(model)"])
            jobs.yield(.remove(model, reason: "another process with this peer id owns its copy record"))
        }
    }

    private func storeWrite(_ what: String, _ model: ModelID, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.warning("could not \(what)", metadata: ["model": "\(model)", "error": "\(error)"])
        }
    }

    private func publishMetrics() {
        let (capacity, used, count, lru, inFlight) = state.withLock { state in
            (state.ledger.cache.capacityBytes, state.ledger.cache.usedBytes, state.ledger.cache.count, state.ledger.cache.lruTime, state.ledger.inFlight)
        }
        let now = clock.now
        metrics.memory(capacity: capacity, used: used, models: count, lruAge: lru.map { now - $0 })
        metrics.inFlight.record(inFlight)
    }

    /// Each pool's budget, use and readiness; they change with loads, evictions and runtime
    /// servers coming and going, never with a request, so this stays off the request path.
    private func publishPoolMetrics() {
        let pools = state.withLock { $0.ledger.cache.pools }
        guard pools.count > 1 else { return }
        metrics.pools(pools, ready: Dictionary(runtimes.runtimes.map { ($0.pool, $0.isReady) }, uniquingKeysWith: { $0 && $1 }))
    }

    // MARK: Service

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in jobStream.cancelOnGracefulShutdown() {
                switch job {
                case .load(let model, let record, let token, let context):
                    group.addTask { await MeshTracing.within(context) { await self.performLoad(model, record, token: token) } }
                case .remove(let model, let reason):
                    group.addTask { await self.remove(model, reason: reason, deleteRecord: false) }
                case .recordDeleted(let model, let revision):
                    group.addTask { await self.recordDeleted(model, revision: revision) }
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
        let actions = state.withLock { $0.ledger.removeAll() }
        for action in actions {
            switch action {
            case .unload(_, let instance): await instance.unload()
            case .settle(let token, let result): state.withLock { $0.waiting.removeValue(forKey: token) }?.complete(result.mapError { $0 })
            default: break
            }
        }
    }
}

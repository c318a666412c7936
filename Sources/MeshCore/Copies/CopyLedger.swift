/// This peer's copies and their lives, as one value: the memory ledger (``LocalCache``), each
/// copy's phase, the requests using it, the sizes loads measured and the rates requests made.
///
/// A copy is **claiming** (memory reserved, its record being written with a compare-and-swap),
/// then **queued** (waiting for one of ``Settings/maxLoadingConcurrency`` load slots: loads a
/// request waits on before background ones), then **loading**, then **loaded**. A copy that
/// evicts nothing, with a slot free and no load queued, starts loading while it claims (the
/// claim's round trip then costs a cold miss nothing); what that load produces is kept until
/// the claim holds, and dropped if it fails. Removed while
/// requests still use it, it is **draining** (out of routing, unloaded when the last request
/// releases it). Every change returns the
/// ``Action``s the shell must carry out (write or delete a record, start a load, unload an
/// instance, wake the requests waiting for a load); the ledger itself does no I/O and reads no
/// clock. `Instance` is what a load produced (a runtime's loaded model; `Void` in the simulator).
public struct CopyLedger<Instance: Sendable>: Sendable {
    public enum Phase: String, Sendable, Hashable {
        case claiming, queued, loading, loaded, draining
    }

    /// Which load goes first when loads queue.
    public enum Priority: Int, Sendable, Hashable, Comparable {
        /// Nobody waits for it (copy scaling, minCopies, an asynchronous ensureLoaded).
        case background = 0
        /// A request waits for it.
        case request = 1

        public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public struct Copy: Sendable {
        public internal(set) var phase: Phase
        public let record: ModelRecord
        /// Tells this copy's load from an earlier or later one of the same model.
        public let token: UInt64
        public let started: MeshTime
        public internal(set) var priority: Priority
        /// When the load left the queue.
        public internal(set) var loadStarted: MeshTime?
        public internal(set) var loadedSince: MeshTime?
        public internal(set) var inFlight = 0
        public internal(set) var instance: Instance?
        /// What fetching the files cost, once known.
        public internal(set) var download: CopyRecord.Download?
        /// Copies chosen to make room, still serving until the claim holds (then evicted) or
        /// fails (then put back in the ledger).
        var displaced: [(ModelID, LocalCache.Entry)] = []
        /// A load started with the claim, while the copy is claiming.
        var earlyLoad: EarlyLoad?
        /// The store revision that wrote this copy's record (its claim; 0 when unknown): a
        /// deletion seen at an older revision was of an earlier copy's record.
        public internal(set) var recordRevision: Int64 = 0
        /// The latest deletion of this peer's record of the model seen while claiming; the claim's
        /// revision tells whether it came before the claim's write or removed it.
        var deletedWhileClaiming: Int64?
    }

    /// A load started while its copy claims, and how it ended if it ended first.
    enum EarlyLoad: Sendable {
        case running
        case succeeded(Instance, sizeBytes: Int64, download: CopyRecord.Download?, at: MeshTime)
        case failed(message: String, recordFailure: Bool)
    }

    public struct Settings: Sendable {
        public var minChurnAge: Duration
        public var defaultModelSizeBytes: Int64
        public var policy: LocalCache.Policy
        /// Loads running at once; more wait in the queue.
        public var maxLoadingConcurrency: Int
        /// Models used within ``minChurnAge`` are evicted only after every older one, and at
        /// most this many per second (a burst of one second's worth, at least one).
        public var churnLimitPerSecond: Double

        public init(
            minChurnAge: Duration = MeshDefaults.minChurnAge, defaultModelSizeBytes: Int64 = MeshDefaults.defaultModelSizeBytes,
            policy: LocalCache.Policy = .costAware, maxLoadingConcurrency: Int = MeshDefaults.maxLoadingConcurrency,
            churnLimitPerSecond: Double = MeshDefaults.churnLimitPerSecond
        ) {
            self.minChurnAge = minChurnAge
            self.defaultModelSizeBytes = defaultModelSizeBytes
            self.policy = policy
            self.maxLoadingConcurrency = max(1, maxLoadingConcurrency)
            self.churnLimitPerSecond = churnLimitPerSecond
        }
    }

    /// What the shell does next, in order.
    public enum Action: Sendable {
        /// Write the copy record (state `loading`) if the model's copies did not change since
        /// `decidedAt`; report with ``claimSucceeded(_:token:)`` or ``claimFailed(_:token:_:)``.
        case claim(ModelID, CopyRecord, decidedAt: Int64, token: UInt64)
        /// Fetch and load the model; report with ``loadSucceeded`` or ``loadFailed``.
        case startLoad(ModelID, ModelRecord, token: UInt64)
        /// Write the copy record as it is now (loaded, or restored under a new lease).
        case putRecord(ModelID, CopyRecord)
        case deleteRecord(ModelID)
        case recordFailure(ModelID, message: String)
        case clearFailure(ModelID)
        /// Release the instance's memory; nothing uses it any more.
        case unload(ModelID, Instance)
        /// The model's files may leave the disk cache.
        case releaseFiles(ModelID)
        /// The requests waiting for this load can go on (or fail).
        case settle(token: UInt64, Result<Instance, CopyFailure>)
        /// A copy left to make room (for metrics and logs); its record and instance follow.
        case evicted(ModelID, idle: Duration, cause: Eviction)
    }

    /// Why a copy was evicted.
    public enum Eviction: Sendable, Hashable, CustomStringConvertible {
        /// To make room for a new copy of this model.
        case makingRoom(for: ModelID)
        /// This model's load measured more than planned, and memory was overcommitted.
        case resized(ModelID)

        public var description: String {
            switch self {
            case .makingRoom(let model): return "making room for \(model)"
            case .resized(let model): return "\(model) is larger than estimated"
            }
        }
    }

    /// Why a load was refused (``LoadRequest/refused(_:_:)``) or must wait (``LoadRequest/mustWait(_:_:until:)``).
    public enum Refusal: Sendable, Hashable {
        case shuttingDown, unsupported, tooLarge
        /// Making room would evict models used within the churn guard faster than its limit.
        case churnGuard
        /// Not enough memory is evictable now (the rest is loading or in use).
        case noRoom
    }

    /// What a request gets from ``acquire(_:now:)``.
    public enum Acquisition: Sendable {
        /// Use this instance; pair with ``release(_:token:)``.
        case ready(Instance, token: UInt64)
        /// The copy is claiming or loading: wait for the load with this token, then ask again.
        case wait(token: UInt64)
        case unavailable(CopyFailure)
    }

    /// What ``requestLoad`` did.
    public enum LoadRequest: Sendable {
        /// A copy is here already (any phase but draining).
        case present
        /// Room was made; carry out the actions: a claim first, and the load when it starts
        /// with the claim (the shell starts it before it waits for the claim).
        case claiming([Action])
        /// This peer cannot take the model (too large, no runtime, shutting down).
        case refused(CopyFailure, Refusal)
        /// No room now: ask again at `until` (the churn limit's next eviction), or when memory
        /// is freed (nil: a load finishes, a request ends).
        case mustWait(CopyFailure, Refusal, until: MeshTime?)
    }

    public let me: PeerID
    public let settings: Settings
    public private(set) var cache: LocalCache
    public private(set) var copies: [ModelID: Copy] = [:]
    /// Removed copies still serving their last requests, by token.
    public private(set) var draining: [UInt64: (model: ModelID, copy: Copy)] = [:]
    /// Sizes loads here measured, for the next estimate of the same model.
    public private(set) var measuredSizes: [ModelID: Int64] = [:]
    public private(set) var acceptingLoads = true
    public private(set) var rates = RateTracker(window: 5)
    /// Requests using a copy now (draining ones included); routing reads it on every request.
    public private(set) var inFlight = 0
    /// Evictions of models used within the churn guard, in the last minute: the sign that the
    /// working set does not fit.
    public private(set) var thrash = ThrashWindow()
    /// Evictions of recently used models the churn limit allows now (refilled over time).
    private var churnBudget: Double
    private var churnBudgetAt: MeshTime?
    private var lastToken: UInt64 = 0

    /// One built-in pool of `capacityBytes`.
    public init(me: PeerID, capacityBytes: Int64, settings: Settings = Settings()) {
        self.init(me: me, pools: [RuntimePool.builtin: capacityBytes], settings: settings)
    }

    /// Runtime pools by name, each with its memory budget.
    public init(me: PeerID, pools: [String: Int64], settings: Settings = Settings()) {
        self.me = me
        self.settings = settings
        self.cache = LocalCache(pools: pools, policy: settings.policy)
        self.churnBudget = max(1, settings.churnLimitPerSecond)
    }

    // MARK: Reads

    /// The copy's state as routing sees it: claiming and loading copies are `loading`, draining
    /// ones are gone.
    public func state(of model: ModelID) -> LocalCache.State? {
        switch copies[model]?.phase {
        case .claiming?, .queued?, .loading?: return .loading
        case .loaded?: return .loaded
        case .draining?, nil: return nil
        }
    }


    /// Copies not loaded yet (claiming, queued or loading).
    public var loading: Int { copies.values.filter { $0.phase != .loaded }.count }

    /// Loaded models used since `time`, most recently used first.
    public func recentlyUsed(since time: MeshTime) -> [ModelID] {
        cache.entries.filter { $0.value.state == .loaded && $0.value.lastUsed >= time }
            .sorted { ($0.value.lastUsed, $1.key) > ($1.value.lastUsed, $0.key) }.map(\.key)
    }

    /// This peer's rate and in-flight requests for every model it served recently or holds.
    public mutating func modelRates(now: MeshTime) -> [ModelID: LoadReport.ModelRate] {
        var inFlight: [ModelID: Int] = [:]
        for (model, copy) in copies where copy.inFlight > 0 { inFlight[model, default: 0] += copy.inFlight }
        for (model, copy) in draining.values where copy.inFlight > 0 { inFlight[model, default: 0] += copy.inFlight }
        return rates.modelRates(inFlight: inFlight, at: now)
    }

    /// The report gossiped to other peers.
    public mutating func loadReport(now: MeshTime) -> LoadReport {
        var report = LoadReport(
            peer: me, time: now, inFlight: inFlight, loading: loading, usedBytes: cache.usedBytes,
            capacityBytes: cache.capacityBytes, modelCount: cache.count, lruTime: cache.lruTime,
            rates: Array(modelRates(now: now).values)
        )
        report.evictionValue = cache.cheapestValue(now: now)
        if cache.pools.count > 1 { report.poolUsedBytes = cache.pools.mapValues(\.usedBytes) }
        let thrashing = thrash.summary(now: now)
        if thrashing.evictions > 0 {
            report.thrashEvictionsPerMinute = thrashing.evictions
            report.thrashMissingBytes = thrashing.missingBytes
        }
        return report
    }

    /// The size a load of `model` here would be admitted with (``ModelSize``).
    public func plannedSize(of model: ModelID, record: ModelRecord, view: ClusterView) -> Int64 {
        ModelSize.planned(model, record: record, view: view, measuredHere: measuredSizes[model], defaultBytes: settings.defaultModelSizeBytes)
    }

    // MARK: Serving

    /// Takes a loaded copy for one request (counted until ``release(_:token:)``); a request that
    /// has to wait raises a queued background load to request priority.
    public mutating func acquire(_ model: ModelID, now: MeshTime) -> Acquisition {
        guard var copy = copies[model] else { return .unavailable(.notHere(model)) }
        guard copy.phase == .loaded, let instance = copy.instance else {
            if copy.priority < .request {
                copy.priority = .request
                copies[model] = copy
            }
            return .wait(token: copy.token)
        }
        copy.inFlight += 1
        copies[model] = copy
        inFlight += 1
        cache.touch(model, now: now)
        rates.record(model, at: now)
        return .ready(instance, token: copy.token)
    }

    /// A request is done with the copy it acquired; a draining copy unloads with its last one.
    public mutating func release(_ model: ModelID, token: UInt64) -> [Action] {
        if var copy = copies[model], copy.token == token {
            guard copy.inFlight > 0 else { return [] }
            copy.inFlight -= 1
            copies[model] = copy
            inFlight -= 1
            return []
        }
        guard var entry = draining[token], entry.copy.inFlight > 0 else { return [] }
        entry.copy.inFlight -= 1
        inFlight -= 1
        guard entry.copy.inFlight == 0 else {
            draining[token] = entry
            return []
        }
        draining[token] = nil
        return entry.copy.instance.map { [.unload(model, $0)] } ?? []
    }

    // MARK: Loading

    /// Reserves memory for a copy of `model` (choosing the models to evict) and asks for the
    /// claim in etcd. `view` gives the planned size and `decidedAt`. When memory cannot be freed
    /// now, the caller waits and asks again (``LoadRequest/mustWait(_:_:until:)``): a request
    /// is served later rather than refused. `pool`: the runtime pool that runs the model here
    /// (nil: none does).
    public mutating func requestLoad(
        _ model: ModelID, record: ModelRecord, view: ClusterView, now: MeshTime, pool: String? = RuntimePool.builtin,
        priority: Priority = .request
    ) -> LoadRequest {
        if let copy = copies[model], copy.phase != .draining { return .present }
        guard acceptingLoads else { return .refused(.shuttingDown, .shuttingDown) }
        guard let pool else { return .refused(.refused(model, reason: "no runtime for model type \"\(record.type)\""), .unsupported) }
        let size = plannedSize(of: model, record: record, view: view)
        let busy = Set(copies.filter { $0.value.inFlight > 0 }.keys)
        let before = cache
        refillChurnBudget(now: now)
        let victims: [ModelID]
        switch cache.admit(model, sizeBytes: size, pool: pool, now: now, minChurnAge: settings.minChurnAge, busy: busy, youngEvictions: Int(churnBudget)) {
        case .alreadyPresent:
            return .present
        case .admitted(let evicting):
            victims = evicting
            let young = evicting.filter { before.entry($0).map { now - $0.lastUsed < settings.minChurnAge } ?? false }.count
            churnBudget -= Double(young)
        case .tooLarge(let needed, let capacity):
            let holder = pool == RuntimePool.builtin ? "this peer" : "runtime pool \(pool) on this peer"
            return .refused(.refused(model, reason: "it needs \(ByteCount(needed)) and \(holder) holds \(ByteCount(capacity))"), .tooLarge)
        case .wouldChurn(let needed, let idle):
            let failure = CopyFailure.refused(model, reason: "making room for \(ByteCount(needed)) would evict a model used \(Int(idle.seconds)) s ago faster than the churn limit allows (\(Formatting.decimal(settings.churnLimitPerSecond)) per second)")
            return .mustWait(failure, .churnGuard, until: now + nextChurnToken)
        case .noRoom(let needed, let reclaimable):
            return .mustWait(.refused(model, reason: "it needs \(ByteCount(needed)) but only \(ByteCount(reclaimable)) can be freed now"), .noRoom, until: nil)
        }
        lastToken += 1
        var copy = Copy(phase: .claiming, record: record, token: lastToken, started: now, priority: priority)
        copy.displaced = victims.compactMap { victim in before.entry(victim).map { (victim, $0) } }
        // Loading at once would hold the displaced copies' memory twice, or jump the queue.
        let startsNow = copy.displaced.isEmpty && queuedLoads == 0 && runningLoads < settings.maxLoadingConcurrency
        if startsNow {
            copy.earlyLoad = .running
            copy.loadStarted = now
        }
        copies[model] = copy
        let claim = Action.claim(model, CopyRecord(state: .loading, since: now, sizeBytes: size), decidedAt: view.revision, token: copy.token)
        return .claiming(startsNow ? [claim, .startLoad(model, record, token: copy.token)] : [claim])
    }

    /// Loads running, those started with their claim included.
    var runningLoads: Int { copies.values.filter { $0.phase == .loading || $0.earlyLoad != nil }.count }

    /// The claim holds: the displaced copies leave and the load queues (starting at once when a
    /// load slot is free). `revision`: the store revision the claim wrote its record at (0 when
    /// unknown: then any deletion of the record seen while claiming is taken as its).
    public mutating func claimSucceeded(_ model: ModelID, token: UInt64, revision: Int64 = 0, now: MeshTime) -> [Action] {
        guard var copy = copies[model], copy.token == token, copy.phase == .claiming else { return [] }
        if let deleted = copy.deletedWhileClaiming, deleted >= revision {
            // Written, then deleted (by another peer, or with an expired lease) before the claim's answer came
            // back: the copy never came to be.
            return claimFailed(model, token: token, .removed(model))
        }
        copy.recordRevision = revision
        if let early = copy.earlyLoad {
            copy.earlyLoad = nil
            copy.phase = .loading
            copies[model] = copy
            switch early {
            case .running:
                return []
            case .succeeded(let instance, let sizeBytes, let download, let at):
                return loadSucceeded(model, token: token, instance: instance, sizeBytes: sizeBytes, download: download, now: max(at, now))
            case .failed(let message, let recordFailure):
                return loadFailed(model, token: token, message: message, recordFailure: recordFailure, now: now)
            }
        }
        let displaced = copy.displaced
        copy.displaced = []
        copy.phase = .queued
        copies[model] = copy
        var actions: [Action] = []
        for (victim, entry) in displaced {
            noteEviction(victim, entry, now: now)
            actions.append(.evicted(victim, idle: now - entry.lastUsed, cause: .makingRoom(for: model)))
            actions += remove(victim, deleteRecord: true, failWaitersWith: .removed(victim), alreadyOutOfCache: true)
        }
        return actions + startQueuedLoads(now: now)
    }

    /// Starts queued loads while slots are free: request loads first, then by claim order.
    mutating func startQueuedLoads(now: MeshTime) -> [Action] {
        var running = runningLoads
        guard running < settings.maxLoadingConcurrency else { return [] }
        let queued = copies.filter { $0.value.phase == .queued }
            .sorted { ($1.value.priority, $0.value.token) < ($0.value.priority, $1.value.token) }
        var actions: [Action] = []
        for (model, var copy) in queued where running < settings.maxLoadingConcurrency {
            copy.phase = .loading
            copy.loadStarted = now
            copies[model] = copy
            running += 1
            actions.append(.startLoad(model, copy.record, token: copy.token))
        }
        return actions
    }

    /// Loads queued now.
    public var queuedLoads: Int { copies.values.filter { $0.phase == .queued }.count }

    /// Whether a model last used at `lastUsed` counts as recently used at `now`.
    public func isYoung(_ lastUsed: MeshTime, now: MeshTime) -> Bool {
        now - lastUsed < settings.minChurnAge
    }

    private mutating func noteEviction(_ model: ModelID, _ entry: LocalCache.Entry, now: MeshTime) {
        if isYoung(entry.lastUsed, now: now) { thrash.record(model, sizeBytes: entry.sizeBytes, at: now) }
    }

    /// How long until the churn limit allows the next eviction of a recently used model.
    var nextChurnToken: Duration {
        let rate = max(settings.churnLimitPerSecond, 1e-3)
        return .milliseconds(Int64(((1 - churnBudget.truncatingRemainder(dividingBy: 1)) / rate * 1000).rounded(.up)))
    }

    private mutating func refillChurnBudget(now: MeshTime) {
        let burst = max(1, settings.churnLimitPerSecond)
        if let last = churnBudgetAt, now > last {
            churnBudget = min(burst, churnBudget + (now - last).seconds * settings.churnLimitPerSecond)
        }
        churnBudgetAt = now
    }

    /// This peer's record of `model` was deleted at `revision` (seen by the watch, not done by
    /// this peer): the copy goes, unless the record deleted was an earlier copy's. A claiming
    /// copy keeps the revision for its claim's answer to compare.
    public mutating func recordDeleted(_ model: ModelID, revision: Int64, now: MeshTime) -> [Action] {
        guard var copy = copies[model] else { return [] }
        if copy.phase == .claiming {
            copy.deletedWhileClaiming = max(copy.deletedWhileClaiming ?? revision, revision)
            copies[model] = copy
            return []
        }
        guard revision >= copy.recordRevision else { return [] }
        return remove(model, deleteRecord: false, now: now)
    }

    /// The claim did not hold (another peer won, the model is gone, etcd failed): the memory
    /// and the displaced copies go back as they were.
    public mutating func claimFailed(_ model: ModelID, token: UInt64, _ failure: CopyFailure) -> [Action] {
        guard let copy = copies[model], copy.token == token, copy.phase == .claiming else { return [] }
        copies[model] = nil
        cache.remove(model)
        for (victim, entry) in copy.displaced where copies[victim] != nil { cache.restore(victim, entry) }
        var actions: [Action] = [.settle(token: token, .failure(failure))]
        switch copy.earlyLoad {
        case nil:
            return actions
        case .running?:
            // The load's end finds no copy, unloads what it made and frees its slot.
            actions.append(.releaseFiles(model))
        case .succeeded(let instance, _, _, _)?:
            actions += [.unload(model, instance), .releaseFiles(model)]
        case .failed(let message, let recordFailure)?:
            // The load failed here whoever holds the copy now: the failure is still recorded.
            actions.append(.releaseFiles(model))
            if recordFailure { actions.append(.recordFailure(model, message: message)) }
        }
        return actions
    }

    /// The load finished: the ledger learns the true size (evicting idle models if the
    /// estimate was low), the record turns `loaded`, waiting requests go on.
    public mutating func loadSucceeded(
        _ model: ModelID, token: UInt64, instance: Instance, sizeBytes: Int64, download: CopyRecord.Download?, now: MeshTime
    ) -> [Action] {
        if var copy = copies[model], copy.token == token, case .running? = copy.earlyLoad {
            // Kept until the claim holds.
            copy.earlyLoad = .succeeded(instance, sizeBytes: sizeBytes, download: download, at: now)
            copies[model] = copy
            return []
        }
        guard var copy = copies[model], copy.token == token, copy.phase == .loading else {
            // Removed while loading (unregistered, unloaded, evicted): drop what was loaded.
            return [.unload(model, instance)] + startQueuedLoads(now: now)
        }
        measuredSizes[model] = sizeBytes
        cache.markLoaded(model, now: now, cost: now - (copy.loadStarted ?? copy.started))
        let before = cache
        let busy = Set(copies.filter { $0.value.inFlight > 0 }.keys)
        let victims = cache.resize(model, to: sizeBytes, now: now, busy: busy)
        copy.phase = .loaded
        copy.loadedSince = now
        copy.instance = instance
        copy.download = download
        copies[model] = copy
        var actions: [Action] = [.settle(token: token, .success(instance))]
        for victim in victims {
            let idle = before.entry(victim).map { now - $0.lastUsed } ?? .zero
            if let entry = before.entry(victim) { noteEviction(victim, entry, now: now) }
            actions.append(.evicted(victim, idle: idle, cause: .resized(model)))
            actions += remove(victim, deleteRecord: true, failWaitersWith: .removed(victim), alreadyOutOfCache: true)
        }
        actions += [.putRecord(model, loadedRecord(copy, sizeBytes: sizeBytes)), .clearFailure(model)]
        return actions + startQueuedLoads(now: now)
    }

    /// The load failed: the copy and its record go, the failure is recorded (unless the peer is
    /// shutting down) and waiting requests fail.
    public mutating func loadFailed(_ model: ModelID, token: UInt64, message: String, recordFailure: Bool, now: MeshTime) -> [Action] {
        if var copy = copies[model], copy.token == token, case .running? = copy.earlyLoad {
            // Told once the claim is decided: then the record goes (or was never written).
            copy.earlyLoad = .failed(message: message, recordFailure: recordFailure)
            copies[model] = copy
            return []
        }
        let failure = CopyFailure.loadFailed(model, message: message)
        var actions: [Action] = []
        if let copy = copies[model], copy.token == token {
            copies[model] = nil
            cache.remove(model)
            actions += [.releaseFiles(model), .deleteRecord(model)]
        }
        actions.insert(.settle(token: token, .failure(failure)), at: 0)
        if recordFailure { actions.append(.recordFailure(model, message: message)) }
        return actions + startQueuedLoads(now: now)
    }

    /// What the download of the copy with `token` cost (kept for its record).
    public mutating func noteDownload(_ model: ModelID, token: UInt64, _ download: CopyRecord.Download) {
        guard var copy = copies[model], copy.token == token else { return }
        copy.download = download
        copies[model] = copy
    }

    // MARK: Removing

    /// Removes this peer's copy of `model` (unregistered, unloaded, its record deleted by
    /// another peer). `deleteRecord`: also delete its record (false when it is gone already).
    public mutating func remove(_ model: ModelID, deleteRecord: Bool, now: MeshTime) -> [Action] {
        remove(model, deleteRecord: deleteRecord, failWaitersWith: .removed(model), alreadyOutOfCache: false) + startQueuedLoads(now: now)
    }

    /// `instanceGone`: the runtime lost the instance already; it is dropped, not unloaded.
    private mutating func remove(
        _ model: ModelID, deleteRecord: Bool, failWaitersWith failure: CopyFailure, alreadyOutOfCache: Bool, instanceGone: Bool = false
    ) -> [Action] {
        guard var copy = copies.removeValue(forKey: model) else { return [] }
        if !alreadyOutOfCache { cache.remove(model) }
        // Models this copy displaced and that were kept for its claim go back to the ledger.
        for (victim, entry) in copy.displaced where copies[victim] != nil { cache.restore(victim, entry) }
        var actions: [Action] = [.releaseFiles(model)]
        switch copy.phase {
        case .loaded:
            if instanceGone { copy.instance = nil }
            if copy.inFlight > 0 {
                copy.phase = .draining
                draining[copy.token] = (model, copy)
            } else if let instance = copy.instance {
                actions.append(.unload(model, instance))
            }
        case .claiming, .queued, .loading:
            actions.append(.settle(token: copy.token, .failure(failure)))
            if case .succeeded(let instance, _, _, _)? = copy.earlyLoad, !instanceGone { actions.append(.unload(model, instance)) }
        case .draining:
            break
        }
        if deleteRecord { actions.append(.deleteRecord(model)) }
        return actions
    }

    /// The runtime server of `pool` stopped: its copies are gone with it. Their records go,
    /// requests waiting for their loads fail (and are routed elsewhere), and loaded instances are
    /// dropped without an unload (the server lost them; it is purged when it returns).
    public mutating func poolLost(_ pool: String, now: MeshTime) -> [Action] {
        var actions: [Action] = []
        for model in cache.models(in: pool).sorted() {
            actions += remove(model, deleteRecord: true, failWaitersWith: .loadFailed(model, message: "its runtime server (pool \(pool)) stopped"),
                              alreadyOutOfCache: false, instanceGone: true)
        }
        return actions + startQueuedLoads(now: now)
    }

    /// Stops taking loads (graceful shutdown).
    public mutating func stopAcceptingLoads() { acceptingLoads = false }

    /// A pool's budget changed (its runtime server reported one); nothing is evicted for it.
    public mutating func setCapacity(_ bytes: Int64, of pool: String) { cache.setCapacity(bytes, of: pool) }

    /// Every copy's record as it should be, to write again under a new lease.
    public func recordsToRestore(of models: Set<ModelID>? = nil) -> [Action] {
        copies.sorted { $0.key < $1.key }.compactMap { model, copy in
            if let models, !models.contains(model) { return nil }
            let size = cache.entry(model)?.sizeBytes ?? 0
            switch copy.phase {
            case .loaded: return .putRecord(model, loadedRecord(copy, sizeBytes: size))
            case .queued, .loading: return .putRecord(model, CopyRecord(state: .loading, since: copy.started, sizeBytes: size))
            case .claiming, .draining: return nil
            }
        }
    }

    /// The copies whose record the store should have (queued, loading, loaded), and those whose
    /// record is being written or deleted (claiming, draining), for ``CopyAudit``.
    public func auditedCopies() -> (holding: Set<ModelID>, settling: Set<ModelID>) {
        var holding: Set<ModelID> = [], settling: Set<ModelID> = []
        for (model, copy) in copies {
            switch copy.phase {
            case .queued, .loading, .loaded: holding.insert(model)
            case .claiming, .draining: settling.insert(model)
            }
        }
        settling.formUnion(draining.values.map(\.model))
        return (holding, settling)
    }

    /// Deletes every copy record (leaving): routing stops sending work here while the models
    /// stay loaded for the requests still arriving.
    public func recordsToDrop() -> [Action] {
        copies.keys.sorted().map { .deleteRecord($0) }
    }

    /// Unloads everything (the peer stops): loaded and draining instances, and loads that never
    /// finish fail their waiters.
    public mutating func removeAll() -> [Action] {
        var actions: [Action] = []
        for (model, copy) in copies.sorted(by: { $0.key < $1.key }) {
            if let instance = copy.instance {
                actions.append(.unload(model, instance))
            } else if case .succeeded(let instance, _, _, _)? = copy.earlyLoad {
                actions += [.settle(token: copy.token, .failure(.shuttingDown)), .unload(model, instance)]
            } else {
                actions.append(.settle(token: copy.token, .failure(.shuttingDown)))
            }
        }
        for (_, entry) in draining.sorted(by: { $0.key < $1.key }) {
            if let instance = entry.copy.instance { actions.append(.unload(entry.model, instance)) }
        }
        copies = [:]
        draining = [:]
        inFlight = 0
        cache = LocalCache(pools: cache.pools.mapValues(\.capacityBytes), policy: settings.policy)
        return actions
    }

    /// The record of a loaded copy, with what its download cost.
    func loadedRecord(_ copy: Copy, sizeBytes: Int64) -> CopyRecord {
        var record = CopyRecord(state: .loaded, since: copy.loadedSince ?? copy.started, sizeBytes: sizeBytes)
        record.download = copy.download
        return record
    }
}

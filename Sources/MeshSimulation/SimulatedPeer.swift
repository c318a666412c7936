import MeshCore

/// One simulated peer: the memory ledger (``LocalCache``) and rate tracker a real peer keeps,
/// plus what its shell tracks around them (requests in flight, loads in progress and their
/// waiting requests, peers that refused a connection, the copy scaler's memory).
struct SimulatedPeer {
    let id: PeerID
    let record: PeerRecord
    var alive = true
    var cache: LocalCache
    var rates = RateTracker()
    /// Requests being served here, per model.
    var inFlight: [ModelID: Int] = [:]
    var totalInFlight = 0
    /// Requests this peer forwarded that another peer is still serving.
    var outstanding: [PeerID: Int] = [:]
    /// Peers that refused a connection, and until when they stay excluded.
    var unreachableUntil: [PeerID: MeshTime] = [:]
    /// Loads in progress, by model index, with the requests waiting for them.
    var loads: [Int32: PendingLoad] = [:]
    /// Model indices held (loading or loaded): the ledger's keys in a form that sorts cheaply.
    var held: Set<Int32> = []
    /// Sizes measured by loads here, for models registered without a size hint.
    var measuredSizes: [Int32: Int64] = [:]
    /// What this peer's copy scaler remembers about the models it decides.
    var scaling: [ModelID: ScalingPolicy.State] = [:]

    init(slot: Int32, record: PeerRecord) {
        self.id = SimulatedPeer.id(forSlot: slot)
        self.record = record
        self.cache = LocalCache(capacityBytes: record.capacityBytes)
    }

    static func id(forSlot slot: Int32) -> PeerID {
        let digits = String(slot)
        return PeerID(trusted: "p" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits)
    }

    var busyModels: Set<ModelID> { Set(inFlight.keys) }

    /// Peers still excluded at `now`; forgets the marks that have run out.
    mutating func unreachable(at now: MeshTime) -> Set<PeerID> {
        guard !unreachableUntil.isEmpty else { return [] }
        unreachableUntil = unreachableUntil.filter { $0.value > now }
        return Set(unreachableUntil.keys)
    }

    /// The shell's rate and in-flight numbers per model (as `LocalModels.modelRates`).
    mutating func modelRates(at now: MeshTime) -> [ModelID: LoadReport.ModelRate] {
        rates.modelRates(inFlight: inFlight, at: now)
    }

    /// The report this peer gossips (as `LocalModels.loadReport`).
    mutating func loadReport(at now: MeshTime) -> LoadReport {
        LoadReport(
            peer: id, time: now, inFlight: totalInFlight, loading: loads.count,
            usedBytes: cache.usedBytes, capacityBytes: cache.capacityBytes, modelCount: cache.count,
            lruTime: cache.lruTime, rates: Array(modelRates(at: now).values)
        )
    }

    /// Forgets everything a killed process held.
    mutating func die() {
        alive = false
        cache = LocalCache(capacityBytes: record.capacityBytes)
        rates = RateTracker()
        inFlight = [:]
        totalInFlight = 0
        outstanding = [:]
        unreachableUntil = [:]
        loads = [:]
        held = []
        measuredSizes = [:]
        scaling = [:]
    }
}

/// A load in progress on one peer.
struct PendingLoad {
    /// Tells this load's completion from one of an earlier load of the same model.
    var token: UInt64
    var waiters: [PendingRequest]
}

/// A request between its arrival and its serve (or failure).
struct PendingRequest {
    /// Position in the trace.
    var index: Int32
    var model: Int32
    /// The peer the client reached.
    var entry: Int32
    var excluded: Set<PeerID>
    var attempts = 0
    /// This request's own attempt caused the load it waits for.
    var startedLoad = false
    /// The peer serving it, when that is not the entry (counted in the entry's `outstanding`).
    var forwardedTo: Int32?

    init(index: Int32, model: Int32, entry: Int32, excluded: Set<PeerID>) {
        self.index = index
        self.model = model
        self.entry = entry
        self.excluded = excluded
    }
}

import MeshCore

/// One simulated peer: the copy ledger a real peer keeps (``CopyLedger``: memory, copies,
/// requests in flight, rates), plus what its shell tracks around it (requests waiting for a
/// load, requests it forwarded, peers that refused a connection, the copy scaler's memory).
struct SimulatedPeer {
    let id: PeerID
    let record: PeerRecord
    let ledgerSettings: CopyLedger<Void>.Settings
    var alive = true
    var ledger: CopyLedger<Void>
    /// Requests waiting for a load, by the load's token.
    var waiters: [UInt64: [PendingRequest]] = [:]
    /// Requests this peer forwarded that another peer is still serving.
    var outstanding: [PeerID: Int] = [:]
    /// Peers that refused a connection, and until when they stay excluded.
    var unreachableUntil: [PeerID: MeshTime] = [:]
    /// What this peer's copy scaler remembers about the models it decides.
    var scaling: [ModelID: ScalingPolicy.State] = [:]
    /// Requests whose load waits for room here, by park ticket, with when they started waiting
    /// and whether they wait for memory to be freed (else for a time: the churn limit).
    var parked: [UInt64: (request: PendingRequest, since: Int64, forRoom: Bool)] = [:]

    init(slot: Int32, record: PeerRecord, settings: CopyLedger<Void>.Settings) {
        self.id = SimulatedPeer.id(forSlot: slot)
        self.record = record
        self.ledgerSettings = settings
        self.ledger = CopyLedger(me: id, capacityBytes: record.capacityBytes, settings: settings)
    }

    static func id(forSlot slot: Int32) -> PeerID {
        let digits = String(slot)
        return PeerID(trusted: "p" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits)
    }

    /// Peers still excluded at `now`; forgets the marks that have run out.
    mutating func unreachable(at now: MeshTime) -> Set<PeerID> {
        guard !unreachableUntil.isEmpty else { return [] }
        unreachableUntil = unreachableUntil.filter { $0.value > now }
        return Set(unreachableUntil.keys)
    }

    /// This peer's side of a routing decision.
    func local(for model: ModelID) -> RoutePlanner.Local {
        RoutePlanner.Local(peer: id, copy: ledger.state(of: model), inFlight: ledger.inFlight, outstanding: outstanding)
    }

    /// Forgets everything a killed process held.
    mutating func die() {
        alive = false
        ledger = CopyLedger(me: id, capacityBytes: record.capacityBytes, settings: ledgerSettings)
        waiters = [:]
        outstanding = [:]
        unreachableUntil = [:]
        scaling = [:]
        parked = [:]
    }
}

/// A request between its arrival and its serve (or failure).
struct PendingRequest {
    /// Position in the trace.
    var index: Int32
    var model: Int32
    /// The peer the client reached.
    var entry: Int32
    /// The entry peer's routing of it.
    var route: RequestRoute
    /// This request's own attempt caused the load it waits for.
    var startedLoad = false
    /// The peer serving it, when that is not the entry (counted in the entry's `outstanding`).
    var forwardedTo: Int32?
    /// It waits for room on a hop's target (not on its entry peer).
    var waitsAsHop = false

    init(index: Int32, model: Int32, entry: Int32, route: RequestRoute) {
        self.index = index
        self.model = model
        self.entry = entry
        self.route = route
    }
}

/// The registered peers as dense arrays for placement's scan over every peer on a miss: what
/// the scan reads of each peer is a plain value (no reference to retain, no peer id to hash) in
/// ``slots``; what it reads only sometimes (labels, per-pool use) is in ``details`` at the same
/// position. ``ClusterView`` keeps it beside its dictionaries, which stay the source of truth.
struct PeerIndex: Sendable {
    struct Slot: Sendable {
        var shuttingDown: Bool
        var capacityBytes: Int64
        /// The record's pools as an index into ``PeerIndex/poolSets``; -1 when it publishes none.
        var poolSet: Int
        /// The record's zone as an index into ``PeerIndex/zoneNames``; -1 when it has none.
        var zone: Int
        /// The peer's half of its rendezvous score, computed once (``StableHash/rendezvous(keyHash:_:)``).
        var rendezvousKey: UInt64
        var heldBytes: Int64 = 0
        var heldCount = 0
        /// ``ReportFacts/absent`` until the peer's first report.
        var report = ReportFacts.absent
    }

    /// What placement reads of a peer's latest load report (a plain value rather than an
    /// optional: the scan reads it for every peer).
    struct ReportFacts: Sendable {
        /// Milliseconds since the epoch; `Int64.min` for no report, which is never fresh.
        var time: Int64
        var usedBytes: Int64
        /// Requests in flight plus loads queued or running.
        var busy: Int
        var modelCount: Int
        var lruTime: MeshTime?
        var evictionValue: Double?

        static let absent = ReportFacts()

        private init() {
            time = .min
            usedBytes = 0
            busy = 0
            modelCount = 0
        }

        init(_ report: LoadReport) {
            time = report.time.millisecondsSinceEpoch
            usedBytes = report.usedBytes
            busy = report.inFlight.addingSaturating(report.loading)
            modelCount = report.modelCount
            lruTime = report.lruTime
            evictionValue = report.evictionValue
        }
    }

    struct Details: Sendable {
        var peer: PeerID
        var labels: [String]
        var poolUsedBytes: [String: Int64]?
    }

    private(set) var slots: [Slot] = []
    private(set) var details: [Details] = []
    private var positions: [PeerID: Int] = [:]
    /// The distinct pool lists the peers publish (most peers of a cluster publish the same one),
    /// so placement matches a model's format once per list rather than once per peer. A list
    /// no peer uses any more is emptied and reused.
    private(set) var poolSets: [[RuntimePool]] = []
    private var poolSetUsers: [Int] = []
    private(set) var zoneNames: [String] = []
    private var zoneNumbers: [String: Int] = [:]

    func position(of peer: PeerID) -> Int? { positions[peer] }

    func zoneNumber(of zone: String) -> Int? { zoneNumbers[zone] }

    mutating func removeAll() {
        self = PeerIndex()
    }

    mutating func put(_ peer: PeerID, _ record: PeerRecord, held: ClusterView.Holdings?, report: LoadReport?) {
        let poolSet = record.pools.map { intern($0) } ?? -1
        let zone = record.zone.map { number(zone: $0) } ?? -1
        if let position = positions[peer] {
            release(slots[position].poolSet)
            slots[position].shuttingDown = record.shuttingDown
            slots[position].capacityBytes = record.capacityBytes
            slots[position].poolSet = poolSet
            slots[position].zone = zone
            details[position].labels = record.labels
            return
        }
        positions[peer] = slots.count
        slots.append(Slot(shuttingDown: record.shuttingDown, capacityBytes: record.capacityBytes, poolSet: poolSet, zone: zone,
                          rendezvousKey: StableHash.rendezvousKey(of: peer.rawValue),
                          heldBytes: held?.bytes ?? 0, heldCount: held?.count ?? 0, report: report.map(ReportFacts.init) ?? .absent))
        details.append(Details(peer: peer, labels: record.labels, poolUsedBytes: report?.poolUsedBytes))
    }

    /// Removes `peer`, moving the last peer into its place.
    mutating func remove(_ peer: PeerID) {
        guard let position = positions.removeValue(forKey: peer) else { return }
        release(slots[position].poolSet)
        let lastSlot = slots.removeLast(), lastDetails = details.removeLast()
        guard position < slots.count else { return }
        slots[position] = lastSlot
        details[position] = lastDetails
        positions[lastDetails.peer] = position
    }

    mutating func setHeld(_ peer: PeerID, _ holdings: ClusterView.Holdings?) {
        guard let position = positions[peer] else { return }
        slots[position].heldBytes = holdings?.bytes ?? 0
        slots[position].heldCount = holdings?.count ?? 0
    }

    mutating func setReport(_ peer: PeerID, _ report: LoadReport) {
        guard let position = positions[peer] else { return }
        slots[position].report = ReportFacts(report)
        details[position].poolUsedBytes = report.poolUsedBytes
    }

    /// Drops reports older than `maxAge`, as the view's own table does.
    mutating func expireReports(now: MeshTime, maxAge: Duration) {
        let maxAge = maxAge.milliseconds
        for position in slots.indices {
            if slots[position].report.time != .min,
               now.millisecondsSinceEpoch.subtractingSaturating(slots[position].report.time) > maxAge {
                slots[position].report = .absent
                details[position].poolUsedBytes = nil
            }
        }
    }

    private mutating func intern(_ pools: [RuntimePool]) -> Int {
        if let found = poolSets.indices.first(where: { poolSetUsers[$0] > 0 && poolSets[$0] == pools }) {
            poolSetUsers[found] += 1
            return found
        }
        if let free = poolSetUsers.firstIndex(of: 0) {
            poolSets[free] = pools
            poolSetUsers[free] = 1
            return free
        }
        poolSets.append(pools)
        poolSetUsers.append(1)
        return poolSets.count - 1
    }

    private mutating func release(_ poolSet: Int) {
        guard poolSet >= 0 else { return }
        poolSetUsers[poolSet] -= 1
        if poolSetUsers[poolSet] == 0 { poolSets[poolSet] = [] }
    }

    /// Zones are few and named by operators; the table is rebuilt with the view on a full read.
    private mutating func number(zone: String) -> Int {
        if let number = zoneNumbers[zone] { return number }
        zoneNames.append(zone)
        zoneNumbers[zone] = zoneNames.count - 1
        return zoneNames.count - 1
    }
}

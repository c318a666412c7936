/// What a peer knows of the cluster: the peers and copies mirrored from etcd (exact, as of
/// ``revision``) and the load reports gossiped between peers (approximate, a second or two old).
///
/// Routing reads it on every request, so it keeps derived per-peer totals up to date as changes
/// arrive instead of recomputing them.
public struct ClusterView: Sendable {
    /// The etcd revision this view reflects.
    public private(set) var revision: Int64 = 0
    public private(set) var peers: [PeerID: PeerRecord] = [:]
    public private(set) var copies: [ModelID: [PeerID: CopyRecord]] = [:]
    public private(set) var failures: [ModelID: [PeerID: FailureRecord]] = [:]
    /// Copies and their total size per peer, derived from ``copies``.
    public private(set) var holdings: [PeerID: Holdings] = [:]
    /// The latest load report from each peer (gossip).
    public private(set) var loads: [PeerID: LoadReport] = [:]
    /// Models that must keep `minCopies > 0` copies, from the small `pinned/` index.
    public private(set) var pinned: [ModelID: Int] = [:]
    /// The same peers as a dense array for placement's scan (kept in step with the above).
    private(set) var peerIndex = PeerIndex()

    public struct Holdings: Sendable, Hashable {
        public var models: Set<ModelID> = []
        public var bytes: Int64 = 0
        public var count: Int { models.count }
    }

    /// One change read from etcd.
    public enum Change: Sendable, Hashable {
        case peerPut(PeerID, PeerRecord)
        case peerDeleted(PeerID)
        case copyPut(ModelID, PeerID, CopyRecord)
        case copyDeleted(ModelID, PeerID)
        case failurePut(ModelID, PeerID, FailureRecord)
        case failureDeleted(ModelID, PeerID)
        case pinnedPut(ModelID, minCopies: Int)
        case pinnedDeleted(ModelID)
    }

    public init() {}

    /// Replaces the etcd-mirrored part wholesale (after a full read), keeping gossip.
    public mutating func reset(revision: Int64, changes: [Change]) {
        peers = [:]
        copies = [:]
        failures = [:]
        holdings = [:]
        pinned = [:]
        peerIndex.removeAll()
        for change in changes { apply(change) }
        self.revision = revision
    }

    public mutating func apply(_ change: Change) {
        switch change {
        case .peerPut(let peer, let record):
            peers[peer] = record
            peerIndex.put(peer, record, held: holdings[peer], report: loads[peer])
        case .peerDeleted(let peer):
            peers[peer] = nil
            loads[peer] = nil
            peerIndex.remove(peer)
        case .copyPut(let model, let peer, let record):
            let previous = copies[model]?[peer]
            copies[model, default: [:]][peer] = record
            // Taken out and put back so the set stays uniquely referenced (no copy per change).
            var holding = holdings.removeValue(forKey: peer) ?? Holdings()
            holding.models.insert(model)
            holding.bytes = holding.bytes.addingSaturating(max(0, record.sizeBytes)).subtractingSaturating(max(0, previous?.sizeBytes ?? 0))
            peerIndex.setHeld(peer, holding)
            holdings[peer] = holding
        case .copyDeleted(let model, let peer):
            guard let previous = copies[model]?.removeValue(forKey: peer) else { return }
            if copies[model]?.isEmpty == true { copies[model] = nil }
            guard var holding = holdings.removeValue(forKey: peer) else { return }
            holding.models.remove(model)
            holding.bytes = holding.bytes.subtractingSaturating(max(0, previous.sizeBytes))
            holdings[peer] = holding.models.isEmpty ? nil : holding
            peerIndex.setHeld(peer, holdings[peer])
        case .failurePut(let model, let peer, let record):
            failures[model, default: [:]][peer] = record
        case .failureDeleted(let model, let peer):
            failures[model]?[peer] = nil
            if failures[model]?.isEmpty == true { failures[model] = nil }
        case .pinnedPut(let model, let minCopies):
            pinned[model] = minCopies
        case .pinnedDeleted(let model):
            pinned[model] = nil
        }
    }

    public mutating func advance(to revision: Int64) {
        if revision > self.revision { self.revision = revision }
    }

    /// Takes a gossiped report if it is newer than what we have and comes from a registered
    /// peer (reports of unknown peers would grow the table without bound).
    public mutating func receive(_ report: LoadReport) {
        guard peers[report.peer] != nil else { return }
        if let known = loads[report.peer], known.time >= report.time { return }
        loads[report.peer] = report
        peerIndex.setReport(report.peer, report)
    }

    /// Forgets reports older than `maxAge`.
    public mutating func expireReports(now: MeshTime, maxAge: Duration) {
        loads = loads.filter { now - $0.value.time <= maxAge }
        peerIndex.expireReports(now: now, maxAge: maxAge)
    }

    /// The live report for `peer`, if fresh enough to use.
    public func report(for peer: PeerID, now: MeshTime, maxAge: Duration) -> LoadReport? {
        guard let report = loads[peer], now - report.time <= maxAge else { return nil }
        return report
    }

    public func copies(of model: ModelID) -> [PeerID: CopyRecord] { copies[model] ?? [:] }
    public func failures(of model: ModelID) -> [PeerID: FailureRecord] { failures[model] ?? [:] }
    public func holdings(of peer: PeerID) -> Holdings { holdings[peer] ?? Holdings() }

    /// Peers that can take new copies: registered and not shutting down.
    public var activePeers: [PeerID] { peers.filter { !$0.value.shuttingDown }.map(\.key) }
}

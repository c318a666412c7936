import CoreMetrics
import Logging
import MeshCore
import MeshGossip
import ServiceLifecycle
import Synchronization

/// Spreads load reports between peers: every interval this peer pushes its own report, and the
/// freshest reports it has heard, to a few random peers. Reports also ride on every hop's
/// response. A report carries its age rather than a timestamp, so peers' clocks need not agree.
public final class LoadGossip: Service, Sendable {
    public struct Settings: Sendable {
        public var interval: Duration = MeshDefaults.gossipInterval
        public var fanout = MeshDefaults.gossipFanout
        /// Reports older than this are dropped.
        public var maxAge: Duration = MeshDefaults.reportMaxAge
        /// Other peers' reports relayed per message (the payload stays bounded).
        public var relayed = 8
        public init() {}
    }

    let peerID: PeerID
    let mirror: ClusterMirror
    let local: LocalModels
    let health: PeerHealth
    /// Sends one gossip message to a peer (HTTP in a peer; in process in unit tests).
    let push: @Sendable (PeerID, PeerRecord, [UInt8]) async throws -> Void
    let settings: Settings
    let clock: any PeerClock
    let logger: Logger
    /// Asks a peer's liveness route (nil: suspicions other peers report are not checked).
    let probe: (@Sendable (PeerID, PeerRecord) async -> Bool)?
    /// Peers others reported unreachable, to probe on the next tick, and when each was last probed.
    private let suspicions = Mutex<(pending: Set<PeerID>, probed: [PeerID: ContinuousClock.Instant])>(([], [:]))
    static let suspicionProbeInterval: Duration = .seconds(5)

    public init(peerID: PeerID, mirror: ClusterMirror, local: LocalModels, health: PeerHealth,
                push: @escaping @Sendable (PeerID, PeerRecord, [UInt8]) async throws -> Void,
                settings: Settings, clock: any PeerClock, logger: Logger,
                probe: (@Sendable (PeerID, PeerRecord) async -> Bool)? = nil) {
        self.probe = probe
        self.peerID = peerID
        self.mirror = mirror
        self.local = local
        self.health = health
        self.push = push
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// This peer's latest report, and its header encoding with when it was made: encoding costs
    /// tens of µs of JSON and every hop response carries it, so one encoding serves the hops of
    /// the next tenth of a second (the age it carries is at most that much too young). A new
    /// report drops the encoding.
    private struct Own {
        var report: LoadReport?
        var header: (value: String, at: ContinuousClock.Instant)?
    }

    private let own = Mutex(Own())
    static let headerReuse: Duration = .milliseconds(100)

    /// When each peer's piggybacked report was last taken. Decoding one costs tens of µs of JSON
    /// per hop; reports are weather (gossip pushes them every interval), so a tenth of a second
    /// between them is plenty.
    private let piggybackTaken = Mutex<[PeerID: ContinuousClock.Instant]>([:])
    static let piggybackInterval: Duration = .milliseconds(100)

    /// This peer's latest report as a compact header value, for piggybacking on hop responses.
    public var headerValue: String? {
        let now = ContinuousClock.now
        let (report, header) = own.withLock { ($0.report, $0.header) }
        guard let report else { return nil }
        if let header, now - header.at < Self.headerReuse { return header.value }
        let encoded = GossipMessage([report], now: clock.now).encoded()
        guard !encoded.isEmpty else { return nil }
        let value = String(decoding: encoded, as: UTF8.self)
        own.withLock { if $0.report?.time == report.time { $0.header = (value, now) } }
        return value
    }

    /// Takes reports from a gossip message. Reports with implausible numbers, of unknown peers,
    /// or beyond the relay bound are dropped (``LoadReport/received(_:ageMillis:now:maxAge:)``).
    public func receive(_ bytes: [UInt8]) {
        let reports = GossipMessage.reports(in: bytes, me: peerID, now: clock.now, maxAge: settings.maxAge, limit: settings.relayed + 1)
        guard !reports.isEmpty else { return }
        mirror.updateView { view in
            for report in reports { view.receive(report) }
        }
        noteSuspicions(in: reports)
    }

    /// Peers other peers found unreachable are probed here before this peer skips them: one
    /// broken link between two peers must not make every peer shun a healthy one.
    private func noteSuspicions(in reports: [LoadReport]) {
        guard probe != nil else { return }
        let suspects = Set(reports.flatMap { $0.unreachable ?? [] }).subtracting([peerID])
        guard !suspects.isEmpty else { return }
        let known = health.unreachable(at: clock.now)
        let now = ContinuousClock.now
        suspicions.withLock { state in
            for suspect in suspects.subtracting(known) {
                if let last = state.probed[suspect], now - last < Self.suspicionProbeInterval { continue }
                state.pending.insert(suspect)
            }
        }
    }

    /// Probes the peers others reported; those that do not answer are skipped here too.
    private func checkSuspicions(group: inout DiscardingTaskGroup) {
        guard let probe else { return }
        let now = ContinuousClock.now
        let suspects = suspicions.withLock { state -> Set<PeerID> in
            defer { state.pending = [] }
            for suspect in state.pending { state.probed[suspect] = now }
            state.probed = state.probed.filter { now - $0.value < Self.suspicionProbeInterval }
            return state.pending
        }
        let peers = mirror.view.peers
        for suspect in suspects {
            guard let record = peers[suspect] else { continue }
            group.addTask {
                let live = await probe(suspect, record)
                if !live { self.health.markUnreachable(suspect, now: self.clock.now) }
                Counter(label: "modelmesh_peer_suspicions_total", dimensions: [("outcome", live ? "cleared" : "confirmed")]).increment()
                self.logger.info("checked a peer another peer found unreachable", metadata: ["peer": "\(suspect)", "answers": "\(live)"])
            }
        }
    }

    /// Takes the report `peer` piggybacked on a hop response, at most once per
    /// ``piggybackInterval`` for each peer (over HTTP and gRPC alike).
    func receive(piggybackedFrom peer: PeerID, _ header: String) {
        let now = ContinuousClock.now
        let takes = piggybackTaken.withLock { taken in
            if let last = taken[peer], now - last < Self.piggybackInterval { return false }
            taken[peer] = now
            return true
        }
        if takes { receive(Array(header.utf8)) }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    await self.tick(group: &group)
                    try? await Task.sleep(for: self.settings.interval)
                }
            }
        }
    }

    private func tick(group: inout DiscardingTaskGroup) async {
        checkSuspicions(group: &group)
        guard let (targets, body) = round(now: clock.now) else { return }
        for (target, record) in targets {
            group.addTask {
                do {
                    try await self.push(target, record, body)
                } catch {
                    self.logger.debug("gossip push failed", metadata: ["peer": "\(target)", "error": "\(error)"])
                }
            }
        }
    }

    /// One gossip round: takes this peer's report into the view, forgets old reports, publishes
    /// the view's metrics, and returns the peers to push to with the message (nil when there is
    /// nobody to tell).
    func round(now: MeshTime) -> (targets: [(PeerID, PeerRecord)], body: [UInt8])? {
        var report = local.loadReport(now: now)
        let unreachable = health.unreachable(at: now)
        if !unreachable.isEmpty { report.unreachable = Array(unreachable.sorted().prefix(LoadReport.maxUnreachable)) }
        own.withLock { $0 = Own(report: report, header: nil) }
        var view = ClusterView()
        mirror.updateView { current in
            current.receive(report)
            current.expireReports(now: now, maxAge: settings.maxAge)
            view = current
        }
        local.metrics.cluster(view, me: peerID, now: now)
        let targets = view.peers.filter { $0.key != peerID && !unreachable.contains($0.key) }.shuffled().prefix(settings.fanout)
        guard !targets.isEmpty else { return nil }
        let others = view.loads.values.filter { $0.peer != peerID }.sorted { $0.time > $1.time }.prefix(settings.relayed)
        let body = GossipMessage([report] + others, now: now).encoded()
        guard !body.isEmpty else { return nil }
        return (targets.map { ($0.key, $0.value) }, body)
    }
}

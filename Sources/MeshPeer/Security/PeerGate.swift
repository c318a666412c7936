import MeshCore
import Synchronization

/// Decides whether a request may use a peer-only surface: gossip, and the hop headers
/// (`mm-hop`, `mm-excluded`) that make a peer serve, load or skip placement without asking.
///
/// With a cluster secret, the request must carry a valid ``PeerCredentials`` signature. Without
/// one, when peers require client certificates (mutual TLS), the certificate the connection
/// presented — signed by the cluster CA, or the handshake would have failed — must name the
/// advertised host of a registered peer. Otherwise it must come from an address a registered
/// peer advertises (weaker: anything that shares a peer's address passes, which on a single
/// host is everything on loopback). Everything else gets 403 / PERMISSION_DENIED.
struct PeerGate: Sendable {
    let credentials: PeerCredentials
    let mirror: ClusterMirror
    let clock: any PeerClock
    /// Peer records read from the store when the view does not know an address (it may lag:
    /// a peer that registered again after a partition hops before this view sees it).
    let fresh = FreshPeerRecords()
    /// Addresses of peers the view showed recently: a peer whose lease lapsed (etcd lost its
    /// quorum for a moment) keeps forwarding while it registers again.
    let recent: RecentPeerHosts
    /// Whether connections carry a CA-verified client certificate whose names identify the peer.
    let certificatesIdentifyPeers: Bool

    init(credentials: PeerCredentials, mirror: ClusterMirror, clock: any PeerClock, grace: Duration = .seconds(20),
         certificatesIdentifyPeers: Bool = false) {
        self.certificatesIdentifyPeers = certificatesIdentifyPeers
        self.credentials = credentials
        self.mirror = mirror
        self.clock = clock
        self.recent = RecentPeerHosts(grace: grace)
    }

    /// Checks a peer-only request. `parts` are what was signed; `remoteHost` the connection's
    /// address (IPv4 or IPv6 text, no port); `certificateNames` the DNS and IP names of the
    /// client certificate it presented, read only when certificates identify peers.
    func admit(signature: String?, parts: [String], remoteHost: String?,
               certificateNames: @Sendable () async -> Set<String> = { [] }) async throws(MeshError) {
        if credentials.isConfigured {
            _ = try credentials.verify(signature, parts, now: clock.now)
            return
        }
        if certificatesIdentifyPeers {
            let names = Set(await certificateNames().map(Self.normalized))
            let named = { (host: String) in names.contains { Self.name($0, covers: host) } }
            if !recent.admitsAny(where: named, view: mirror.view) {
                guard let records = await fresh.records(from: mirror.store), Self.hosts(of: records).contains(where: named) else {
                    throw .permissionDenied("this request may only come from a peer of the mesh; its client certificate names \(names.isEmpty ? "no host" : names.sorted().joined(separator: ", ")), not the advertised host of a registered peer")
                }
            }
            return
        }
        guard let remoteHost else {
            throw .permissionDenied("this request may only come from a peer of the mesh, and its address is unknown")
        }
        let host = Self.normalized(remoteHost)
        let view = mirror.view
        if recent.admits(host, view: view) { return }
        if let records = await fresh.records(from: mirror.store), Self.hosts(of: records).contains(host) { return }
        throw .permissionDenied("this request may only come from a peer of the mesh; \(remoteHost) is not the address of a registered peer (configure --cluster-secret-file on every peer to sign peer requests instead)")
    }

    static func hosts(of records: some Sequence<PeerRecord>) -> Set<String> {
        Set(records.flatMap { record in [record.httpAddress, record.grpcAddress].compactMap { $0.flatMap(Self.host(of:)) } })
    }

    /// The host of `host:port` (`[v6]:port` too).
    static func host(of address: String) -> String? {
        guard let colon = address.lastIndex(of: ":") else { return nil }
        return normalized(String(address[..<colon]))
    }

    /// Whether a certificate's DNS or IP name covers `host`: equal, or a wildcard (`*.mesh-peers`)
    /// for one more label (`mesh-0.mesh-peers`), as one certificate for a StatefulSet's pods has.
    static func name(_ name: String, covers host: String) -> Bool {
        if name == host { return true }
        guard name.hasPrefix("*."), let dot = host.firstIndex(of: "."), dot != host.startIndex else { return false }
        return host[host.index(after: dot)...] == name.dropFirst(2)
    }

    static func normalized(_ host: String) -> String {
        var host = host
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasPrefix("::ffff:") && host.contains(".") { host = String(host.dropFirst(7)) }
        return host.lowercased()
    }
}

/// The peer records as the store has them now, read at most once a second however many unknown
/// addresses knock (a stranger cannot turn the gate into a stream of etcd reads). Callers that
/// arrive while a read is under way wait for that read instead of starting their own.
final class FreshPeerRecords: Sendable {
    private struct State {
        var last: (at: ContinuousClock.Instant, records: [PeerRecord])?
        var reading: Promise<[PeerRecord]?>?
    }

    private let state = Mutex(State())
    private let interval: Duration

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    func records(from store: any MeshStore) async -> [PeerRecord]? {
        enum Step {
            case cached([PeerRecord])
            case wait(Promise<[PeerRecord]?>)
            case read(Promise<[PeerRecord]?>)
        }
        let now = ContinuousClock.now
        let step = state.withLock { state -> Step in
            if let last = state.last, now - last.at < interval { return .cached(last.records) }
            if let reading = state.reading { return .wait(reading) }
            let promise = Promise<[PeerRecord]?>()
            state.reading = promise
            return .read(promise)
        }
        switch step {
        case .cached(let records):
            return records
        case .wait(let promise):
            return (try? await promise.wait()) ?? nil
        case .read(let promise):
            let records = (try? await store.peers()).map { Array($0.values) }
            state.withLock { state in
                state.reading = nil
                if let records { state.last = (.now, records) }
            }
            promise.succeed(records)
            return records
        }
    }
}

/// The hosts of the peers in the view, and of those it showed within `grace`.
final class RecentPeerHosts: Sendable {
    private struct State {
        var revision: Int64 = -1
        var current: Set<String> = []
        var lastSeen: [String: ContinuousClock.Instant] = [:]

        /// Recomputes the hosts only when the view's revision changed, not on every hop.
        mutating func refresh(_ view: ClusterView, now: ContinuousClock.Instant, grace: Duration) {
            guard revision != view.revision else { return }
            revision = view.revision
            for previous in current { lastSeen[previous] = now }
            current = PeerGate.hosts(of: view.peers.values)
            lastSeen = lastSeen.filter { now - $0.value < grace }
        }
    }

    private let state = Mutex(State())
    let grace: Duration

    init(grace: Duration) {
        self.grace = grace
    }

    /// Whether `host` is a peer's in `view`, or was within `grace`.
    func admits(_ host: String, view: ClusterView) -> Bool {
        admitsAny(where: { $0 == host }, view: view)
    }

    /// Whether a host in `view`, or one it showed within `grace`, satisfies `predicate`.
    func admitsAny(where predicate: (String) -> Bool, view: ClusterView) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.refresh(view, now: now, grace: grace)
            return state.current.contains(where: predicate) || state.lastSeen.contains { now - $0.value < grace && predicate($0.key) }
        }
    }
}

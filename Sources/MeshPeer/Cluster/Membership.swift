import AsyncHTTPClient
import EtcdGateway
import Logging
import MeshCore
import ServiceLifecycle
import Synchronization

/// This peer's registration: its record under `peers/<id>`, bound to a lease that is kept alive
/// for as long as the peer runs. If the lease is lost (etcd was away longer than the TTL), a new
/// lease is granted, the record is written again, and ``onLeaseRenewed`` lets the rest of the
/// peer restore what it had bound to the old lease.
public final class Membership: Service, Sendable {
    public let peerID: PeerID
    let store: any MeshStore
    let ttl: Int64
    let logger: Logger
    private let state: Mutex<State>
    private let leaseRenewedHandlers = Mutex<[@Sendable (LeaseID) async -> Void]>([])
    private let registration = Promise<Void>()

    struct State {
        var record: PeerRecord
        var lease: LeaseID = .none
        var registered = false
        /// When etcd last confirmed the lease (registration or renewal).
        var confirmedAt = ContinuousClock.now
    }

    public init(peerID: PeerID, record: PeerRecord, store: any MeshStore, leaseTTL: Int64, logger: Logger) {
        self.peerID = peerID
        self.store = store
        self.ttl = leaseTTL
        self.logger = logger
        self.state = Mutex(State(record: record))
    }

    public var lease: LeaseID { state.withLock { $0.lease } }
    public var record: PeerRecord { state.withLock { $0.record } }
    /// Registered, and etcd confirmed the lease within one TTL: a peer cut off from etcd longer
    /// than that has been dropped by the other peers (its lease expired) and says it is not
    /// ready, so a Service stops sending it clients, until it is registered again.
    public var isRegistered: Bool {
        state.withLock { $0.registered && ContinuousClock.now - $0.confirmedAt < .seconds(ttl) }
    }

    /// Called with the new lease after the peer re-registered under it.
    public func onLeaseRenewed(_ handler: @escaping @Sendable (LeaseID) async -> Void) {
        leaseRenewedHandlers.withLock { $0.append(handler) }
    }

    public enum StartError: Error, CustomStringConvertible {
        case duplicate(peer: PeerID, address: String, started: MeshTime)

        public var description: String {
            switch self {
            case .duplicate(let peer, let address, let started):
                return "peer id \(peer) is already used by a live peer at \(address) (started \(started)); give this peer another --peer-id"
            }
        }
    }

    /// Registers the peer. Refuses when another live peer has the same id. A record left by a
    /// predecessor (same id, not answering) is removed with its lease, which also drops the
    /// copies it claimed, when the predecessor had this process's address (this process holds
    /// that port, so the other is gone); one elsewhere may be frozen rather than dead, so its
    /// lease is left to expire while it stays silent.
    func register(http: PeerHTTP) async throws {
        if let existing = try await store.peer(peerID), existing.record.instance != record.instance {
            if await PeerProbe.answersAsLive(existing.record, peer: peerID, http: http) {
                throw StartError.duplicate(peer: peerID, address: existing.record.httpAddress, started: existing.record.startTime)
            }
            if existing.record.httpAddress == record.httpAddress {
                logger.info("removing the record of a previous peer with this id and address", metadata: [
                    "address": "\(existing.record.httpAddress)", "lease": "\(existing.lease)",
                ])
                try await store.revokeLease(existing.lease)
            } else {
                try await waitForLeaseToExpire(of: existing, http: http)
            }
        }
        try await registerWithNewLease()
    }

    /// Waits until the silent predecessor's record is gone with its lease; throws when it
    /// answers again meanwhile (it was frozen, and is alive).
    private func waitForLeaseToExpire(of existing: (record: PeerRecord, lease: LeaseID), http: PeerHTTP) async throws {
        logger.warning("a previous peer with this id does not answer; waiting for its lease to expire", metadata: [
            "address": "\(existing.record.httpAddress)", "lease": "\(existing.lease)",
        ])
        while let current = try await store.peer(peerID), current.lease == existing.lease {
            try await Task.sleep(for: .seconds(1))
            if await PeerProbe.answersAsLive(existing.record, peer: peerID, http: http) {
                throw StartError.duplicate(peer: peerID, address: existing.record.httpAddress, started: existing.record.startTime)
            }
        }
    }

    private func registerWithNewLease() async throws {
        let grant = try await store.grantLease(ttl: ttl)
        let record = self.record
        guard try await store.registerPeer(peerID, record, lease: grant.lease) else {
            try? await store.revokeLease(grant.lease)
            let existing = try await store.peer(peerID)
            throw StartError.duplicate(peer: peerID, address: existing?.record.httpAddress ?? "?", started: existing?.record.startTime ?? .epoch)
        }
        state.withLock {
            $0.lease = grant.lease
            $0.registered = true
            $0.confirmedAt = .now
        }
        registration.succeed(())
        logger.info("registered in etcd", metadata: ["peer": "\(peerID)", "lease": "\(grant.lease)", "ttl": "\(grant.ttl)"])
    }

    /// Rewrites the record (e.g. `shuttingDown`) under the current lease.
    public func update(_ change: (inout PeerRecord) -> Void) async throws {
        let (record, lease) = state.withLock { state -> (PeerRecord, LeaseID) in
            change(&state.record)
            return (state.record, state.lease)
        }
        guard lease != .none else { return }
        try await store.putPeer(peerID, record, lease: lease)
    }

    /// Revokes the lease: the record and every copy record bound to it disappear at once.
    public func deregister() async {
        let lease = state.withLock { state -> LeaseID in
            state.registered = false
            return state.lease
        }
        guard lease != .none else { return }
        do {
            try await store.revokeLease(lease)
            logger.info("deregistered from etcd", metadata: ["lease": "\(lease)"])
        } catch {
            logger.warning("could not revoke the lease; it will expire", metadata: ["error": "\(error)"])
        }
    }

    /// Keeps the lease alive from registration until graceful shutdown (re-registering when it was
    /// lost), then revokes it: this runs after the HTTP server drained, so peers saw this one
    /// leave before its records vanish.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await self.registration.wait()
            try await self.keepAlive()
        }
        await deregister()
    }

    /// Renews the lease every third of its TTL (sooner after a failure, so a short outage
    /// costs little); registers again when etcd says the lease is gone.
    private func keepAlive() async throws {
        let interval = Duration.milliseconds(max(500, ttl * 1000 / 3))
        var failedSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            let lease = self.lease
            do {
                _ = try await store.renewLease(lease)
                state.withLock { $0.confirmedAt = .now }
                if let since = failedSince {
                    logger.info("etcd reachable again; lease kept", metadata: ["outage": "\(ContinuousClock.now - since)"])
                }
                failedSince = nil
            } catch StoreFailure.leaseExpired {
                logger.warning("the lease expired; registering again", metadata: ["old_lease": "\(lease)"])
                await reregister()
                failedSince = nil
                continue
            } catch is CancellationError {
                return
            } catch {
                if failedSince == nil {
                    failedSince = .now
                    logger.warning("cannot renew the lease; serving from the last known view", metadata: ["error": "\(error)"])
                }
            }
            try await Task.sleep(for: failedSince == nil ? interval : min(interval, .milliseconds(500)))
        }
    }

    private func reregister() async {
        state.withLock { $0.registered = false }
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            do {
                try await registerWithNewLease()
                let lease = self.lease
                for handler in leaseRenewedHandlers.withLock({ $0 }) { await handler(lease) }
                return
            } catch {
                logger.warning("registering again failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }

    /// The mirror saw our record vanish (lease revoked or expired): the keep-alive will notice;
    /// nothing else to do here.
    func recordRemoved() {
        logger.debug("own peer record removed from etcd")
    }
}

/// Asks a peer's health route whether it is alive and who it is.
enum PeerProbe {
    static func answersAsLive(_ record: PeerRecord, peer: PeerID, http: PeerHTTP, timeout: Duration = .seconds(2)) async -> Bool {
        var request = HTTPClientRequest(url: http.url(record, "/v2/health/live"))
        request.method = .GET
        guard let response = try? await http.client.execute(request, timeout: .milliseconds(timeout.milliseconds)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        // The instance tells the recorded process from a new one at the same address (ourselves,
        // restarted on the same port).
        return response.status == .ok && response.headers.first(name: MeshHeaders.peerID) == peer.rawValue
            && response.headers.first(name: MeshHeaders.instance) == record.instance
    }
}

import EtcdGateway
import Synchronization

/// Leases for failure records, shared: a lease per failure would let a model that fails on
/// every request create leases without bound. One lease lives 1.5 × the expiry and is reused
/// for the failures of its first half, so every record expires between one and one and a half
/// expiries after it was written, and a peer grants at most one lease per half expiry.
final class FailureLeases: Sendable {
    private let current = Mutex<(lease: LeaseID, grantedAt: ContinuousClock.Instant, expiry: Duration)?>(nil)

    /// A lease for a failure record that should last `expiry`; `grant` makes a new one of the
    /// given TTL (seconds) when none can be reused.
    func lease(expiry: Duration, grant: (Int64) async throws -> LeaseID) async throws -> LeaseID {
        let now = ContinuousClock.now
        if let reusable = current.withLock({ current -> LeaseID? in
            guard let current, current.expiry == expiry, now - current.grantedAt < expiry / 2 else { return nil }
            return current.lease
        }) {
            return reusable
        }
        let ttl = max(2, Int64((expiry.seconds * 1.5).rounded(.up)))
        let lease = try await grant(ttl)
        current.withLock { $0 = (lease, now, expiry) }
        return lease
    }

    /// Forgets `lease` (etcd no longer has it); the next failure gets a new one.
    func invalidate(_ lease: LeaseID) {
        current.withLock { if $0?.lease == lease { $0 = nil } }
    }
}

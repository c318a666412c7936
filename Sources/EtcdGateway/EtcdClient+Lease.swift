/// A granted lease: its id and the TTL etcd settled on.
public struct LeaseGrant: Sendable, Hashable {
    public var id: LeaseID
    public var ttl: Int64
}

/// What `timeToLive` reports.
public struct LeaseTimeToLive: Sendable, Hashable {
    public var id: LeaseID
    /// Seconds left; -1 when the lease has expired or never existed.
    public var ttl: Int64
    public var grantedTTL: Int64
    public var keys: [String]
}

private struct WireLeaseID: Encodable {
    var ID: WireInt
}

private struct WireLeaseResponse: Decodable {
    var header: WireHeader?
    var ID: WireInt?
    var TTL: WireInt?
    var grantedTTL: WireInt?
    var keys: [WireBytes]?
    var error: String?
}

private struct WireStreamResult<Result: Decodable>: Decodable {
    var result: Result?
    var error: WireError?
}

extension EtcdClient {
    /// Grants a lease of `ttl` seconds (etcd may round it up to its minimum).
    public func grantLease(ttl: Int64, id: LeaseID = .none) async throws -> LeaseGrant {
        struct Body: Encodable {
            var TTL: WireInt
            var ID: WireInt
        }
        let wire: WireLeaseResponse = try await call(
            "/v3/lease/grant", body: Body(TTL: WireInt(ttl), ID: WireInt(id.rawValue)),
            operation: "lease grant", idempotent: false
        )
        if let error = wire.error, !error.isEmpty {
            throw EtcdError.server(endpoint: endpoints[0], code: -1, message: error)
        }
        guard let granted = wire.ID?.value, granted != 0 else {
            throw EtcdError.malformedResponse(endpoint: endpoints[0], detail: "lease grant without an id")
        }
        return LeaseGrant(id: LeaseID(granted), ttl: wire.TTL?.value ?? ttl)
    }

    /// Renews the lease once; returns the TTL it now has, or throws `leaseNotFound`.
    /// `timeout` bounds each endpoint's attempt (default: the client's request timeout); keep it
    /// well below the lease's TTL, so a frozen member is left for another before the lease expires.
    public func keepAliveOnce(_ lease: LeaseID, timeout: Duration? = nil) async throws -> Int64 {
        let wire: WireStreamResult<WireLeaseResponse> = try await call(
            "/v3/lease/keepalive", body: WireLeaseID(ID: WireInt(lease.rawValue)),
            operation: "lease keep-alive", idempotent: true, timeout: timeout
        )
        if let error = wire.error {
            throw EtcdClient.mapServerError(endpoint: endpoints[0], code: error.code ?? -1, message: error.text, requestedRevision: 0, lease: lease)
        }
        guard let ttl = wire.result?.TTL?.value, ttl > 0 else { throw EtcdError.leaseNotFound(lease) }
        return ttl
    }

    /// Revokes the lease, deleting every key attached to it. Revoking an unknown lease is not an error.
    public func revokeLease(_ lease: LeaseID) async throws {
        do {
            let _: WireLeaseResponse = try await call(
                "/v3/lease/revoke", body: WireLeaseID(ID: WireInt(lease.rawValue)),
                operation: "lease revoke", idempotent: true
            )
        } catch EtcdError.leaseNotFound {
            return
        }
    }

    /// The lease's remaining time and, with `keys`, the keys attached to it.
    public func timeToLive(_ lease: LeaseID, keys: Bool = false) async throws -> LeaseTimeToLive {
        struct Body: Encodable {
            var ID: WireInt
            var keys: Bool
        }
        let wire: WireLeaseResponse = try await call(
            "/v3/lease/timetolive", body: Body(ID: WireInt(lease.rawValue), keys: keys),
            operation: "lease time-to-live", idempotent: true
        )
        return LeaseTimeToLive(
            id: lease,
            ttl: wire.TTL?.value ?? -1,
            grantedTTL: wire.grantedTTL?.value ?? 0,
            keys: (wire.keys ?? []).map { String(decoding: $0.bytes, as: UTF8.self) }
        )
    }

    /// Keeps `lease` alive for as long as the sequence is iterated.
    ///
    /// Each element reports one renewal attempt: the remaining TTL, or the error that prevented
    /// the renewal (etcd unreachable: the caller may keep iterating, the lease survives until its
    /// TTL runs out). Iteration ends by throwing `EtcdError.leaseNotFound` once etcd says the lease
    /// is gone, and returns nil when the iterating task is cancelled. No background task is
    /// involved: the iterating task does the work.
    public func keepAlive(_ lease: LeaseID, every interval: Duration) -> LeaseKeepAlive {
        LeaseKeepAlive(client: self, lease: lease, interval: interval)
    }
}

/// The outcome of one keep-alive attempt.
public enum LeaseRenewal: Sendable, Equatable {
    /// Renewed; the lease has `ttl` seconds left.
    case renewed(ttl: Int64)
    /// Could not reach etcd (or etcd could not answer) this time.
    case failed(EtcdError)
}

public struct LeaseKeepAlive: AsyncSequence, Sendable {
    public typealias Element = LeaseRenewal

    let client: EtcdClient
    let lease: LeaseID
    let interval: Duration

    public func makeAsyncIterator() -> Iterator {
        Iterator(client: client, lease: lease, interval: interval)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let client: EtcdClient
        let lease: LeaseID
        let interval: Duration
        var lastFailed = false
        var started = false

        public mutating func next() async throws -> LeaseRenewal? {
            // After a failure, retry sooner than the regular interval so a short outage costs little.
            if started {
                let pause = lastFailed ? Swift.min(interval, .milliseconds(500)) : interval
                do { try await Task.sleep(for: pause) } catch { return nil }
            }
            started = true
            if Task.isCancelled { return nil }
            do {
                let ttl = try await client.keepAliveOnce(lease)
                lastFailed = false
                return .renewed(ttl: ttl)
            } catch let error as EtcdError {
                if case .leaseNotFound = error { throw error }
                lastFailed = true
                return .failed(error)
            } catch is CancellationError {
                return nil
            }
        }
    }
}

/// Everything the etcd client can throw, phrased for the operator who has to act on it.
public enum EtcdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No endpoint accepted a connection (or, for safe-to-repeat calls, answered at all).
    case unreachable(endpoints: [String], reason: String)
    /// The requested revision is older than etcd's compaction point: re-read, then watch again.
    case compacted(requestedRevision: Int64, compactRevision: Int64)
    /// The requested revision does not exist yet.
    case futureRevision(requestedRevision: Int64)
    /// The lease expired or was revoked.
    case leaseNotFound(LeaseID)
    /// A transaction's compare did not hold (returned by helpers that expect success).
    case compareFailed(key: String)
    /// The call did not finish within its timeout.
    case timedOut(endpoint: String, operation: String, after: Duration)
    /// etcd refused the request.
    case server(endpoint: String, code: Int, message: String)
    /// etcd answered with something this client cannot read.
    case malformedResponse(endpoint: String, detail: String)

    public var description: String {
        switch self {
        case .unreachable(let endpoints, let reason):
            if endpoints.count == 1 { return "etcd at \(endpoints[0]) is not reachable (\(reason))" }
            return "no etcd endpoint is reachable (tried \(endpoints.joined(separator: ", "))): \(reason)"
        case .compacted(let requested, let compact):
            if requested > 0 {
                return "revision \(requested) has been compacted (etcd keeps history from revision \(compact)); re-read and watch again"
            }
            return "the requested revision has been compacted (etcd keeps history from revision \(compact)); re-read and watch again"
        case .futureRevision(let requested):
            return "revision \(requested) is in the future for this etcd"
        case .leaseNotFound(let lease):
            return "lease \(lease) has expired or was revoked"
        case .compareFailed(let key):
            return "transaction compare failed on \(key)"
        case .timedOut(let endpoint, let operation, let after):
            return "etcd at \(endpoint) did not answer \(operation) within \(after)"
        case .server(let endpoint, let code, let message):
            return "etcd at \(endpoint) refused the request: \(message) (gRPC code \(code))"
        case .malformedResponse(let endpoint, let detail):
            return "etcd at \(endpoint) sent a response this client cannot read: \(detail)"
        }
    }

    /// True when etcd refused the call's auth token (it lapsed, or etcd restarted): ask for a new one.
    public var isInvalidAuthToken: Bool {
        guard case .server(_, _, let message) = self else { return false }
        return message.contains("invalid auth token")
    }

    /// True for failures worth retrying later against the same cluster (not a refusal of the request itself).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .timedOut: return true
        case .server(_, let code, _): return code == 14 || code == 4 || code == 8  // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED
        default: return false
        }
    }
}

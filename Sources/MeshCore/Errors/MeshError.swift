/// The mesh's one error type: what went wrong (``Kind``), a message the user can act on, and
/// details for the protocols (a declined hop's outcome and revision).
///
/// Every failure a client can see is one of these. Each protocol maps the kind once: HTTP in
/// ``Kind/httpStatus``, gRPC in ``Kind/grpcStatusCode`` (the shell turns the number into its
/// status type). Library errors (etcd, storage, runtimes) become one at the boundary where
/// they are caught.
public struct MeshError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds, named after the gRPC status codes they map to.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Malformed request, wrong tensor shape or datatype, a bad id: 400 / INVALID_ARGUMENT.
        case invalidArgument
        /// Unknown model, vmodel or peer: 404 / NOT_FOUND.
        case notFound
        /// Conflicts with what exists (another definition, another owner): 409 / ALREADY_EXISTS.
        case alreadyExists
        /// A condition the request set does not hold (an expected vmodel target): 412 / FAILED_PRECONDITION.
        case failedPrecondition
        /// The current state does not allow it (a model vmodels still refer to): 409 / FAILED_PRECONDITION.
        case conflict
        /// Known but not servable now (load failures, no capacity, etcd away, a declined hop): 503 / UNAVAILABLE.
        case unavailable
        /// Larger than a limit (body, message): 413 / RESOURCE_EXHAUSTED.
        case resourceExhausted
        /// The deadline passed: 504 / DEADLINE_EXCEEDED.
        case deadlineExceeded
        /// Not supported: 501 / UNIMPLEMENTED.
        case unimplemented
        /// No or bad credentials: 401 / UNAUTHENTICATED.
        case unauthenticated
        /// Credentials without the right: 403 / PERMISSION_DENIED.
        case permissionDenied
        /// The caller went away: 499 / CANCELLED.
        case cancelled
        /// A failure inside the model or the mesh: 500 / INTERNAL.
        case internalError

        public var httpStatus: Int {
            switch self {
            case .invalidArgument: return 400
            case .notFound: return 404
            case .alreadyExists, .conflict: return 409
            case .failedPrecondition: return 412
            case .unavailable: return 503
            case .resourceExhausted: return 413
            case .deadlineExceeded: return 504
            case .unimplemented: return 501
            case .unauthenticated: return 401
            case .permissionDenied: return 403
            case .cancelled: return 499
            case .internalError: return 500
            }
        }

        /// The gRPC status code, as a number on the wire.
        public var grpcStatusCode: Int {
            switch self {
            case .cancelled: return 1
            case .invalidArgument: return 3
            case .deadlineExceeded: return 4
            case .notFound: return 5
            case .alreadyExists: return 6
            case .permissionDenied: return 7
            case .resourceExhausted: return 8
            case .failedPrecondition, .conflict: return 9
            case .unimplemented: return 12
            case .internalError: return 13
            case .unavailable: return 14
            case .unauthenticated: return 16
            }
        }

        /// The kind a gRPC status code maps back to (a relayed status keeps its meaning).
        public init(grpcStatusCode code: Int) {
            self = Kind.allCases.first { $0.grpcStatusCode == code } ?? .internalError
        }

        /// The kind an HTTP status maps back to (409 reads as `alreadyExists`).
        public init(httpStatus status: Int) {
            self = Kind.allCases.first { $0.httpStatus == status } ?? (status >= 500 ? .internalError : .invalidArgument)
        }
    }

    public var kind: Kind
    public var message: String
    /// Set when a peer did not serve a hop: the sender tries elsewhere (``HopDecline``).
    public var decline: HopDecline?

    public init(_ kind: Kind, _ message: String, decline: HopDecline? = nil) {
        self.kind = kind
        self.message = message
        self.decline = decline
    }

    public var description: String { message }
    public var httpStatus: Int { kind.httpStatus }
    public var grpcStatusCode: Int { kind.grpcStatusCode }

    public static func invalidArgument(_ message: String) -> MeshError { MeshError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> MeshError { MeshError(.notFound, message) }
    public static func alreadyExists(_ message: String) -> MeshError { MeshError(.alreadyExists, message) }
    public static func failedPrecondition(_ message: String) -> MeshError { MeshError(.failedPrecondition, message) }
    public static func conflict(_ message: String) -> MeshError { MeshError(.conflict, message) }
    public static func unavailable(_ message: String) -> MeshError { MeshError(.unavailable, message) }
    public static func tooLarge(_ message: String) -> MeshError { MeshError(.resourceExhausted, message) }
    public static func deadlineExceeded(_ message: String) -> MeshError { MeshError(.deadlineExceeded, message) }
    public static func unimplemented(_ message: String) -> MeshError { MeshError(.unimplemented, message) }
    public static func unauthenticated(_ message: String) -> MeshError { MeshError(.unauthenticated, message) }
    public static func permissionDenied(_ message: String) -> MeshError { MeshError(.permissionDenied, message) }
    public static func internalError(_ message: String) -> MeshError { MeshError(.internalError, message) }

    /// A hop this peer did not serve, for the sender to act on.
    public static func declined(_ outcome: HopDecline.Outcome, _ message: String, revision: Int64? = nil) -> MeshError {
        MeshError(.unavailable, message, decline: HopDecline(outcome: outcome, revision: revision))
    }
}

/// Why a peer did not serve a hop; it travels in the `mm-route` and `mm-revision` headers.
public struct HopDecline: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable {
        /// No copy here (hit-only hop), or one that went away meanwhile.
        case notHere = "not-here"
        /// The load here failed.
        case loadFailed = "load-failed"
        /// This peer cannot take the model now (refused, shutting down).
        case unavailable
        /// The model is not registered as this peer sees it at `revision`; without a revision,
        /// the store said so when this peer tried to claim a copy.
        case unregistered
    }

    public var outcome: Outcome
    /// The revision the decliner decided on, so the sender can wait for its view to catch up.
    public var revision: Int64?

    public init(outcome: Outcome, revision: Int64? = nil) {
        self.outcome = outcome
        self.revision = revision
    }
}

extension MeshError {
    /// The one place a client's text becomes an id: a bad one is an `invalidArgument` that names
    /// what the id was meant to be ("model id", "vmodel id").
    public static func parseID(_ text: String, kind: String = "model id") throws(MeshError) -> ModelID {
        do {
            return try ModelID(text, kind: kind)
        } catch {
            throw .invalidArgument(error.description)
        }
    }
}

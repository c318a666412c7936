/// Errors of the data plane, each with the HTTP status and gRPC code the protocol maps it to.
public enum InferenceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Malformed request, wrong tensor shape or datatype: 400 / INVALID_ARGUMENT.
    case invalidArgument(String)
    /// Unknown model: 404 / NOT_FOUND.
    case notFound(String)
    /// Known but not servable now (loading failed, no capacity, etcd away): 503 / UNAVAILABLE.
    case unavailable(String)
    /// Body or message larger than the configured limit: 413 / RESOURCE_EXHAUSTED.
    case tooLarge(String)
    /// The deadline passed: 504 / DEADLINE_EXCEEDED.
    case deadlineExceeded(String)
    /// Not supported: 501 / UNIMPLEMENTED.
    case unimplemented(String)
    /// A failure inside the model or the mesh: 500 / INTERNAL.
    case internalError(String)

    public var message: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message), .unavailable(let message), .tooLarge(let message),
             .deadlineExceeded(let message), .unimplemented(let message), .internalError(let message):
            return message
        }
    }

    public var description: String { message }

    public var httpStatus: Int {
        switch self {
        case .invalidArgument: return 400
        case .notFound: return 404
        case .unavailable: return 503
        case .tooLarge: return 413
        case .deadlineExceeded: return 504
        case .unimplemented: return 501
        case .internalError: return 500
        }
    }

    /// The gRPC status code (numeric, as on the wire) the protocol maps the error to.
    public var grpcStatusCode: Int {
        switch self {
        case .invalidArgument: return 3
        case .notFound: return 5
        case .unavailable: return 14
        case .tooLarge: return 8
        case .deadlineExceeded: return 4
        case .unimplemented: return 12
        case .internalError: return 13
        }
    }

    /// The body of an error response: `{"error": "..."}`.
    public var jsonBody: [UInt8] {
        var writer = JSONWriter()
        writer.write(.object([("error", .string(message))]))
        return writer.bytes
    }
}

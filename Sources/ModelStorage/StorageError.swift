/// Why a model's files could not be produced.
///
/// `message` is written for the person who registered the model: it names the storage, bucket,
/// object key or URL and what to change, and it never contains a credential or a header value.
/// `reason` is a stable label for metrics and for code that reacts to a kind of failure.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        case invalidLocation = "invalid_location"
        case unknownStorageKey = "unknown_storage_key"
        case invalidConfiguration = "invalid_configuration"
        case unsupported
        case accessDenied = "access_denied"
        case invalidCredentials = "invalid_credentials"
        case notFound = "not_found"
        case pathEscapes = "path_escapes"
        case tooLarge = "too_large"
        case hostNotAllowed = "host_not_allowed"
        /// The storage egress policy refused the address a URL (or its redirect) leads to.
        case egressDenied = "egress_denied"
        case integrity
        case changedDuringDownload = "changed_during_download"
        case transport
        case serverError = "server_error"
        case unexpectedResponse = "unexpected_response"
        case cacheFull = "cache_full"
        case localIO = "local_io"
        case cancelled
    }

    public let reason: Reason
    public let message: String
    /// The S3 error code (`NoSuchKey`, `AccessDenied`, `SignatureDoesNotMatch`, …) when S3 sent one.
    public let s3ErrorCode: String?

    public init(_ reason: Reason, _ message: String, s3ErrorCode: String? = nil) {
        self.reason = reason
        self.message = message
        self.s3ErrorCode = s3ErrorCode
    }

    public var description: String { message }

    /// Whether trying the same request again may succeed (a dropped connection, a 5xx).
    var isRetryable: Bool {
        switch reason {
        case .transport, .serverError: return true
        default: return false
        }
    }
}

extension StorageError {
    static func cancelledError() -> StorageError {
        StorageError(.cancelled, "the model fetch was cancelled")
    }

    static func localIO(_ what: String, path: String, _ error: any Error) -> StorageError {
        StorageError(.localIO, "\(what) \(path) failed: \(error)")
    }
}

import AsyncHTTPClient
import NIOCore

/// Errors from the HTTP client and the network, as retryable `StorageError`s.
enum TransportErrors {
    static func map(_ error: any Error, what: String) -> StorageError {
        if let error = error as? StorageError { return error }
        if error is CancellationError || Task.isCancelled { return .cancelledError() }
        if let error = error as? HTTPClientError, error == .cancelled { return .cancelledError() }
        return StorageError(.transport, "\(what) failed: \(describe(error))")
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "the server closed the connection"
            case .readTimeout: return "no data arrived within the read timeout"
            case .connectTimeout: return "connecting timed out"
            case .deadlineExceeded: return "no response within the request timeout"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's TLS certificate is not trusted; put the CA certificate (PEM) in the storage-config entry's \"certificate\""
        }
        return text
    }
}

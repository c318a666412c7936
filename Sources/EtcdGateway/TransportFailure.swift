import AsyncHTTPClient
import KeepAliveHTTP
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Classifies an error from the HTTP layer: could the request have reached the server?
struct TransportFailure {
    /// The connection was never established, so the request was certainly not applied.
    var neverSent: Bool
    var isTimeout: Bool
    var reason: String

    init(_ error: any Error) {
        switch error {
        case is CallLimiter.TimedOut:
            self.init(neverSent: true, isTimeout: true, reason: "every connection to it stayed busy until the call's timeout")
        case let error as KeepAliveHTTPClient.Failure:
            switch error.kind {
            case .connect:
                self.init(neverSent: true, isTimeout: false, reason: error.refused ? "connection refused" : error.description)
            case .timeout:
                self.init(neverSent: false, isTimeout: true, reason: "timed out")
            case .closed:
                self.init(neverSent: false, isTimeout: false, reason: "connection closed by the server")
            case .tooLarge, .unresponsive:
                self.init(neverSent: false, isTimeout: false, reason: error.description)
            }
        case let error as HTTPClientError where error == .connectTimeout:
            self.init(neverSent: true, isTimeout: true, reason: "connection timed out")
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout:
            self.init(neverSent: false, isTimeout: true, reason: "timed out")
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            self.init(neverSent: false, isTimeout: false, reason: "connection closed by the server")
        case is NIOConnectionError:
            self.init(neverSent: true, isTimeout: false, reason: "connection refused")
        case let error as IOError where [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(error.errnoCode):
            self.init(neverSent: true, isTimeout: false, reason: TransportFailure.describe(errno: error.errnoCode))
        case let error as IOError:
            self.init(neverSent: false, isTimeout: false, reason: TransportFailure.describe(errno: error.errnoCode))
        case let error as ChannelError where error == .connectTimeout(.zero) || "\(error)".hasPrefix("connectTimeout"):
            self.init(neverSent: true, isTimeout: true, reason: "connection timed out")
        default:
            self.init(neverSent: false, isTimeout: false, reason: "\(error)")
        }
    }

    init(neverSent: Bool, isTimeout: Bool, reason: String) {
        self.neverSent = neverSent
        self.isTimeout = isTimeout
        self.reason = reason
    }

    static func describe(errno code: CInt) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset"
        case ENETUNREACH: return "network unreachable"
        case EHOSTUNREACH: return "host unreachable"
        case EPIPE: return "broken pipe"
        default: return String(cString: strerror(code))
        }
    }
}

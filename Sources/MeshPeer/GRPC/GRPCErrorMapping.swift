import EtcdGateway
import GRPCCore
import MeshCore
import OpenInference
import OpenInferenceGRPC

/// Turns what a gRPC handler threw into the status its client receives.
///
/// Every error carries `mm-served-by`, so a peer that sent a hop can tell an answer of this peer
/// (relayed to its client as is) from a failure to reach it. A ``RouteDecline`` travels as
/// UNAVAILABLE with `mm-route` (and `mm-revision`), which the sender recognises.
enum GRPCErrorMapping {
    static func rpcError(_ error: any Error, peer: PeerID) -> RPCError {
        var metadata: Metadata = [:]
        metadata.addString(peer.rawValue, forKey: MeshHeaders.servedBy)
        switch error {
        case let error as RPCError:
            // Already a status: one relayed from the peer that served, or one of the server's.
            // Of a relayed one's trailers only the mesh's own travel on; the transport's
            // (grpc-status, content-type, ...) must not be sent twice.
            var kept = Metadata()
            for entry in error.metadata where entry.key.hasPrefix("mm-") && entry.key != MeshHeaders.load {
                switch entry.value {
                case .string(let text): kept.addString(text, forKey: entry.key)
                case .binary(let bytes): kept.addBinary(bytes, forKey: entry.key)
                }
            }
            if kept.first(MeshHeaders.servedBy) == nil { kept.add(contentsOf: metadata) }
            return RPCError(code: error.code, message: error.message, metadata: kept)
        case let error as InferenceError:
            return error.rpcError(metadata: metadata)
        case let decline as RouteDecline:
            metadata.addString(decline.outcome.rawValue, forKey: MeshHeaders.route)
            if let revision = decline.revision { metadata.addString(String(revision), forKey: MeshHeaders.revision) }
            return RPCError(code: .unavailable, message: decline.message, metadata: metadata)
        case let refusal as VModelRules.Refusal:
            let code: RPCError.Code
            switch refusal {
            case .notFound: code = .notFound
            case .failedPrecondition: code = .failedPrecondition
            case .alreadyExists: code = .alreadyExists
            }
            return RPCError(code: code, message: refusal.description, metadata: metadata)
        case let error as ManagementError:
            return RPCError(code: error.rpcCode, message: error.description, metadata: metadata)
        case let conflict as ConflictError:
            return RPCError(code: .alreadyExists, message: conflict.message, metadata: metadata)
        case let error as EtcdError:
            return RPCError(code: .unavailable, message: "etcd is not available: \(error)", metadata: metadata)
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled", metadata: metadata)
        default:
            return RPCError(code: .internalError, message: "\(error)", metadata: metadata)
        }
    }

    /// The code's name as gRPC writes it (`NOT_FOUND`), for metrics.
    static func name(_ code: RPCError.Code?) -> String {
        guard let code else { return "OK" }
        switch code {
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internalError: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        default: return "UNKNOWN"
        }
    }
}

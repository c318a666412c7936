import GRPCCore
import MeshCore
import OpenInference
import OpenInferenceGRPC

/// The one mapping of errors to gRPC statuses.
///
/// Every status carries `mm-served-by`, so a peer that sent a hop can tell an answer of this peer
/// (relayed to its client as is) from a failure to reach it. A declined hop travels as
/// UNAVAILABLE with `mm-route` (and `mm-revision`), which the sender recognises.
enum GRPCErrorMapping {
    static func rpcError(_ error: any Error, peer: PeerID) -> (status: RPCError, expected: Bool) {
        var metadata: Metadata = [:]
        metadata.addString(peer.rawValue, forKey: MeshHeaders.servedBy)
        if let error = error as? RPCError {
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
            return (RPCError(code: error.code, message: error.message, metadata: kept), true)
        }
        let (meshError, expected) = MeshError.from(error)
        if let decline = meshError.decline {
            metadata.addString(decline.outcome.rawValue, forKey: MeshHeaders.route)
            if let revision = decline.revision { metadata.addString(String(revision), forKey: MeshHeaders.revision) }
        }
        return (meshError.rpcError(metadata: metadata), expected)
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

import GRPCCore
import OpenInference
import MeshCore

extension MeshError {
    /// The error as a gRPC status, with `metadata` attached (trailers).
    public func rpcError(metadata: Metadata = [:]) -> RPCError {
        let code = Status.Code(rawValue: grpcStatusCode).flatMap(RPCError.Code.init) ?? .internalError
        return RPCError(code: code, message: message, metadata: metadata)
    }
}

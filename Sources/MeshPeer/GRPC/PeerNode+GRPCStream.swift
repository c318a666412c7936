import GRPCCore
import MeshCore
import NIOCore
import OpenInferenceGRPC

extension PeerNode {
    /// Answers a `ModelInfer` call taken by ``GRPCInferFastPath`` as grpc-swift's server would:
    /// the peer gate and the access check of its interceptors, then the method's own handling.
    func answerGRPCInfer(metadata: Metadata, message: [UInt8], channel: any Channel) async -> GRPCStreamReply {
        let method = Inference_GRPCInferenceService.Method.ModelInfer.descriptor.fullyQualifiedMethod
        // The TLS handler, and so the caller's certificate, is on the connection's channel.
        let connection = channel.parent ?? channel
        if let refusal = await gate.refusal(method: method, metadata: metadata, remoteHost: channel.remoteAddress?.ipAddress,
                                            certificateNames: { await CertificateNames.of(channel: connection) }) {
            return GRPCStreamReply(refusal)
        }
        // As `AccessInterceptor`: hops admitted by the gate carry no token; it audits management
        // calls only.
        if access.isEnforced, metadata.first(MeshHeaders.hop) == nil, metadata.first(MeshHeaders.excluded) == nil {
            do {
                _ = try access.check(access.policy.required(grpcMethod: method), authorization: metadata.first("authorization"))
            } catch {
                return GRPCStreamReply(error.rpcError())
            }
        }
        do {
            let service = InferenceService(node: self, clients: grpcClients)
            return GRPCStreamReply(try await service.modelInfer(ServerRequest(metadata: metadata, message: message)))
        } catch let status as RPCError {
            return GRPCStreamReply(status)
        } catch {
            return GRPCStreamReply(RPCError(code: .unknown, message: "\(error)"))
        }
    }
}

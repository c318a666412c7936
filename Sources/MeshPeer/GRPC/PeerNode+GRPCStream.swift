import GRPCCore
import MeshCore
import NIOCore
import OpenInferenceGRPC

extension PeerNode {
    /// `ModelInfer` as its interceptors name it.
    static let modelInferMethod = "inference.GRPCInferenceService/ModelInfer"

    /// Answers a `ModelInfer` call taken by ``GRPCInferFastPath`` as grpc-swift's server would:
    /// the peer gate and the access check of its interceptors, then the method's own handling.
    func answerGRPCInfer(metadata: Metadata, message: [UInt8], channel: any Channel) async -> GRPCStreamReply {
        metrics.answeredOnGRPCStream()
        let hop = metadata.first(MeshHeaders.hop)
        let excluded = metadata.first(MeshHeaders.excluded)
        if hop != nil || excluded != nil {
            // As `PeerGateInterceptor`: a peer's call is admitted by the gate and needs no token.
            let parts = PeerOnlyRequest.grpcParts(method: Self.modelInferMethod, model: metadata.first(MeshHeaders.modelID), hop: hop, excluded: excluded)
            let connection = channel.parent ?? channel
            do {
                try await gate.admit(signature: metadata.first(PeerCredentials.header), parts: parts, remoteHost: channel.remoteAddress?.ipAddress,
                                     certificateNames: { await CertificateNames.of(channel: connection) })
            } catch {
                var status = error.rpcError()
                if hop != nil { status.metadata.addString(HopDecline.Outcome.unavailable.rawValue, forKey: MeshHeaders.route) }
                return GRPCStreamReply(status)
            }
        } else if access.isEnforced {
            // As `AccessInterceptor` (which audits management calls only).
            do {
                _ = try access.check(access.policy.required(grpcMethod: Self.modelInferMethod), authorization: metadata.first("authorization"))
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

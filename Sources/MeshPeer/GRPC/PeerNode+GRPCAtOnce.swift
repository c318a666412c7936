import GRPCCore
import MeshCore
import NIOCore
import OpenInference
import OpenInferenceGRPC

extension PeerNode {
    /// Answers a client's `ModelInfer` call taken by ``GRPCInferFastPath`` from `loop` itself,
    /// with no task, when its route starts with a hop over the peers' HTTP/1.1 connections (the
    /// REST path's ``answerAtOnce(_:body:on:then:)``, for gRPC); `completion` runs on `loop`.
    /// False when the call takes the usual way: a hop or peer-only call, a vmodel, a model whose
    /// record is not cached or that has a copy here, gRPC-call hops (`--grpc-infer-hops grpc`),
    /// a holder that takes no protobuf hops, or metadata the usual way answers with an error.
    func answerGRPCInferAtOnce(metadata: Metadata, message: [UInt8], on loop: any EventLoop,
                               then completion: @escaping @Sendable (GRPCStreamReply) -> Void) -> Bool {
        guard configuration.grpcInferHops == .http1, metadata.first(MeshHeaders.hop) == nil, metadata.first(MeshHeaders.excluded) == nil
        else { return false }
        let started = ContinuousClock.now
        // As `AccessInterceptor` (the gate passes a client's call).
        if access.isEnforced {
            let method = Inference_GRPCInferenceService.Method.ModelInfer.descriptor.fullyQualifiedMethod
            do {
                _ = try access.check(access.policy.required(grpcMethod: method), authorization: metadata.first("authorization"))
            } catch {
                completion(GRPCStreamReply(error.rpcError()))
                return true
            }
        }
        guard let context = try? HopContext(metadata, defaultTimeout: configuration.requestTimeout),
              let selector = try? InferenceService.selector(of: message, metadata: metadata), selector.namesModelOrName,
              let model = try? ModelID(selector.text), local.copy(of: model) == nil, let record = mirror.cachedModel(model),
              case .hop(let planned)? = router.firstStep(model: model, record: record, copy: nil, excluded: context.excluded,
                                                        deadline: context.deadline),
              planned.record.has(PeerFeature.protobufInfer)
        else { return false }
        metrics.hoppedFromGRPCStream()
        let call = InferenceService(node: self, clients: grpcClients).inferCall(message, metadata: metadata)
        let hop = RESTInferCall(body: ByteBuffer(bytes: message), jsonLength: nil, contentType: MeshHeaders.protobufInfer, forwarder: forwarder,
                                metrics: metrics, peerID: peerID)
        hopAtOnce(planned, call: call, model: model, deadline: context.deadline, on: loop, send: { liveness, done in
            hop.forward(to: planned.target, at: planned.record, hop: planned.hop, modelID: model, excluded: planned.route.excluded,
                        deadline: context.deadline, liveness: liveness, on: loop) { result in
                done(result.flatMap { answer in Result { try GRPCRoutedCall.grpcResult(of: answer, from: planned.target) } })
            }
        }, then: { result in
            let response = result.map { (Optional(model), ServerResponse(message: $0.message, metadata: $0.metadata)) }
            switch self.grpcResponse(to: "infer", metadata: metadata, hop: .external, started: started, response) {
            case .success(let response): completion(GRPCStreamReply(response))
            case .failure(let status): completion(GRPCStreamReply(status))
            }
        })
        return true
    }
}

extension ModelSelector {
    /// Whether the selector names a model (or a name that may be one), not a vmodel.
    var namesModelOrName: Bool {
        if case .vmodel = self { return false }
        return true
    }
}

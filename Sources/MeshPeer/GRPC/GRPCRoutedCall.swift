import GRPCCore
import MeshCore
import ModelRuntimes
import NIOCore
import OpenInferenceGRPC

/// A gRPC data-plane call the router serves here or relays to another peer. The call travels as
/// the bytes it arrived in; only `serveHere`, on the peer that holds the model, decodes it.
struct GRPCRoutedCall: RoutedCall {
    let method: MethodDescriptor
    let message: [UInt8]
    let clients: GRPCPeerClients
    let metrics: MeshMetrics
    let peerID: PeerID
    let serveHere: @Sendable (any LoadedModel, ModelID) async throws -> [UInt8]
    var atMostOnce = false
    /// Set for `ModelInfer`: its hops to peers that take protobuf on the REST infer route go over
    /// the peers' kept-alive HTTP/1.1 connections, which cost a fraction of a gRPC call's
    /// machinery on both peers (BENCHMARKS.md).
    var http1Hops: PeerForwarder?

    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> GRPCReply {
        var metadata: Metadata = [:]
        metadata.addString(peerID.rawValue, forKey: MeshHeaders.servedBy)
        return GRPCReply(message: try await serveHere(model, modelID), metadata: metadata)
    }

    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<GRPCReply> {
        if let http1Hops, record.has(PeerFeature.protobufInfer) {
            return try await forwardOverHTTP1(http1Hops, to: peer, at: record, hop: hop, modelID: modelID, excluded: excluded,
                                              deadline: deadline, liveness: liveness)
        }
        let send: @Sendable () async throws -> HopResult<GRPCReply> = { [method, message, clients] in
            try await clients.send(method, message, to: peer, at: record, hop: hop, modelID: modelID, excluded: excluded, deadline: deadline)
        }
        let result = if let liveness { try await liveness.guarding(peer, send) } else { try await send() }
        metrics.forwarded(hop: hop, outcome: result.label)
        return result
    }

    /// The message as the body of a REST infer hop (``MeshHeaders/protobufInfer``); the peer's
    /// error answers come back as the gRPC statuses of their kinds, marked as its own.
    private func forwardOverHTTP1(
        _ forwarder: PeerForwarder, to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
        deadline: ContinuousClock.Instant, liveness: HopLiveness?
    ) async throws -> HopResult<GRPCReply> {
        let rest = RESTInferCall(body: ByteBuffer(bytes: message), jsonLength: nil, contentType: MeshHeaders.protobufInfer,
                                 forwarder: forwarder, metrics: metrics, peerID: peerID)
        let result = try await rest.forward(to: peer, at: record, hop: hop, modelID: modelID, excluded: excluded,
                                            deadline: deadline, liveness: liveness)
        return try Self.grpcResult(of: result, from: peer)
    }

    /// A protobuf inference hop's answer as the call's: the peer's error answers come back as
    /// the gRPC statuses of their kinds, marked as its own.
    static func grpcResult(of result: HopResult<HTTPReply>, from peer: PeerID) throws -> HopResult<GRPCReply> {
        switch result {
        case .declined(let decline, let message):
            return .declined(decline, message: message)
        case .served(let reply):
            var metadata: Metadata = [:]
            metadata.addString(reply.header(MeshHeaders.servedBy) ?? peer.rawValue, forKey: MeshHeaders.servedBy)
            guard reply.status == 200 else {
                throw MeshError(MeshError.Kind(httpStatus: reply.status), reply.errorMessage).rpcError(metadata: metadata)
            }
            guard MeshHeaders.isProtobufInfer(reply.header("content-type")) else {
                throw MeshError.internalError("peer \(peer) answered a protobuf inference hop with \(reply.header("content-type") ?? "no content type")")
                    .rpcError(metadata: metadata)
            }
            return .served(GRPCReply(message: Array(reply.body.readableBytesView), metadata: metadata))
        }
    }
}

import GRPCCore
import MeshCore
import ModelRuntimes

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

    func serve(_ model: any LoadedModel, modelID: ModelID) async throws -> GRPCReply {
        var metadata: Metadata = [:]
        metadata.addString(peerID.rawValue, forKey: MeshHeaders.servedBy)
        return GRPCReply(message: try await serveHere(model, modelID), metadata: metadata)
    }

    func forward(to peer: PeerID, at record: PeerRecord, hop: Hop, modelID: ModelID, excluded: Set<PeerID>,
                 deadline: ContinuousClock.Instant, liveness: HopLiveness?) async throws -> HopResult<GRPCReply> {
        let send: @Sendable () async throws -> HopResult<GRPCReply> = { [method, message, clients] in
            try await clients.send(method, message, to: peer, at: record, hop: hop, modelID: modelID, excluded: excluded, deadline: deadline)
        }
        let result = if let liveness { try await liveness.guarding(peer, send) } else { try await send() }
        metrics.forwarded(hop: hop, outcome: result.label)
        return result
    }
}

import GRPCCore
import MeshCore
import OpenInference

extension PeerNode {
    /// Runs one gRPC handler: reads the hop context, maps errors to statuses (every one tagged
    /// with this peer's id) and records the request's metrics.
    func handleGRPC<Output>(
        route: String, metadata: Metadata,
        _ body: (HopContext) async throws -> (ModelID?, ServerResponse<Output>)
    ) async throws -> ServerResponse<Output> {
        let started = ContinuousClock.now
        var hop: Hop?
        let result: Result<(ModelID?, ServerResponse<Output>), any Error>
        do {
            let context = try HopContext(metadata, defaultTimeout: configuration.requestTimeout)
            hop = context.hop
            result = .success(try await body(context))
        } catch {
            result = .failure(error)
        }
        return try grpcResponse(to: route, metadata: metadata, hop: hop, started: started, result).get()
    }

    /// The response to a gRPC call (of kind `hop`, when its context could be read) that ended
    /// with `result`: errors as statuses, the load report a hop carries back, and the call's
    /// metrics.
    func grpcResponse<Output>(
        to route: String, metadata: Metadata, hop: Hop?, started: ContinuousClock.Instant,
        _ result: Result<(ModelID?, ServerResponse<Output>), any Error>
    ) -> Result<ServerResponse<Output>, RPCError> {
        switch result {
        case .success((let model, var response)):
            // Hops carry this peer's load back to the sender.
            if hop.map({ $0 != .external }) == true, let load = gossip.headerValue, case .success(var contents) = response.accepted {
                contents.metadata.addString(load, forKey: MeshHeaders.load)
                response.accepted = .success(contents)
            }
            let handling = response.metadata.first(MeshHeaders.servedBy).map { $0 == peerID.rawValue ? "local" : "forwarded" } ?? "none"
            metrics.request(route: route, model: model, handling: handling, code: "OK", duration: .now - started)
            return .success(response)
        case .failure(let error):
            var (status, expected) = GRPCErrorMapping.rpcError(error, peer: peerID)
            if !expected { logger.error("unexpected error", metadata: ["route": "\(route)", "error": "\(error)"]) }
            if metadata.first(MeshHeaders.hop) != nil, let load = gossip.headerValue { status.metadata.addString(load, forKey: MeshHeaders.load) }
            let relayed = status.metadata.first(MeshHeaders.servedBy).map { $0 != peerID.rawValue } ?? false
            metrics.request(route: route, model: nil, handling: relayed ? "forwarded" : "none", code: GRPCErrorMapping.name(status.code), duration: .now - started)
            return .failure(status)
        }
    }
}

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
        var model: ModelID?
        do {
            let hop = try HopContext(metadata, defaultTimeout: configuration.requestTimeout)
            var response: ServerResponse<Output>
            (model, response) = try await body(hop)
            // Hops carry this peer's load back to the sender.
            if hop.hop != .external, let load = gossip.headerValue, case .success(var contents) = response.accepted {
                contents.metadata.addString(load, forKey: MeshHeaders.load)
                response.accepted = .success(contents)
            }
            let handling = response.metadata.first(MeshHeaders.servedBy).map { $0 == peerID.rawValue ? "local" : "forwarded" } ?? "none"
            metrics.request(route: route, model: model, handling: handling, code: "OK", duration: .now - started)
            return response
        } catch {
            var (status, expected) = GRPCErrorMapping.rpcError(error, peer: peerID)
            if !expected { logger.error("unexpected error", metadata: ["route": "\(route)", "error": "\(error)"]) }
            if metadata.first(MeshHeaders.hop) != nil, let load = gossip.headerValue { status.metadata.addString(load, forKey: MeshHeaders.load) }
            let relayed = status.metadata.first(MeshHeaders.servedBy).map { $0 != peerID.rawValue } ?? false
            metrics.request(route: route, model: model, handling: relayed ? "forwarded" : "none", code: GRPCErrorMapping.name(status.code), duration: .now - started)
            throw status
        }
    }
}

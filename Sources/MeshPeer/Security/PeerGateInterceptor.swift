import GRPCCore
import GRPCNIOTransportHTTP2
import MeshCore

/// The gRPC side of ``PeerGateMiddleware``: calls with `mm-hop` or `mm-excluded` metadata are
/// admitted only by ``PeerGate``; others pass untouched.
struct PeerGateInterceptor: ServerInterceptor {
    let gate: PeerGate

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let hop = request.metadata.first(MeshHeaders.hop)
        let excluded = request.metadata.first(MeshHeaders.excluded)
        guard hop != nil || excluded != nil else { return try await next(request, context) }
        let parts = PeerOnlyRequest.grpcParts(
            method: context.descriptor.fullyQualifiedMethod, model: request.metadata.first(MeshHeaders.modelID), hop: hop, excluded: excluded
        )
        do {
            let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate
            try await gate.admit(signature: request.metadata.first(PeerCredentials.header), parts: parts, remoteHost: Self.host(of: context.remotePeer),
                                 certificateNames: { CertificateNames.of(certificate) })
        } catch {
            var status = error.rpcError()
            // As over REST: to the sender of a hop, a refusal here is a decline.
            if hop != nil { status.metadata.addString(HopDecline.Outcome.unavailable.rawValue, forKey: MeshHeaders.route) }
            return StreamingServerResponse(error: status)
        }
        return try await next(request, context)
    }

    /// The address in grpc-swift's peer description (`ipv4:127.0.0.1:1234`, `ipv6:[::1]:1234`).
    static func host(of peer: String) -> String? {
        let parts = peer.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "ipv4" || parts[0] == "ipv6" else { return nil }
        return PeerGate.host(of: String(parts[1]))
    }
}

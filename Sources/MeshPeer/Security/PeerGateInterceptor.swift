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
        let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate
        if let refusal = await gate.refusal(method: context.descriptor.fullyQualifiedMethod, metadata: request.metadata,
                                            remoteHost: Self.host(of: context.remotePeer), certificateNames: { CertificateNames.of(certificate) }) {
            return StreamingServerResponse(error: refusal)
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

extension PeerGate {
    /// The status for a gRPC call that uses a peer-only surface (`mm-hop`, `mm-excluded`) without
    /// the gate's leave, or nil when it may go on (a call that uses none passes untouched).
    func refusal(method: String, metadata: Metadata, remoteHost: @autoclosure () -> String?,
                 certificateNames: @escaping @Sendable () async -> Set<String>) async -> RPCError? {
        let hop = metadata.first(MeshHeaders.hop)
        let excluded = metadata.first(MeshHeaders.excluded)
        guard hop != nil || excluded != nil else { return nil }
        let parts = PeerOnlyRequest.grpcParts(method: method, model: metadata.first(MeshHeaders.modelID), hop: hop, excluded: excluded)
        do {
            try await admit(signature: metadata.first(PeerCredentials.header), parts: parts, remoteHost: remoteHost(), certificateNames: certificateNames)
            return nil
        } catch {
            var status = error.rpcError()
            // As over REST: to the sender of a hop, a refusal here is a decline.
            if hop != nil { status.metadata.addString(HopDecline.Outcome.unavailable.rawValue, forKey: MeshHeaders.route) }
            return status
        }
    }
}

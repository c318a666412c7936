import Hummingbird
import MeshCore

/// Lets REST requests use peer-only surfaces — gossip, and the `mm-hop` / `mm-excluded` headers —
/// only when ``PeerGate`` admits them; everything else passes untouched.
struct PeerGateMiddleware: RouterMiddleware {
    typealias Context = MeshRequestContext

    let gate: PeerGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let hop = request.header(MeshHeaders.hop)
        let excluded = request.header(MeshHeaders.excluded)
        guard hop != nil || excluded != nil || request.uri.path == PeerOnlyRequest.gossipPath else {
            return try await next(request, context)
        }
        let parts = PeerOnlyRequest.restParts(method: request.method.rawValue, path: request.uri.path, hop: hop, excluded: excluded)
        do {
            let channel = context.channel
            try await gate.admit(signature: request.header(PeerCredentials.header), parts: parts, remoteHost: context.remoteHost,
                                 certificateNames: { await CertificateNames.of(channel: channel) })
        } catch {
            var reply = HTTPReply.error(error)
            // A hop refused here (its sender is not, or not yet, a registered peer in this view)
            // is a decline to the sender: it tries another peer instead of relaying the 403.
            if hop != nil { reply.headers.append((MeshHeaders.route, HopDecline.Outcome.unavailable.rawValue)) }
            return reply.response
        }
        return try await next(request, context)
    }
}

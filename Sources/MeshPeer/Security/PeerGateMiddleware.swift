import Hummingbird
import MeshCore
import NIOCore

/// Lets REST requests use peer-only surfaces — gossip, and the `mm-hop` / `mm-excluded` headers —
/// only when ``PeerGate`` admits them; everything else passes untouched.
struct PeerGateMiddleware: RouterMiddleware {
    typealias Context = MeshRequestContext

    let gate: PeerGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let headers = request.headers
        if let refusal = await gate.refusal(method: request.method.rawValue, path: request.uri.path, header: { headers.value($0) },
                                            remoteHost: context.remoteHost, channel: context.channel) {
            return refusal.response
        }
        return try await next(request, context)
    }
}

extension PeerGate {
    /// The answer to a REST request that uses a peer-only surface without the gate's leave, or
    /// nil when it may go on (everything that uses none passes untouched).
    func refusal(method: String, path: String, header: (String) -> String?, remoteHost: @autoclosure () -> String?, channel: any Channel) async -> HTTPReply? {
        let hop = header(MeshHeaders.hop)
        let excluded = header(MeshHeaders.excluded)
        guard hop != nil || excluded != nil || path == PeerOnlyRequest.gossipPath else { return nil }
        let parts = PeerOnlyRequest.restParts(method: method, path: path, hop: hop, excluded: excluded)
        do {
            try await admit(signature: header(PeerCredentials.header), parts: parts, remoteHost: remoteHost(),
                            certificateNames: { await CertificateNames.of(channel: channel) })
            return nil
        } catch {
            var reply = HTTPReply.error(error)
            // A hop refused here (its sender is not, or not yet, a registered peer in this view)
            // is a decline to the sender: it tries another peer instead of relaying the 403.
            if hop != nil { reply.headers.append((MeshHeaders.route, HopDecline.Outcome.unavailable.rawValue)) }
            return reply
        }
    }
}

import HTTPTypes
import MeshCore
import NIOCore

/// An inference request that ``InferFastPath`` answers from the channel: `POST
/// /v2/models/{m}/infer` or `/v2/models/{m}/versions/{v}/infer`, spelled plainly, with a
/// `Content-Length` small enough to read without a body reservation. Anything else (a query,
/// an encoded or empty segment, a chunked or large body, `Expect`, `Connection: close`) is left
/// to the router, which answers it the same way with more machinery.
struct FastInferRequest: Sendable {
    let head: HTTPRequest
    let path: String
    /// The model (or vmodel) name, as the router's `:model` parameter would read it.
    let name: String

    init?(_ head: HTTPRequest, maxBodyBytes: Int) {
        guard head.method == .post, let path = head.path, !path.contains("?"), !path.contains("%") else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        switch segments.count {
        case 5: break
        case 7 where segments[4] == "versions" && !segments[5].isEmpty: break
        default: return nil
        }
        guard segments[0].isEmpty, segments[1] == "v2", segments[2] == "models", !segments[3].isEmpty, segments.last == "infer" else { return nil }
        let fields = head.headerFields
        guard let length = fields[.contentLength].flatMap(Int.init), (0...maxBodyBytes).contains(length),
              fields[.transferEncoding] == nil, fields[.expect] == nil, fields[.connection]?.lowercased().contains("close") != true
        else { return nil }
        self.head = head
        self.path = path
        self.name = String(segments[3])
    }
}

extension PeerNode {
    /// Answers a ``FastInferRequest`` as the router would: the peer gate and the access check of
    /// its middleware, then the infer route's own handling.
    func answer(_ request: FastInferRequest, body: ByteBuffer, channel: any Channel) async -> HTTPReply {
        metrics.answeredOnChannel()
        let fields = request.head.headerFields
        let header = { (name: String) in fields.value(name) }
        if let refusal = await gate.refusal(method: "POST", path: request.path, header: header,
                                            remoteHost: channel.remoteAddress?.ipAddress, channel: channel) {
            return refusal
        }
        // Hops were admitted as a peer's by the gate and carry no token.
        if header(MeshHeaders.hop) == nil, header(MeshHeaders.excluded) == nil,
           case .failure(let refusal) = access.checkREST(access.policy.required(restPath: request.path), authorization: header("authorization")) {
            return refusal.reply
        }
        return await answer(route: "infer", header: header, on: channel.eventLoop) { hop in
            try await DataPlaneRoutes.infer(request.name, hop: hop, header: header, node: self) { _ in body }
        }
    }
}

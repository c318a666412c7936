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
        guard head.method == .post, let path = head.path, let name = Self.modelName(inInferPath: path) else { return nil }
        let fields = head.headerFields
        guard let length = fields[.contentLength].flatMap(Int.init), (0...maxBodyBytes).contains(length),
              fields[.transferEncoding] == nil, fields[.expect] == nil, fields[.connection]?.lowercased().contains("close") != true
        else { return nil }
        self.head = head
        self.path = path
        self.name = name
    }

    /// `{m}` of `/v2/models/{m}/infer` or `/v2/models/{m}/versions/{v}/infer`, with no empty
    /// segment, query or percent-encoding; read byte by byte, as every request asks it.
    static func modelName(inInferPath path: String) -> String? {
        let prefix = "/v2/models/".utf8, suffix = "/infer".utf8
        let utf8 = path.utf8
        guard utf8.count > prefix.count + suffix.count, utf8.starts(with: prefix), utf8.reversed().starts(with: suffix.reversed()),
              !utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") })
        else { return nil }
        let middle = path[utf8.index(utf8.startIndex, offsetBy: prefix.count)..<utf8.index(utf8.endIndex, offsetBy: -suffix.count)]
        guard let slash = middle.utf8.firstIndex(of: UInt8(ascii: "/")) else { return String(middle) }
        // The only longer spelling: `{m}/versions/{v}`, `{v}` one segment and not empty.
        let versions = "/versions/".utf8
        let tail = middle.utf8[slash...]
        guard slash > middle.startIndex, tail.count > versions.count, tail.starts(with: versions),
              !tail.dropFirst(versions.count).contains(UInt8(ascii: "/"))
        else { return nil }
        return String(middle[..<slash])
    }
}

extension PeerNode {
    /// Answers a ``FastInferRequest`` as the router would: the peer gate and the access check of
    /// its middleware, then the infer route's own handling.
    func answer(_ request: FastInferRequest, body: ByteBuffer, channel: any Channel) async -> HTTPReply {
        let fields = request.head.headerFields
        let header = { (name: String) in fields.value(name) }
        if let refusal = await gate.refusal(method: "POST", path: request.path, header: header,
                                            remoteHost: channel.remoteAddress?.ipAddress, channel: channel) {
            return refusal
        }
        // Hops were admitted as a peer's by the gate and carry no token.
        if access.isEnforced, header(MeshHeaders.hop) == nil, header(MeshHeaders.excluded) == nil,
           case .failure(let refusal) = access.checkREST(access.policy.required(restPath: request.path), authorization: header("authorization")) {
            return refusal.reply
        }
        return await answer(route: "infer", header: header, on: channel.eventLoop) { hop in
            try await DataPlaneRoutes.infer(request.name, hop: hop, header: header, node: self) { _ in body }
        }
    }
}

import Hummingbird
import Logging
import MeshCore

/// Asks REST requests for a bearer token with the role their path needs (``AccessPolicy``),
/// and logs every management change with its principal. Hops between peers carry no token:
/// ``PeerGateMiddleware``, which runs first, has already admitted them as a peer's.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = MeshRequestContext

    let access: AccessControl
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.header(MeshHeaders.hop) != nil || request.header(MeshHeaders.excluded) != nil || request.uri.path == PeerOnlyRequest.gossipPath {
            return try await next(request, context)
        }
        let required = access.policy.required(restPath: request.uri.path)
        let grant: BearerTokenTable.Grant?
        switch access.checkREST(required, authorization: request.header("authorization")) {
        case .success(let granted): grant = granted
        case .failure(let refusal): return refusal.response
        }
        guard required == .role(.admin), request.method != .get, request.method != .head else {
            return try await next(request, context)
        }
        let action = "\(request.method.rawValue) \(request.uri.path)"
        do {
            let response = try await next(request, context)
            access.audit(action, grant: grant, remoteHost: context.remoteHost, outcome: String(response.status.code), logger: logger)
            return response
        } catch {
            access.audit(action, grant: grant, remoteHost: context.remoteHost, outcome: "\(error)", logger: logger)
            throw error
        }
    }
}

extension AccessControl {
    /// ``check(_:authorization:)`` for a REST request: a refusal is the answer to send (with a
    /// `WWW-Authenticate` challenge when no valid token came).
    func checkREST(_ required: RequiredAccess, authorization: String?) -> Result<BearerTokenTable.Grant?, HTTPReplyRefusal> {
        do {
            return .success(try check(required, authorization: authorization))
        } catch {
            var reply = HTTPReply.error(error)
            if error.kind == .unauthenticated { reply.headers.append(("www-authenticate", "Bearer realm=\"swift-model-mesh\"")) }
            return .failure(HTTPReplyRefusal(reply: reply))
        }
    }
}

/// An answer that refuses a request, as an error so it fits a `Result`.
struct HTTPReplyRefusal: Error {
    let reply: HTTPReply
    var response: Response { reply.response }
}

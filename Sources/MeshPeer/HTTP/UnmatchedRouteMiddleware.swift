import Hummingbird
import MeshCore
import OpenInference

/// Answers what no route handled with the JSON error every other reply uses: 405 with `Allow`
/// for a known path asked with a method it does not have (`TRACE /v2`), 404 for an unknown path.
/// Added after the routes, it wraps only the router's not-found responder.
struct UnmatchedRouteMiddleware: RouterMiddleware {
    typealias Context = MeshRequestContext

    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = TextLimit.clip(request.uri.path)
            guard let allowed = routes.allowed(for: request.uri.path) else {
                return Self.reply(404, "no route \(path); the REST API is described in docs/openapi.yaml")
            }
            let list = allowed.joined(separator: ", ")
            return Self.reply(405, "\(TextLimit.clip(request.method.rawValue)) is not allowed on \(path); use \(list)", headers: [("allow", list)])
        }
    }

    private static func reply(_ status: Int, _ message: String, headers: [(String, String)] = []) -> Response {
        HTTPReply.json(status, MeshError(.invalidArgument, message).jsonBody, headers: headers).response
    }
}

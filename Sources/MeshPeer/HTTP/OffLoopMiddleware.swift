import Hummingbird

/// Runs everything but the data plane (`/v2/...`) in the concurrency pool rather than on the
/// connection's event loop (``EventLoopAffineChannel``): management calls can do much work at
/// once (a page of a large registry, an apply plan, the metrics text), and on an event loop
/// they would hold up every connection of that loop meanwhile.
struct OffLoopMiddleware: RouterMiddleware {
    typealias Context = MeshRequestContext

    func handle(_ request: Request, context: MeshRequestContext, next: (Request, MeshRequestContext) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix("/v2/") else { return try await next(request, context) }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await next(request, context) }
    }
}

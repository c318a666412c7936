import Hummingbird
@testable import MeshPeer
import Testing

/// What the peer answers when no route matches: 405 with the path's methods, or 404.
@Suite struct RouteMethodsTests {
    static let routes = RouteMethods([
        ("/v2", .get), ("/v2/models/:model", .get), ("/v2/models/:model/infer", .post),
        ("/v1/models/:model", .get), ("/v1/models/:model", .patch), ("/v1/models/:model", .delete),
        ("/v1/models", .get), ("/v1/models", .post),
    ])

    @Test func aKnownPathListsItsMethodsSorted() {
        #expect(Self.routes.allowed(for: "/v1/models/m-1") == ["DELETE", "GET", "PATCH"])
        #expect(Self.routes.allowed(for: "/v1/models") == ["GET", "POST"])
        #expect(Self.routes.allowed(for: "/v2/models/m/infer") == ["POST"])
    }

    @Test func pathsSplitAsTheRouterSplitsThem() {
        // Empty components are skipped, so `/v2/models//infer` is `/v2/models/{model}` with model "infer".
        #expect(Self.routes.allowed(for: "/v2/models//infer") == ["GET"])
        #expect(Self.routes.allowed(for: "/v2/") == ["GET"])
    }

    @Test func anUnknownPathHasNoMethods() {
        #expect(Self.routes.allowed(for: "/v3") == nil)
        #expect(Self.routes.allowed(for: "/v2/models/m/infer/more") == nil)
        #expect(Self.routes.allowed(for: "/") == nil)
    }

    @Test func aLiteralComponentWinsOverACapture() {
        let routes = RouteMethods([("/v1/vmodels/:model", .get), ("/v1/vmodels/special", .post)])
        #expect(routes.allowed(for: "/v1/vmodels/special") == ["POST"])
        #expect(routes.allowed(for: "/v1/vmodels/other") == ["GET"])
    }
}

import Hummingbird

/// The methods each route path answers, so that a request the router matched by path but not
/// by method gets 405 with an `Allow` header instead of a 404.
struct RouteMethods: Sendable {
    private let routes: [(path: RouterPath, methods: [String])]

    init(_ routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        var grouped: [(path: RouterPath, methods: [String])] = []
        for route in routes {
            if let index = grouped.firstIndex(where: { $0.path.description == route.path.description }) {
                grouped[index].methods.append(route.method.rawValue)
            } else {
                grouped.append((route.path, [route.method.rawValue]))
            }
        }
        self.routes = grouped.map { ($0.path, $0.methods.sorted()) }
    }

    /// The methods of the route whose path matches `path` (components split as the router
    /// splits them, empty ones skipped), the most literal match first; nil when none matches.
    func allowed(for path: String) -> [String]? {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        let matches = routes.filter { route in
            route.path.count == components.count && zip(route.path, components).allSatisfy { $0 ~= $1 }
        }
        return matches.max { Self.literals($0.path) < Self.literals($1.path) }?.methods
    }

    /// The components that are fixed text rather than captures (`{model}`) or wildcards.
    private static func literals(_ path: RouterPath) -> Int {
        path.filter { !$0.description.contains("{") && !$0.description.contains("*") }.count
    }
}

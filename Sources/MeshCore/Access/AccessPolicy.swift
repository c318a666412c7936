/// Which role each request needs, decided from its REST path or gRPC method alone.
///
/// The data plane is an allow-list; anything not on it needs `admin`, so a path spelled in a
/// way the list does not expect (percent-encoded, with dot segments, unknown) can only be more
/// restricted, never less.
public struct AccessPolicy: Sendable, Hashable {
    /// Whether `/metrics` is open or needs the `infer` role.
    public var metricsOpen: Bool

    public init(metricsOpen: Bool = true) {
        self.metricsOpen = metricsOpen
    }

    /// The access a REST request for `path` (without the query) needs.
    public func required(restPath path: String) -> RequiredAccess {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        // Only the plain spelling counts: an empty, dot or encoded segment falls to admin.
        guard path.hasPrefix("/"), segments.allSatisfy(Self.isPlain) else { return .role(.admin) }
        switch Array(segments) {
        case ["v2", "health", "live"], ["v2", "health", "ready"]:
            return .open
        case ["metrics"]:
            return metricsOpen ? .open : .role(.infer)
        case ["v2"]:
            return .role(.infer)
        case let parts where parts.count >= 3 && parts[0] == "v2" && parts[1] == "models":
            return .role(.infer)
        default:
            return .role(.admin)
        }
    }

    /// The access a gRPC call of `method` (`package.Service/Method`) needs.
    public func required(grpcMethod method: String) -> RequiredAccess {
        switch method {
        case "inference.GRPCInferenceService/ServerLive", "inference.GRPCInferenceService/ServerReady",
             "grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch":
            return .open
        case "inference.GRPCInferenceService/ServerMetadata", "inference.GRPCInferenceService/ModelReady",
             "inference.GRPCInferenceService/ModelMetadata", "inference.GRPCInferenceService/ModelInfer":
            return .role(.infer)
        default:
            return .role(.admin)
        }
    }

    private static func isPlain(_ segment: Substring) -> Bool {
        !segment.isEmpty && segment != "." && segment != ".." && !segment.contains("%")
    }
}

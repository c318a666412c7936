import GRPCCore
import MeshCore
import OpenInference

/// Routing parameters a gRPC call carries in its metadata: the hop kind and the peers already
/// tried (`mm-hop`, `mm-excluded`, as on REST hops) and the deadline (`grpc-timeout`, else
/// `mm-timeout-ms`, else the peer's request timeout).
struct GRPCHopContext: Sendable {
    var hop: Hop
    var excluded: Set<PeerID>
    var deadline: ContinuousClock.Instant

    init(_ metadata: Metadata, defaultTimeout: Duration) throws(InferenceError) {
        hop = metadata.first(MeshHeaders.hop).flatMap(Hop.init(rawValue:)) ?? .external
        excluded = Set((metadata.first(MeshHeaders.excluded) ?? "").split(separator: ",").compactMap { try? PeerID(String($0)) })
        var timeout = defaultTimeout
        if let text = metadata.first("grpc-timeout") {
            guard let parsed = GRPCTimeout.parse(text) else { throw .invalidArgument("grpc-timeout \"\(TextLimit.clip(text))\" is malformed") }
            timeout = parsed
        } else if let text = metadata.first(MeshHeaders.timeoutMillis) {
            guard let millis = Int64(text), millis > 0 else {
                throw .invalidArgument("\(MeshHeaders.timeoutMillis) must be a positive number of milliseconds")
            }
            timeout = .milliseconds(millis)
        }
        deadline = .now + timeout
    }
}

/// The `grpc-timeout` header: at most 8 digits and a unit (H, M, S, m, u, n).
enum GRPCTimeout {
    static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, text.count >= 2, text.count <= 9, let value = Int64(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "H": return .seconds(value * 3600)
        case "M": return .seconds(value * 60)
        case "S": return .seconds(value)
        case "m": return .milliseconds(value)
        case "u": return .microseconds(value)
        case "n": return .nanoseconds(value)
        default: return nil
        }
    }
}

extension Metadata {
    /// The first string value of `key`.
    func first(_ key: String) -> String? {
        self[stringValues: key].first(where: { _ in true })
    }
}

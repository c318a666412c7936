import GRPCCore
import MeshCore
import OpenInference

extension HopContext {
    /// The routing parameters of a gRPC call, from its metadata; `grpc-timeout`, when present,
    /// sets the deadline before `mm-timeout-ms` does.
    init(_ metadata: Metadata, defaultTimeout: Duration) throws(MeshError) {
        var timeout: Duration?
        if let text = metadata.first("grpc-timeout") {
            guard let parsed = GRPCTimeout.parse(text) else { throw .invalidArgument("grpc-timeout \"\(TextLimit.clip(text))\" is malformed") }
            timeout = parsed
        }
        try self.init(header: { metadata.first($0) }, defaultTimeout: defaultTimeout, timeout: timeout)
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

/// A `grpc://host:port` target: where a run opens one HTTP/2 connection and multiplexes its
/// requests (plaintext, as on a cluster's loopback or pod network).
public struct GRPCTarget: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init?(_ url: String) {
        guard url.hasPrefix("grpc://") else { return nil }
        var rest = url.dropFirst("grpc://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        let host = String(rest[..<colon])
        guard !host.isEmpty, !host.contains("/") else { return nil }
        self.host = host
        self.port = port
    }

    /// True for a dotted-quad address, which needs no name resolution.
    var isIPv4Address: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}

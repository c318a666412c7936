import MeshCore
import OpenInference

/// Routing parameters a request or call carries in its headers (REST) or metadata (gRPC): the
/// hop kind and the peers already tried (`mm-hop`, `mm-excluded`) and the deadline
/// (`mm-timeout-ms`, else the peer's request timeout).
struct HopContext: Sendable {
    var hop: Hop
    var excluded: Set<PeerID>
    var deadline: ContinuousClock.Instant

    /// The longest deadline a request may ask for; beyond it the number means "no hurry".
    static let maxTimeout: Duration = .seconds(86_400)
    /// Peers named in `mm-excluded` beyond this many are ignored (a mesh has fewer).
    static let maxExcluded = 1024

    /// `timeout`, when given (a protocol's own deadline), wins over `mm-timeout-ms`.
    init(header: (String) -> String?, defaultTimeout: Duration, timeout: Duration? = nil) throws(MeshError) {
        hop = header(MeshHeaders.hop).flatMap(Hop.init(rawValue:)) ?? .external
        excluded = Set((header(MeshHeaders.excluded) ?? "").split(separator: ",", maxSplits: Self.maxExcluded)
            .prefix(Self.maxExcluded).compactMap { try? PeerID(String($0)) })
        var remaining = defaultTimeout
        if let timeout {
            remaining = timeout
        } else if let text = header(MeshHeaders.timeoutMillis) {
            guard let millis = Int64(text), millis > 0 else {
                throw .invalidArgument("\(MeshHeaders.timeoutMillis) must be a positive number of milliseconds")
            }
            remaining = .milliseconds(millis)
        }
        deadline = .now + min(remaining, Self.maxTimeout)
    }
}

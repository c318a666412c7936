import MeshCore

/// Tells a frozen peer from a slow one while a hop waits for its answer.
///
/// A hop's answer may take long for good reasons (a long inference, a load on a load-local hop),
/// so no fixed time-to-first-byte budget fits every call. Instead, once a hop has waited
/// `probeAfter`, the peer's liveness route is asked, and asked again every `probeAfter` while the
/// hop still waits: a live peer answers it at once even when busy, a frozen process (stopped,
/// deadlocked, cut off behind a half-open connection) does not. When the probe fails the hop is
/// abandoned as unreachable — the router quarantines the peer and retries on another copy,
/// loading one if none is left — instead of waiting out the request's deadline.
struct HopWatchdog: Sendable {
    /// How long a hop waits before its peer is probed, and between probes.
    var probeAfter: Duration
    /// Whether the peer answers its liveness route (itself time-limited).
    var probe: @Sendable (PeerID, PeerRecord) async -> Bool

    private enum Outcome<Value: Sendable>: Sendable {
        case answered(Value)
        case frozen
    }

    /// Runs `hop`, abandoning it with ``PeerUnreachable`` if `peer` stops answering probes.
    func guarding<Value: Sendable>(
        _ peer: PeerID, at record: PeerRecord, _ hop: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Outcome<Value>.self) { group in
            group.addTask { .answered(try await hop()) }
            group.addTask {
                while true {
                    try await Task.sleep(for: probeAfter)
                    if await !probe(peer, record) { return .frozen }
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            switch first {
            case .answered(let value):
                return value
            case .frozen:
                throw PeerUnreachable(peer: peer, reason: "it stopped answering its health probe while the hop waited (frozen or cut off)",
                                      refused: true)
            }
        }
    }
}

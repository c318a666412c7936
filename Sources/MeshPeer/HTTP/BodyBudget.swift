import MeshCore
import Synchronization

/// Memory for request bodies being read at once. A body is read whole before it is decoded or
/// relayed, so many concurrent large bodies could exhaust the peer: each reserves what it may
/// take (its `Content-Length`, or the body limit when it does not say) and is answered 503 when
/// the budget is spent, until others finish. Small bodies are not counted.
final class BodyBudget: Sendable {
    let totalBytes: Int
    /// Bodies up to this size are read without a reservation.
    let smallBytes: Int
    private let reserved = Mutex(0)

    init(totalBytes: Int, smallBytes: Int = 1 << 20) {
        self.totalBytes = totalBytes
        self.smallBytes = smallBytes
    }

    /// Runs `body` with `bytes` reserved, or throws `unavailable` when they are not free.
    func withReservation<T>(_ bytes: Int, _ body: () async throws -> T) async throws -> T {
        guard bytes > smallBytes else { return try await body() }
        let granted = reserved.withLock { reserved -> Bool in
            guard reserved + bytes <= totalBytes else { return false }
            reserved += bytes
            return true
        }
        guard granted else {
            throw MeshError.unavailable("this peer is reading \(ByteCount(Int64(totalBytes))) of large request bodies already (--body-memory); try again shortly")
        }
        defer { reserved.withLock { $0 -= bytes } }
        return try await body()
    }

    var reservedBytes: Int { reserved.withLock { $0 } }
}

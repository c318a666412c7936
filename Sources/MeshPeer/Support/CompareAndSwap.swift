import MeshCore

/// Runs a read-decide-write step until its compare-and-swap holds (`step` returns nil when the
/// compare failed: another writer won, so read and decide again), a few times at most.
func retryingCompareAndSwap<T>(_ what: String, attempts: Int = 10, _ step: () async throws -> T?) async throws -> T {
    for _ in 0..<attempts {
        if let result = try await step() { return result }
    }
    throw MeshError.unavailable("\(what) kept changing while it was being written; try again")
}

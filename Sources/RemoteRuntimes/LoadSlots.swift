/// At most `limit` loads in a runtime at once (its `maxLoadingConcurrency`); the others wait
/// their turn in order.
actor LoadSlots {
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(limit: Int, _ body: @Sendable () async throws -> T) async throws -> T {
        if running >= max(1, limit) {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            running += 1
        }
        defer { release() }
        return try await body()
    }

    /// Hands the slot to the next waiter, or frees it.
    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

import Synchronization

/// Lets at most `limit` calls run at once; the others wait in arrival order, each at most until
/// its own timeout. It bounds the connections a burst of calls opens to etcd (one per call in
/// flight): a client sending thousands of requests at once must not become thousands of etcd
/// connections.
final class CallLimiter: Sendable {
    struct TimedOut: Error {}

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
        /// Waiters between taking their id and starting to wait, and why any was given up
        /// meanwhile (its timeout passed, its task was cancelled).
        var arriving: [UInt64: (any Error)?] = [:]
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Calls running now, and waiting.
    var counts: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiting.count + $0.arriving.count) } }

    /// Runs `body` once a slot is free; throws ``TimedOut`` when none frees within `timeout`.
    func run<T: Sendable>(within timeout: Duration, _ body: () async throws -> T) async throws -> T {
        try await acquire(within: timeout)
        defer { release() }
        return try await body()
    }

    private func acquire(within timeout: Duration) async throws {
        let id: UInt64? = state.withLock { state in
            if state.running < limit && state.waiting.isEmpty {
                state.running += 1
                return nil
            }
            state.nextID += 1
            state.arriving[state.nextID] = .some(nil)
            return state.nextID
        }
        guard let id else { return }
        // The wait ends when a slot is handed over, the timeout passes or the task is cancelled;
        // whichever comes first takes the waiter out, so its continuation resumes exactly once.
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.abandon(id, with: TimedOut())
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Bool, any Error> = state.withLock { state in
                    if case .some(.some(let error)) = state.arriving.removeValue(forKey: id) { return .failure(error) }
                    // Every slot may have been freed since the id was taken.
                    if state.running < limit && state.waiting.isEmpty {
                        state.running += 1
                        return .success(true)
                    }
                    state.waiting.append(Waiter(id: id, continuation: continuation))
                    return .success(false)
                }
                switch outcome {
                case .failure(let error): continuation.resume(throwing: error)
                case .success(true): continuation.resume()
                case .success(false): break
                }
            }
        } onCancel: {
            abandon(id, with: CancellationError())
        }
    }

    private func abandon(_ id: UInt64, with error: any Error) {
        let waiter: Waiter? = state.withLock { state in
            if let index = state.waiting.firstIndex(where: { $0.id == id }) { return state.waiting.remove(at: index) }
            // Not waiting yet: it finds the reason when it arrives. Served already: nothing to do.
            if case .some(nil) = state.arriving[id] { state.arriving[id] = .some(error) }
            return nil
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Hands the slot to the first waiter, or frees it.
    private func release() {
        let next: Waiter? = state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.continuation.resume()
    }
}

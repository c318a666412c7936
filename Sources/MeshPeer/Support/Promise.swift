import Synchronization

/// A value that arrives once and can be awaited by any number of tasks. A waiter that is
/// cancelled stops waiting (with `CancellationError`) without affecting the others.
final class Promise<Value: Sendable>: Sendable {
    private enum State {
        case pending([UInt64: CheckedContinuation<Value, any Error>], nextID: UInt64)
        case done(Result<Value, any Error>)
    }

    private let state = Mutex<State>(.pending([:], nextID: 0))

    init() {}

    var isDone: Bool {
        state.withLock { if case .done = $0 { return true } else { return false } }
    }

    /// The result, if it has arrived.
    var result: Result<Value, any Error>? {
        state.withLock { if case .done(let result) = $0 { return result } else { return nil } }
    }

    func succeed(_ value: Value) { complete(.success(value)) }
    func fail(_ error: any Error) { complete(.failure(error)) }

    func complete(_ result: Result<Value, any Error>) {
        let waiters: [CheckedContinuation<Value, any Error>] = state.withLock { state in
            guard case .pending(let waiters, _) = state else { return [] }
            state = .done(result)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    func wait() async throws -> Value {
        let id: UInt64? = state.withLock { state in
            guard case .pending(let waiters, let next) = state else { return nil }
            state = .pending(waiters, nextID: next + 1)
            return next
        }
        guard let id else { return try state.withLock { if case .done(let r) = $0 { return r } else { fatalError("promise state") } }.get() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Result<Value, any Error>? = state.withLock { state in
                    switch state {
                    case .done(let result):
                        return result
                    case .pending(var waiters, let next):
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[id] = continuation
                        state = .pending(waiters, nextID: next)
                        return nil
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Value, any Error>? = state.withLock { state in
                guard case .pending(var waiters, let next) = state, let waiter = waiters.removeValue(forKey: id) else { return nil }
                state = .pending(waiters, nextID: next)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// Runs `operation`, giving up with `onTimeout()` when `deadline` passes first.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant,
    onTimeout: @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw onTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

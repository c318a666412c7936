import NIOCore
import Synchronization

/// Ends a task's exchange when the task is cancelled: the connection it uses is closed, which
/// fails the exchange. A connection it starts to use after the cancellation is closed at once.
final class ExchangeCancellation: Sendable {
    private struct State {
        var cancelled = false
        var channel: (any Channel)?
    }

    private let state = Mutex(State())

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel() {
        let channel = state.withLock { state in
            state.cancelled = true
            return state.channel
        }
        channel?.close(promise: nil)
    }

    func watch(_ channel: any Channel) {
        let cancelled = state.withLock { state in
            state.channel = channel
            return state.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }
}

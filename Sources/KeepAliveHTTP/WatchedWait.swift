import NIOCore
import Synchronization

/// A wait for an answer that ends at its deadline, or sooner when a
/// ``KeepAliveHTTPClient/LivenessWatch`` finds the server dead. The first of the answer (or a
/// failure), the deadline and a failed check counts, so that a check finishing late cannot act
/// on a wait that is over (close a connection already handed back, cancel a finished call).
///
/// One timer runs at a time, on the given loop: due at the deadline, or at the next liveness
/// check when that comes first; a check runs in a task of its own.
public final class WatchedWait: Sendable {
    public enum End: Sendable {
        case answered, failed, deadline, unresponsive
    }

    private struct State {
        var end: End?
        var timer: Scheduled<Void>?
        var check: Task<Void, Never>?
    }

    private let state = Mutex(State())
    private let loop: any EventLoop
    private let deadline: NIODeadline
    private let watch: KeepAliveHTTPClient.LivenessWatch?
    /// What to do when the deadline or a failed check ends the wait (not called otherwise).
    private let interrupt: @Sendable (End) -> Void

    public init(on loop: any EventLoop, deadline: NIODeadline, watch: KeepAliveHTTPClient.LivenessWatch?,
                interrupt: @escaping @Sendable (End) -> Void) {
        self.loop = loop
        self.deadline = deadline
        self.watch = watch
        self.interrupt = interrupt
        arm()
    }

    /// Ends the wait with `end` unless it has ended; true when this call ended it. Its timer
    /// and a check still running are cancelled.
    public func end(_ end: End) -> Bool {
        let (first, timer, check) = state.withLock { state -> (Bool, Scheduled<Void>?, Task<Void, Never>?) in
            guard state.end == nil else { return (false, nil, nil) }
            state.end = end
            defer { (state.timer, state.check) = (nil, nil) }
            return (true, state.timer, state.check)
        }
        timer?.cancel()
        check?.cancel()
        return first
    }

    /// How the wait ended, if it has.
    public var ended: End? { state.withLock { $0.end } }

    private func arm() {
        let nextCheck = watch.map { NIODeadline.now() + TimeAmount($0.interval) }
        let timer = loop.scheduleTask(deadline: min(nextCheck ?? deadline, deadline)) { self.fire() }
        let armed = state.withLock { state in
            guard state.end == nil else { return false }
            state.timer = timer
            return true
        }
        if !armed { timer.cancel() }
    }

    private func fire() {
        guard let watch, NIODeadline.now() < deadline else {
            if end(.deadline) { interrupt(.deadline) }
            return
        }
        state.withLock { state in
            // A check still running when the next is due stands for both.
            guard state.end == nil, state.check == nil else { return }
            state.check = Task {
                let alive = await watch.isAlive()
                if !alive, self.end(.unresponsive) { self.interrupt(.unresponsive) }
                self.state.withLock { $0.check = nil }
            }
        }
        arm()
    }
}

import KeepAliveHTTP
import MeshCore
import NIOCore
import NIOPosix
import Synchronization

/// Tells a frozen peer from a slow one while a hop waits for its answer.
///
/// A hop's answer may take long for good reasons (a long inference, a load on a load-local hop),
/// so no fixed time-to-first-byte budget fits every call. Instead, once a hop has waited as
/// long as the model's answers normally take (``HopBudgets``: smoothed latency plus four times
/// its variation, between a floor and a ceiling), the peer's liveness route is asked, and asked
/// again at that interval while the hop still waits: a live peer answers it at once even when
/// busy, a frozen process (stopped, deadlocked, cut off behind a half-open connection) does
/// not. When the probe fails the hop is abandoned as unreachable — the router quarantines the
/// peer and retries on another copy, loading one if none is left — instead of waiting out the
/// request's deadline.
struct HopWatchdog: Sendable {
    let budgets: HopBudgets
    /// The loops' executors, where guarded hops run.
    var eventLoops: EventLoopExecutors
    /// Whether the peer answers its liveness route (itself time-limited).
    var probe: @Sendable (PeerID, PeerRecord) async -> Bool

    /// What a hop of `model` to `peer` watches while it waits.
    func liveness(of peer: PeerID, at record: PeerRecord, model: ModelID) -> HopLiveness {
        let probe = self.probe
        return HopLiveness(probeAfter: budgets.probeAfter(model), eventLoops: eventLoops) { await probe(peer, record) }
    }
}

/// What a hop watches while it waits for its peer's answer (``HopWatchdog``): after the watch's
/// interval, and again at that interval, whether the peer still answers its liveness probe.
/// A transport that can watch its own connection does so (the REST hop's keep-alive client
/// arms a timer on the connection's loop); others wrap the hop in ``guarding(_:_:)``.
public struct HopLiveness: Sendable {
    /// When and how the peer is probed; a REST hop hands it to its keep-alive client as is.
    public let watch: KeepAliveHTTPClient.LivenessWatch
    /// The loops' executors: ``guarding(_:_:)`` runs a hop on the executor of the loop the
    /// request runs on.
    let eventLoops: EventLoopExecutors?

    init(probeAfter: Duration, eventLoops: EventLoopExecutors? = nil, answersProbe: @escaping @Sendable () async -> Bool) {
        self.watch = .init(interval: probeAfter, isAlive: answersProbe)
        self.eventLoops = eventLoops
    }

    /// Why a hop whose peer failed the probe was abandoned.
    static let frozenReason = "it stopped answering its health probe while the hop waited (frozen or cut off)"

    /// Runs `hop` to `peer`, abandoning it with ``PeerUnreachable`` if the peer stops answering
    /// probes. The hop runs in a task of its own, which a failed probe cancels; the probe's
    /// timer is the current loop's (``WatchedWait``), and a task runs a probe only when one is due.
    public func guarding<Value: Sendable>(_ peer: PeerID, _ hop: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let current = MultiThreadedEventLoopGroup.currentEventLoop
        let task = Task(executorPreference: current.flatMap { eventLoops?.executor(for: $0) }) { try await hop() }
        let wait = WatchedWait(on: current ?? MultiThreadedEventLoopGroup.singleton.next(), deadline: .distantFuture, watch: watch) { _ in task.cancel() }
        do {
            let value = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            _ = wait.end(.answered)
            return value
        } catch {
            if !wait.end(.failed), wait.ended == .unresponsive, !Task.isCancelled {
                throw PeerUnreachable(peer: peer, reason: Self.frozenReason, refused: true, mayHaveRun: true)
            }
            throw error
        }
    }
}

/// How long hops of each model normally take, learned from the hops and local calls this peer
/// makes, and the wait before a hop's peer is probed that follows from it.
final class HopBudgets: Sendable {
    let floor: Duration
    let ceiling: Duration
    private let capacity: Int
    private let estimates = Mutex<[ModelID: LatencyEstimator]>([:])

    init(floor: Duration, ceiling: Duration, capacity: Int = 10_000) {
        self.floor = min(floor, ceiling)
        self.ceiling = ceiling
        self.capacity = capacity
    }

    func probeAfter(_ model: ModelID) -> Duration {
        let estimate = estimates.withLock { $0[model] }
        return (estimate ?? LatencyEstimator()).budget(floor: floor, ceiling: ceiling)
    }

    func observe(_ model: ModelID, _ duration: Duration) {
        estimates.withLock { estimates in
            // Bounded: when full, a random model forgets its estimate (it starts at the ceiling).
            if estimates[model] == nil, estimates.count >= capacity, let victim = estimates.keys.randomElement() {
                estimates[victim] = nil
            }
            estimates[model, default: LatencyEstimator()].observe(duration)
        }
    }
}

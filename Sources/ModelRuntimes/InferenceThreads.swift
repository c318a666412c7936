import CoreMetrics
import MeshCore
import NIOPosix
import OpenInference
import Synchronization

/// Where the built-in runtimes run a model's own computation.
///
/// A request's task runs on the event loop of its connection, which is what a hop or a relay
/// to a runtime server wants: they only wait. A model that computes is different: for as long as
/// it computes, every other connection of that loop waits too, and so do the liveness probes
/// other peers judge this peer by, so a peer busy with a long inference looks frozen to them.
/// On threads of their own, computations leave the loop (and Swift's concurrency pool, where
/// the peer's management work runs) and the request's task resumes on its loop with the answer.
///
/// Moving costs a thread switch each way (about 20 µs of latency and of CPU), more than a small
/// model's whole computation. So a computation its model's record (``ComputeCost``) expects to
/// take less than ``inlineBelow`` runs where it is asked, like the rest of the request; a
/// model's first computation, and any expected to take longer, run on the threads.
public struct InferenceThreads: Sendable {
    private let pool: NIOThreadPool?
    private let tally: Tally
    /// Computations expected to take less than this run on the caller's thread.
    public let inlineBelow: Duration

    /// Every computation runs on the caller's own thread (benchmarks, tests and tools of one model).
    public static let caller = InferenceThreads(pool: nil, inlineBelow: .zero)

    /// Computations run on `pool`'s threads, save those expected to take less than
    /// `inlineBelow`; the pool's owner starts it and shuts it down.
    public init(_ pool: NIOThreadPool, inlineBelow: Duration = .microseconds(50)) {
        self.init(pool: pool, inlineBelow: inlineBelow)
    }

    private init(pool: NIOThreadPool?, inlineBelow: Duration) {
        self.pool = pool
        self.inlineBelow = inlineBelow
        self.tally = Tally()
    }

    /// Whether computations can leave the caller's thread.
    public var isSeparate: Bool { pool != nil }

    /// The deadline of the request whose computations run in this task, when it has one: a
    /// computation still waiting for a thread when it passes is not run, since nobody waits for
    /// its answer any more (an overloaded peer would otherwise spend its CPU on answers that
    /// are thrown away, and fall further behind).
    @TaskLocal public static var deadline: ContinuousClock.Instant?

    /// Computations run so far: on the threads, and where they were asked (those expected to be
    /// short); none are counted for ``caller``.
    public var counts: (onThreads: Int, inline: Int) {
        (tally.onThreads.load(ordering: .relaxed), tally.inline.load(ordering: .relaxed))
    }

    /// Computations not run because their request's deadline passed while they waited.
    public var expired: Int { tally.expired.load(ordering: .relaxed) }

    /// Runs `body`, a computation of the model whose record is `cost` over `inputBytes` bytes of
    /// input, here or on one of the threads (behind the computations submitted before it).
    func run<Value: Sendable>(inputBytes: Int, cost: ComputeCost, _ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        guard let pool else { return try body() }
        if let expected = cost.expected(inputBytes: inputBytes), expected < inlineBelow {
            tally.ranInline()
            return try cost.measuring(inputBytes: inputBytes, body)
        }
        let submitted = ContinuousClock.now
        let deadline = Self.deadline
        tally.submitted()
        defer { tally.finished() }
        // A computation whose task is cancelled while it waits for a thread is not run either.
        return try await pool.runIfActive { [tally] in
            let started = ContinuousClock.now
            if let deadline, started >= deadline {
                tally.expiredWaiting()
                throw MeshError.deadlineExceeded(
                    "the request's deadline passed while its computation waited \((started - submitted).milliseconds) ms for an inference thread "
                        + "(every thread was busy); more threads (--inference-threads), copies elsewhere or a longer deadline would have served it")
            }
            tally.started(waited: started - submitted)
            return try cost.measuring(inputBytes: inputBytes, body)
        }
    }

    /// What the threads did, counted and exported as metrics.
    private final class Tally: Sendable {
        let onThreads = Atomic<Int>(0)
        let inline = Atomic<Int>(0)
        let expired = Atomic<Int>(0)
        private let pendingNow = Atomic<Int>(0)
        private let onThreadsCounter = CoreMetrics.Counter(label: "modelmesh_inference_computations_total", dimensions: [("ran", "threads")])
        private let inlineCounter = CoreMetrics.Counter(label: "modelmesh_inference_computations_total", dimensions: [("ran", "loop")])
        private let expiredCounter = CoreMetrics.Counter(label: "modelmesh_inference_expired_total")
        /// Computations given to the threads and not finished: running, or waiting for a thread.
        private let pending = Gauge(label: "modelmesh_inference_threads_pending")
        private let waits = Recorder(label: "modelmesh_inference_thread_wait_milliseconds", aggregate: true)

        func ranInline() {
            inline.add(1, ordering: .relaxed)
            inlineCounter.increment()
        }

        func submitted() {
            pending.record(pendingNow.add(1, ordering: .relaxed).newValue)
        }

        func started(waited: Duration) {
            onThreads.add(1, ordering: .relaxed)
            onThreadsCounter.increment()
            waits.record(waited.seconds * 1000)
        }

        func expiredWaiting() {
            expired.add(1, ordering: .relaxed)
            expiredCounter.increment()
        }

        func finished() {
            pending.record(pendingNow.subtract(1, ordering: .relaxed).newValue)
        }
    }
}

extension InferenceRequest {
    /// The bytes of its input tensors' data, the measure of a computation's size.
    var inputBytes: Int {
        inputs.reduce(0) { total, tensor in
            switch tensor.data {
            case .raw(let bytes): return total + bytes.count
            case .bytes(let elements): return elements.reduce(total) { $0 + $1.count }
            }
        }
    }
}

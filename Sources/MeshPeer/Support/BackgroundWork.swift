import ServiceLifecycle
import Synchronization

/// Work that outlives the request that started it (an asynchronous load, say), run in tasks
/// this Service owns: the ServiceGroup waits for it, and graceful shutdown cancels it.
final class BackgroundWork: Service, Sendable {
    private struct Job: Sendable {
        let name: String
        let body: @Sendable () async -> Void
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let stream: AsyncStream<Job>
    private let accepting = Mutex(true)

    init() {
        (stream, jobs) = AsyncStream.makeStream(of: Job.self)
    }

    /// Starts `body` unless the peer is shutting down; returns whether it was accepted.
    @discardableResult
    func submit(_ name: String, _ body: @escaping @Sendable () async -> Void) -> Bool {
        guard accepting.withLock({ $0 }) else { return false }
        if case .enqueued = jobs.yield(Job(name: name, body: body)) { return true }
        return false
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in stream.cancelOnGracefulShutdown() {
                group.addTask { await job.body() }
            }
            accepting.withLock { $0 = false }
            jobs.finish()
            group.cancelAll()
        }
    }
}

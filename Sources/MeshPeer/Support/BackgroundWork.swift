import MeshCore
import ServiceLifecycle
import Synchronization

/// Work that outlives the request that started it (an asynchronous load, say), run in tasks
/// this Service owns: the ServiceGroup waits for it, and graceful shutdown cancels it. At most
/// ``limit`` jobs run at once; beyond that a request is told to try again instead of piling up
/// tasks without bound.
final class BackgroundWork: Service, Sendable {
    private struct Job: Sendable {
        let name: String
        let body: @Sendable () async -> Void
    }

    let limit: Int
    private let jobs: AsyncStream<Job>.Continuation
    private let stream: AsyncStream<Job>
    private let state = Mutex((accepting: true, running: 0))

    init(limit: Int = 256) {
        self.limit = limit
        (stream, jobs) = AsyncStream.makeStream(of: Job.self)
    }

    /// Starts `body`; throws `unavailable` while ``limit`` jobs run or the peer shuts down.
    func submit(_ name: String, _ body: @escaping @Sendable () async -> Void) throws(MeshError) {
        let accepted = state.withLock { state -> Bool in
            guard state.accepting, state.running < limit else { return false }
            state.running += 1
            return true
        }
        guard accepted else {
            throw .unavailable("this peer already runs \(limit) background jobs (or is shutting down); try again, or ask synchronously")
        }
        let done: @Sendable () async -> Void = { [self] in
            await body()
            state.withLock { $0.running -= 1 }
        }
        if case .enqueued = jobs.yield(Job(name: name, body: done)) { return }
        state.withLock { $0.running -= 1 }
        throw .unavailable("this peer is shutting down")
    }

    var running: Int { state.withLock { $0.running } }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in stream.cancelOnGracefulShutdown() {
                group.addTask { await job.body() }
            }
            state.withLock { $0.accepting = false }
            jobs.finish()
            group.cancelAll()
        }
    }
}

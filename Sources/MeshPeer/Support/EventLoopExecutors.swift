import NIOCore
import NIOPosix

/// Runs the jobs of tasks that prefer it on one NIO event loop.
///
/// A data-plane call handled under it (``PeerNode/handle(route:request:context:modelParameter:_:)``)
/// runs on the thread its connection's socket belongs to, and a hop it makes goes out on a
/// connection of the same loop (``KeepAliveHTTPClient`` prefers one), so writing the hop,
/// reading the answer and resuming the call happen on that thread too, with no wake-up of
/// another thread per step. (Serving whole connections this way cost throughput under many
/// concurrent connections; see BENCHMARKS.md.)
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs each job on the event loop of the thread that enqueues it (a job enqueued by a thread of
/// no loop goes to the group's next loop), so that a task resumed by a channel's loop goes on on
/// that loop instead of waking a thread of Swift's pool. grpc-swift's server runs under it: the
/// tasks it starts per connection and per call then follow their connection's loop, as
/// ``EventLoopTaskExecutor`` keeps a data-plane call on its own.
final class LoopFollowingTaskExecutor: TaskExecutor {
    let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup) {
        self.group = group
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// One executor per loop of the event loop groups the servers run on, found by loop.
struct EventLoopExecutors: Sendable {
    private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

    init(groups: [MultiThreadedEventLoopGroup] = [.singleton]) {
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for group in groups {
            for loop in group.makeIterator() { executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(loop) }
        }
        self.executors = executors
    }

    func executor(for loop: any EventLoop) -> EventLoopTaskExecutor? {
        executors[ObjectIdentifier(loop)]
    }

    /// Runs `body` on `loop`'s executor, or where it is when `loop` is not one of the group's.
    func run<T>(on loop: any EventLoop, _ body: () async throws -> T) async throws -> T {
        guard let executor = executor(for: loop) else { return try await body() }
        return try await withTaskExecutorPreference(executor) { try await body() }
    }
}

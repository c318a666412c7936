import HummingbirdCore
import Logging
import NIOCore

/// Serves each connection from a task that prefers the connection's event loop
/// (``EventLoopExecutors``): reading a request off the connection, handling it, hopping to
/// another peer and writing the answer back then all happen on that loop's thread, where
/// Hummingbird otherwise hands each request to the concurrency pool and each answer back.
struct EventLoopAffineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let executors: EventLoopExecutors

    init(_ base: Base, executors: EventLoopExecutors) {
        self.base = base
        self.executors = executors
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        guard let executor = executors.executor(for: value.channel.eventLoop) else {
            return await base.handle(value: value, logger: logger)
        }
        await withTaskExecutorPreference(executor) { await base.handle(value: value, logger: logger) }
    }
}

import Foundation
import MeshCore
import ModelRuntimes
import NIOCore
import NIOPosix
import OpenInference
import Synchronization
import Testing

/// Where the built-in runtimes compute: on ``InferenceThreads`` the request's event loop runs
/// other work meanwhile, unless the model is known to compute for less than a thread switch
/// costs; on the caller's thread the loop waits for the computation.
@Suite(.timeLimit(.minutes(5))) struct InferenceThreadsTests {
    /// Runs a task's jobs on one event loop, as the peer runs a request's task.
    final class LoopExecutor: TaskExecutor {
        let loop: any EventLoop
        init(_ loop: any EventLoop) { self.loop = loop }
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }

    /// Infers from a task on `loop`, after queueing a job on that loop, and says which finished
    /// first: the queued job runs before the inference ends only if the computation left the loop.
    static func order(inferring request: InferenceRequest, on model: any LoadedModel, loop: any EventLoop) async throws -> [String] {
        let order = Mutex<[String]>([])
        let executor = LoopExecutor(loop)
        try await Task(executorPreference: executor) {
            loop.execute { order.withLock { $0.append("loop") } }
            _ = try await model.infer(request)
            order.withLock { $0.append("inference") }
        }.value
        try await loop.submit {}.get()
        return order.withLock { $0 }
    }

    /// A model that keeps a CPU busy for `millis` per request.
    static func synthetic(_ compute: InferenceThreads, millis: Int = 200) async throws -> any LoadedModel {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("computes-\(UUID().uuidString).json").path
        try Data(#"{"computeMillis": \#(millis), "scale": 2, "offset": 0}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await SyntheticRuntime(compute: compute).load(ModelSource(id: try ModelID("computes"), type: "synthetic", path: path))
    }

    static func iris(_ compute: InferenceThreads) async throws -> any LoadedModel {
        try await ONNXRuntime(compute: compute).load(
            ModelSource(id: try ModelID("iris"), type: "onnx", path: "\(ONNXRuntimeTests.fixtures)/iris-classifier.onnx"))
    }

    static let vector = InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [2], floats: [1, 2])])
    static let flower = InferenceRequest(inputs: [Tensor(name: "float_input", shape: [1, 4], floats: [5.1, 3.5, 1.4, 0.2])])

    /// Bounds wide enough for a loaded machine: the synthetic model computes 200 ms, the iris
    /// classifier well under a millisecond even in a debug build.
    static func threads(_ pool: NIOThreadPool) -> InferenceThreads {
        InferenceThreads(pool, inlineBelow: .milliseconds(50))
    }

    /// Runs `body` with a loop for requests and one inference thread, and stops both.
    static func withLoopAndThread(_ body: (any EventLoop, NIOThreadPool) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        var failure: (any Error)?
        do { try await body(group.next(), pool) } catch { failure = error }
        try await pool.shutdownGracefully()
        try await group.shutdownGracefully()
        if let failure { throw failure }
    }

    /// (The order shows where a computation ran only when it takes long: a task whose
    /// computation finished on a thread before the task had quite suspended goes on at once,
    /// ahead of the loop's queue. ``InferenceThreads/counts`` says it for short ones.)
    @Test func aComputingModelLeavesItsRequestsLoopFreeMeanwhile() async throws {
        try await Self.withLoopAndThread { loop, pool in
            let threads = Self.threads(pool)
            let synthetic = try await Self.synthetic(threads)
            for _ in 0..<2 {
                #expect(try await Self.order(inferring: Self.vector, on: synthetic, loop: loop) == ["loop", "inference"])
            }
            #expect(try await synthetic.infer(Self.vector).outputs.first?.floatValues() == [2, 4])
            #expect(threads.counts == (onThreads: 3, inline: 0))
            // Bad input is refused from the threads as it is here.
            let fresh = try await Self.iris(Self.threads(pool))
            await #expect(throws: MeshError.invalidArgument("input 'float_input' has shape [1, 3] but iris expects [-1, 4] (-1: any size)")) {
                _ = try await fresh.infer(InferenceRequest(inputs: [Tensor(name: "float_input", shape: [1, 3], floats: [1, 2, 3])]))
            }
        }
    }

    /// A model's first computation leaves the loop; once its computations are known to be short,
    /// they run where they are asked, and a large batch of the same model leaves again.
    @Test func aShortComputationStaysOnItsLoopOnceKnown() async throws {
        try await Self.withLoopAndThread { loop, pool in
            let threads = Self.threads(pool)
            let onnx = try await Self.iris(threads)
            #expect(try await onnx.infer(Self.flower).outputs.first?.int64Values() == [0])
            #expect(threads.counts == (onThreads: 1, inline: 0))
            // Known to be short now: it stays where it is asked, and so does the loop's queue.
            #expect(try await Self.order(inferring: Self.flower, on: onnx, loop: loop) == ["inference", "loop"])
            #expect(try await onnx.infer(Self.flower).outputs.first?.int64Values() == [0])
            #expect(threads.counts == (onThreads: 1, inline: 2))
            // 100,000 rows: expected to take far longer than the bound, so it leaves the loop.
            let rows = 100_000
            let batch = InferenceRequest(inputs: [Tensor(name: "float_input", shape: [rows, 4], floats: Array(repeating: 1, count: rows * 4))])
            #expect(try await onnx.infer(batch).outputs.first?.int64Values()?.count == rows)
            #expect(threads.counts == (onThreads: 2, inline: 2))
        }
    }

    /// With the one thread busy for a second, a computation whose request's deadline is 100 ms
    /// away is not run when the thread frees up; one with time left is.
    @Test func aComputationWhoseDeadlinePassedWhileItWaitedIsNotRun() async throws {
        try await Self.withLoopAndThread { _, pool in
            let threads = Self.threads(pool)
            let long = try await Self.synthetic(threads, millis: 1000)
            let short = try await Self.synthetic(threads, millis: 1)
            let first = Task { try await long.infer(Self.vector) }
            while threads.counts.onThreads == 0 { try await Task.sleep(for: .milliseconds(5)) }
            do {
                _ = try await InferenceThreads.$deadline.withValue(.now + .milliseconds(100)) { try await short.infer(Self.vector) }
                Issue.record("a computation whose deadline had passed ran")
            } catch let error as MeshError {
                #expect(error.kind == .deadlineExceeded)
                #expect(error.message.contains("waited") && error.message.contains("--inference-threads"), "\(error.message)")
            }
            _ = try await first.value
            #expect(threads.expired == 1)
            #expect(threads.counts == (onThreads: 1, inline: 0))
            // Time left when the thread takes it: it runs.
            let answer = try await InferenceThreads.$deadline.withValue(.now + .seconds(60)) { try await short.infer(Self.vector) }
            #expect(answer.outputs.first?.floatValues() == [2, 4])
            #expect(threads.counts == (onThreads: 2, inline: 0))
        }
    }

    @Test func onTheCallersThreadTheLoopWaitsForTheComputation() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #expect(!InferenceThreads.caller.isSeparate)
        #expect(InferenceThreads.caller.counts == (onThreads: 0, inline: 0))
        let synthetic = try await Self.synthetic(.caller, millis: 20)
        #expect(try await Self.order(inferring: Self.vector, on: synthetic, loop: group.next()) == ["inference", "loop"])
        let onnx = try await Self.iris(.caller)
        #expect(try await Self.order(inferring: Self.flower, on: onnx, loop: group.next()) == ["inference", "loop"])
        try await group.shutdownGracefully()
    }
}

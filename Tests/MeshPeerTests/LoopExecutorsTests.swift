import GRPCCore
@testable import MeshPeer
import NIOCore
import NIOPosix
import OpenInferenceGRPC
import Testing

/// Where gRPC calls run: a task under ``LoopFollowingTaskExecutor`` goes on on the loop that
/// resumed it, and ``ManagementOnPoolInterceptor`` sends all but the data plane to Swift's pool.
@Suite struct LoopExecutorsTests {
    @Test func aTaskFollowsTheLoopThatResumesIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let visited = try await withTaskExecutorPreference(LoopFollowingTaskExecutor(group: group)) {
            // Started from a thread of no loop: on one of the group's loops.
            var visited = [MultiThreadedEventLoopGroup.currentEventLoop.map(ObjectIdentifier.init)]
            for loop in [loops[1], loops[0], loops[1]] {
                // Completed later, so that the task is suspended when the loop resumes it.
                try await loop.scheduleTask(in: .milliseconds(20)) {}.futureResult.get()
                visited.append(MultiThreadedEventLoopGroup.currentEventLoop.map(ObjectIdentifier.init))
            }
            return visited
        }
        #expect(visited.first.flatMap { $0 }.map { first in loops.contains { ObjectIdentifier($0) == first } } == true)
        #expect(Array(visited.dropFirst()) == [loops[1], loops[0], loops[1]].map { ObjectIdentifier($0) })
        try await group.shutdownGracefully()
    }

    @Test func managementCallsRunOnThePoolAndTheDataPlaneOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let interceptor = ManagementOnPoolInterceptor()
        let methods: [(MethodDescriptor, onLoop: Bool)] = [
            (Inference_GRPCInferenceService.Method.ModelInfer.descriptor, true),
            (Inference_GRPCInferenceService.Method.ModelReady.descriptor, true),
            (Inference_GRPCInferenceService.Method.RepositoryIndex.descriptor, false),
            (MethodDescriptor(fullyQualifiedService: "mmesh.ModelMesh", method: "registerModel"), false),
        ]
        for (method, onLoop) in methods {
            let context = ServerContext(descriptor: method, remotePeer: "in-process", localPeer: "in-process", cancellation: .init())
            let seen = Seen()
            try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
                let _: StreamingServerResponse<Bool> = try await interceptor.intercept(request: StreamingServerRequest(single: ServerRequest(metadata: [:], message: true)), context: context) { _, _ in
                    await seen.record(loop.inEventLoop)
                    return StreamingServerResponse(single: ServerResponse(message: true))
                }
            }
            #expect(await seen.onLoop == onLoop, "\(method)")
        }
        try await group.shutdownGracefully()
    }
}

/// Where a handler ran, as it saw it.
private actor Seen {
    var onLoop: Bool?
    func record(_ onLoop: Bool) { self.onLoop = onLoop }
}

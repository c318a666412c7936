import GRPCCore
import OpenInferenceGRPC

/// Runs gRPC calls that are not the data plane's on Swift's shared pool. grpc-swift's server runs
/// under ``LoopFollowingTaskExecutor``, where a call's task follows its connection's event loop;
/// a management call (a listing of a million models, say) must not hold up the other connections
/// of that loop, as REST's management routes do not.
struct ManagementOnPoolInterceptor: ServerInterceptor {
    /// The calls that stay on their connection's loop, as REST's data-plane routes do.
    static let dataPlane: Set<String> = Set([
        Inference_GRPCInferenceService.Method.ModelInfer.descriptor, Inference_GRPCInferenceService.Method.ModelMetadata.descriptor,
        Inference_GRPCInferenceService.Method.ModelReady.descriptor, Inference_GRPCInferenceService.Method.RepositoryModelLoad.descriptor,
        Inference_GRPCInferenceService.Method.ServerLive.descriptor, Inference_GRPCInferenceService.Method.ServerReady.descriptor,
        Inference_GRPCInferenceService.Method.ServerMetadata.descriptor,
    ].map(\.fullyQualifiedMethod))

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if Self.dataPlane.contains(context.descriptor.fullyQualifiedMethod) { return try await next(request, context) }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await next(request, context) }
    }
}

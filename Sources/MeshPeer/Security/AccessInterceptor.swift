import GRPCCore
import Logging
import MeshCore

/// The gRPC side of ``AccessMiddleware``: the token comes in the `authorization` metadata;
/// hops admitted by ``PeerGateInterceptor`` (which runs first) pass.
struct AccessInterceptor: ServerInterceptor {
    let access: AccessControl
    let logger: Logger

    /// Management calls that change something, which are logged with their principal.
    static let changes: Set<String> = [
        "mmesh.ModelMesh/registerModel", "mmesh.ModelMesh/unregisterModel", "mmesh.ModelMesh/ensureLoaded",
        "mmesh.ModelMesh/setVModel", "mmesh.ModelMesh/deleteVModel",
        "inference.GRPCInferenceService/RepositoryModelLoad", "inference.GRPCInferenceService/RepositoryModelUnload",
    ]

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if request.metadata.first(MeshHeaders.hop) != nil || request.metadata.first(MeshHeaders.excluded) != nil {
            return try await next(request, context)
        }
        let method = context.descriptor.fullyQualifiedMethod
        let grant: BearerTokenTable.Grant?
        do {
            grant = try access.check(access.policy.required(grpcMethod: method), authorization: request.metadata.first("authorization"))
        } catch {
            return StreamingServerResponse(error: error.rpcError())
        }
        guard Self.changes.contains(method) else { return try await next(request, context) }
        let remote = PeerGateInterceptor.host(of: context.remotePeer)
        do {
            let response = try await next(request, context)
            let outcome: String
            switch response.accepted {
            case .success: outcome = "ok"
            case .failure(let error): outcome = "\(error.code)"
            }
            access.audit(method, grant: grant, remoteHost: remote, outcome: outcome, logger: logger)
            return response
        } catch {
            access.audit(method, grant: grant, remoteHost: remote, outcome: "\(error)", logger: logger)
            throw error
        }
    }
}

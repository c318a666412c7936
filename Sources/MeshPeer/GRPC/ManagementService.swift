import GRPCCore
import MeshCore
import MeshManagementGRPC
import OpenInference

/// `mmesh.ModelMesh`, wire-compatible with ModelMesh's management API: the same paths
/// (lowerCamelCase methods), messages, status enums and gRPC codes, over the same records the
/// REST `/v1` API uses, so a model or vmodel registered one way is visible the other.
struct ManagementService: Mmesh_ModelMesh.ServiceProtocol {
    let node: PeerNode

    // MARK: Models

    func registerModel(
        request: ServerRequest<Mmesh_RegisterModelRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_ModelStatusInfo> {
        try await node.handleManagement(route: "register_model", metadata: request.metadata) { hop in
            let message = request.message
            let (id, record) = try node.registration(id: message.modelID, info: message.modelInfo)
            if case .conflict(let existing) = try await node.store.register(id, record), !existing.sameSource(as: record) {
                throw MeshError.alreadyExists("model \(id) already exists with different type, path or key")
            }
            if message.loadNow { try await node.load(id, sync: message.sync, deadline: hop.deadline) }
            return (id, try await node.modelStatusInfo(id))
        }
    }

    func unregisterModel(
        request: ServerRequest<Mmesh_UnregisterModelRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_UnregisterModelResponse> {
        try await node.handleManagement(route: "unregister_model", metadata: request.metadata) { _ in
            let id = try ManagementService.id(request.message.modelID)
            if case .referenced(let count) = try await node.store.unregister(id) {
                throw MeshError.conflict("model \(id) is referenced by \(count) vmodel\(count == 1 ? "" : "s")")
            }
            return (id, Mmesh_UnregisterModelResponse())
        }
    }

    func getModelStatus(
        request: ServerRequest<Mmesh_GetStatusRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_ModelStatusInfo> {
        try await node.handleManagement(route: "model_status", metadata: request.metadata) { _ in
            let id = try ManagementService.id(request.message.modelID)
            return (id, try await node.modelStatusInfo(id))
        }
    }

    func ensureLoaded(
        request: ServerRequest<Mmesh_EnsureLoadedRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_ModelStatusInfo> {
        try await node.handleManagement(route: "ensure_loaded", metadata: request.metadata) { hop in
            let id = try ManagementService.id(request.message.modelID)
            guard try await node.mirror.model(id) != nil else { throw MeshError.notFound("model not found") }
            try await node.load(id, sync: request.message.sync, deadline: hop.deadline)
            return (id, try await node.modelStatusInfo(id))
        }
    }

    // MARK: VModels

    func setVModel(
        request: ServerRequest<Mmesh_SetVModelRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_VModelStatusInfo> {
        try await node.handleManagement(route: "set_vmodel", metadata: request.metadata) { hop in
            let message = request.message
            guard !message.vModelID.isEmpty else { throw MeshError.invalidArgument("vModelId must not be empty") }
            guard !message.targetModelID.isEmpty else {
                throw MeshError.invalidArgument("targetModelId must not be empty for vmodel \(TextLimit.clip(message.vModelID))")
            }
            let vmodel = try ManagementService.id(message.vModelID, kind: "vmodel id")
            var newTarget: ModelRecord?
            if message.hasModelInfo && message.modelInfo != Mmesh_ModelInfo() {
                var (_, record) = try node.registration(id: message.targetModelID, info: message.modelInfo)
                record.autoDelete = message.autoDeleteTargetModel
                newTarget = record
            }
            let setRequest = VModelRules.SetRequest(
                vmodel: vmodel, owner: message.owner, target: try ManagementService.id(message.targetModelID),
                updateOnly: message.updateOnly, force: message.force,
                expectedTarget: message.expectedTargetModelID.isEmpty ? nil : try ManagementService.id(message.expectedTargetModelID)
            )
            let outcome = try await node.vmodels.set(setRequest, newTarget: newTarget, options: .init(
                loadNow: message.loadNow, sync: message.sync, deadline: hop.deadline
            ))
            return (outcome.record.activeModel, try await node.vmodelStatusInfo(outcome.record))
        }
    }

    func deleteVModel(
        request: ServerRequest<Mmesh_DeleteVModelRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_DeleteVModelResponse> {
        try await node.handleManagement(route: "delete_vmodel", metadata: request.metadata) { _ in
            let id = try ManagementService.id(request.message.vModelID, kind: "vmodel id")
            _ = try await node.vmodels.delete(id, owner: request.message.owner)
            return (nil, Mmesh_DeleteVModelResponse())
        }
    }

    func getVModelStatus(
        request: ServerRequest<Mmesh_GetVModelStatusRequest>, context: ServerContext
    ) async throws -> ServerResponse<Mmesh_VModelStatusInfo> {
        try await node.handleManagement(route: "vmodel_status", metadata: request.metadata) { _ in
            let id = try ManagementService.id(request.message.vModelID, kind: "vmodel id")
            let owner = request.message.owner
            guard let record = try await node.store.vmodel(id).record,
                  owner.isEmpty || record.owner == owner else {
                return (nil, Mmesh_VModelStatusInfo())
            }
            return (record.activeModel, try await node.vmodelStatusInfo(record))
        }
    }
}

extension ManagementService {
    /// A model or vmodel id from a management message; empty is refused with the field's name.
    static func id(_ text: String, kind: String = "model id") throws(MeshError) -> ModelID {
        guard !text.isEmpty else { throw .invalidArgument("\(kind == "model id" ? "modelId" : "vModelId") must not be empty") }
        return try MeshError.parseID(text, kind: kind)
    }
}

extension PeerNode {
    /// Runs one management call: errors become ModelMesh's codes.
    func handleManagement<Output: Sendable>(
        route: String, metadata: Metadata, _ body: (HopContext) async throws -> (ModelID?, Output)
    ) async throws -> ServerResponse<Output> {
        try await handleGRPC(route: route, metadata: metadata) { hop in
            let (model, message) = try await body(hop)
            return (model, ServerResponse(message: message))
        }
    }

    /// A registration from ModelMesh's `ModelInfo` (see ``ModelInfoMapping``).
    func registration(id: String, info: Mmesh_ModelInfo) throws(MeshError) -> (ModelID, ModelRecord) {
        guard !id.isEmpty else { throw .invalidArgument("modelId must not be empty") }
        guard !info.type.isEmpty else { throw .invalidArgument("ModelInfo.type must not be empty") }
        let registration = ModelInfoMapping.registration(
            id: id, type: info.type, path: info.path, key: info.key, runtimes: RuntimeTypes(names: servedFormats)
        )
        return try validateRegistration(registration)
    }

    /// Loads a copy (`sync`: before returning; otherwise in the background, after the copy is
    /// claimed or a second has passed, so the status that follows says LOADING). A load that
    /// fails is no error here, as in ModelMesh: the status that follows says LOADING_FAILED.
    func load(_ id: ModelID, sync: Bool, deadline: ContinuousClock.Instant) async throws {
        let call = RESTLoadCall(forwarder: forwarder, peerID: peerID)
        if sync {
            do {
                _ = try await router.route(call, model: id, hop: .external, excluded: [], deadline: deadline)
            } catch let error as MeshError where error.kind == .unavailable {
                logger.debug("synchronous load failed", metadata: ["model": "\(id)", "error": "\(error)"])
            }
            // The holder records the outcome just after it answers: wait for it, so the status
            // that follows shows it.
            await mirror.waitUntil(timeout: min(deadline - .now, .seconds(2))) { view in
                let copies = view.copies(of: id)
                return copies.values.contains { $0.state == .loaded } || (copies.isEmpty && !view.failures(of: id).isEmpty)
            }
            return
        }
        guard mirror.view.copies(of: id).isEmpty else { return }
        let router = self.router
        try background.submit("load \(id)") {
            _ = try? await router.route(call, model: id, hop: .external, excluded: [], deadline: deadline)
        }
        await mirror.waitUntil(timeout: min(deadline - .now, .seconds(1))) { view in
            !view.copies(of: id).isEmpty || !view.failures(of: id).isEmpty
        }
    }
}

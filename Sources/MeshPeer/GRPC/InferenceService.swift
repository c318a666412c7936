import GRPCCore
import MeshCore
import ModelRuntimes
import OpenInference
import OpenInferenceGRPC
import SwiftProtobuf

/// `inference.GRPCInferenceService`: the Open Inference Protocol over gRPC, with the model
/// repository extension. Each call behaves like its REST counterpart (DataPlaneRoutes).
///
/// `ModelInfer` is registered with raw-bytes coders: the ingress peer reads only `model_name`
/// (or the `mm-model-id` / `mm-vmodel-id` header) and relays the message unchanged; the peer
/// that holds the model decodes it.
struct InferenceService: RegistrableRPCService {
    typealias Method = Inference_GRPCInferenceService.Method

    let node: PeerNode
    let clients: GRPCPeerClients

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerUnary(Method.ServerLive.descriptor) { (_: ServerRequest<Inference_ServerLiveRequest>, _) in
            var metadata: Metadata = [:]
            metadata.addString(node.peerID.rawValue, forKey: MeshHeaders.peerID)
            metadata.addString(node.membership.record.instance, forKey: MeshHeaders.instance)
            return ServerResponse(message: Inference_ServerLiveResponse.with { $0.live = true }, metadata: metadata)
        }
        router.registerUnary(Method.ServerReady.descriptor) { (_: ServerRequest<Inference_ServerReadyRequest>, _) in
            ServerResponse(message: Inference_ServerReadyResponse.with { $0.ready = node.isReady })
        }
        router.registerUnary(Method.ServerMetadata.descriptor) { (_: ServerRequest<Inference_ServerMetadataRequest>, _) in
            ServerResponse(message: Inference_ServerMetadataResponse(node.serverMetadata))
        }
        router.registerUnary(Method.ModelReady.descriptor) { (request: ServerRequest<Inference_ModelReadyRequest>, _) in
            try await modelReady(request)
        }
        router.registerUnary(Method.ModelMetadata.descriptor) { (request: ServerRequest<Inference_ModelMetadataRequest>, _) in
            try await modelMetadata(request)
        }
        router.registerUnary(
            Method.ModelInfer.descriptor,
            deserializer: RawMessageDeserializer(limit: node.configuration.maxBodyBytes, role: "request"),
            serializer: RawMessageSerializer()
        ) { request, _ in
            try await modelInfer(request)
        }
        router.registerUnary(Method.RepositoryIndex.descriptor) { (request: ServerRequest<Inference_RepositoryIndexRequest>, _) in
            try await node.handleGRPC(route: "repository_index", metadata: request.metadata) { _ in
                let entries = try await node.repositoryEntries(readyOnly: request.message.ready)
                let response = Inference_RepositoryIndexResponse.with { index in
                    index.models = entries.map { entry in
                        .with {
                            $0.name = entry.name
                            $0.state = entry.state
                            $0.reason = entry.reason
                        }
                    }
                }
                return (nil, ServerResponse(message: response))
            }
        }
        router.registerUnary(Method.RepositoryModelLoad.descriptor) { (request: ServerRequest<Inference_RepositoryModelLoadRequest>, _) in
            try await node.handleGRPC(route: "repository_load", metadata: request.metadata) { hop in
                let call = try loadCall()
                return try await node.router.withModel(try selector(request.metadata, name: request.message.modelName), hop: hop.hop) { model in
                    let reply = try await node.router.route(call, model: model, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
                    return (model, ServerResponse(message: Inference_RepositoryModelLoadResponse(), metadata: reply.metadata))
                }
            }
        }
        router.registerUnary(Method.RepositoryModelUnload.descriptor) { (request: ServerRequest<Inference_RepositoryModelUnloadRequest>, _) in
            try await node.handleGRPC(route: "repository_unload", metadata: request.metadata) { _ in
                let model = try await resolve(request.metadata, name: request.message.modelName)
                _ = try await node.unloadEverywhere(model)
                return (model, ServerResponse(message: Inference_RepositoryModelUnloadResponse()))
            }
        }
    }

    // MARK: Calls routed to a holder of the model

    func modelInfer(_ request: ServerRequest<[UInt8]>) async throws -> ServerResponse<[UInt8]> {
        try await node.handleGRPC(route: "infer", metadata: request.metadata) { hop in
            let selector = try Self.selector(of: request.message, metadata: request.metadata)
            let call = inferCall(request.message, metadata: request.metadata)
            return try await node.router.withModel(selector, hop: hop.hop) { model in
                let reply = try await node.router.route(call, model: model, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
                return (model, ServerResponse(message: reply.message, metadata: reply.metadata))
            }
        }
    }

    /// How a `ModelInfer` call names its model: a header, else the message's `model_name`.
    static func selector(of bytes: [UInt8], metadata: Metadata) throws(MeshError) -> ModelSelector {
        try ModelSelector.from(metadata) { () throws(MeshError) in
            do {
                return try ProtobufFieldScanner.string(field: 1, in: bytes) ?? ""
            } catch {
                throw .invalidArgument("the ModelInferRequest is not a valid protobuf message: \(error)")
            }
        }
    }

    /// The call the router serves or relays for a `ModelInfer` request's bytes.
    func inferCall(_ bytes: [UInt8], metadata: Metadata) -> GRPCRoutedCall {
        let metrics = node.metrics
        var call = GRPCRoutedCall(
            method: Method.ModelInfer.descriptor, message: bytes, clients: clients,
            metrics: metrics, peerID: node.peerID
        ) { loaded, modelID in
            try await Self.infer(bytes, on: loaded, modelID: modelID, metrics: metrics)
        }
        call.atMostOnce = MeshHeaders.asksAtMostOnce(metadata.first(MeshHeaders.atMostOnce))
        if node.configuration.grpcInferHops == .http1 { call.http1Hops = node.forwarder }
        return call
    }

    /// Decodes, runs and encodes one inference on a local copy; the response uses raw contents
    /// when the request did.
    static func infer(_ bytes: [UInt8], on loaded: any LoadedModel, modelID: ModelID, metrics: MeshMetrics) async throws -> [UInt8] {
        let message: Inference_ModelInferRequest
        do {
            message = try Inference_ModelInferRequest(serializedBytes: bytes)
        } catch {
            throw MeshError.invalidArgument("the ModelInferRequest is not a valid protobuf message: \(error)")
        }
        let request = try InferenceRequest(protobuf: message)
        let started = ContinuousClock.now
        var response = try await loaded.infer(request)
        metrics.invoke(model: modelID, duration: .now - started)
        response.modelName = modelID.rawValue
        if response.id == nil { response.id = request.id }
        return try Inference_ModelInferResponse(response, raw: !message.rawInputContents.isEmpty).serializedBytes()
    }

    func modelMetadata(_ request: ServerRequest<Inference_ModelMetadataRequest>) async throws -> ServerResponse<Inference_ModelMetadataResponse> {
        try await node.handleGRPC(route: "metadata", metadata: request.metadata) { hop in
            let call = GRPCRoutedCall(
                method: Method.ModelMetadata.descriptor, message: try request.message.serializedBytes(),
                clients: clients, metrics: node.metrics, peerID: node.peerID
            ) { loaded, modelID in
                var metadata = loaded.metadata
                metadata.name = modelID.rawValue
                return try Inference_ModelMetadataResponse(metadata).serializedBytes()
            }
            return try await node.router.withModel(try selector(request.metadata, name: request.message.name), hop: hop.hop) { model in
                let reply = try await node.router.route(call, model: model, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
                return (model, ServerResponse(message: try Self.decode(reply.message), metadata: reply.metadata))
            }
        }
    }

    /// Ready means a copy is loaded (the call loads one, as REST's ready route does); a model
    /// that cannot be loaded now answers `ready: false`.
    func modelReady(_ request: ServerRequest<Inference_ModelReadyRequest>) async throws -> ServerResponse<Inference_ModelReadyResponse> {
        try await node.handleGRPC(route: "ready", metadata: request.metadata) { hop in
            let call = try loadCall()
            return try await node.router.withModel(try selector(request.metadata, name: request.message.name), hop: hop.hop) { model in
                do {
                    let reply = try await node.router.route(call, model: model, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
                    return (model, ServerResponse(message: .with { $0.ready = true }, metadata: reply.metadata))
                } catch let error as MeshError where error.kind == .unavailable {
                    return (model, ServerResponse(message: .with { $0.ready = false }))
                }
            }
        }
    }

    /// Makes sure a copy is loaded somewhere; hops go to the peer's RepositoryModelLoad.
    func loadCall() throws -> GRPCRoutedCall {
        GRPCRoutedCall(
            method: Method.RepositoryModelLoad.descriptor,
            message: try Inference_RepositoryModelLoadRequest().serializedBytes(),
            clients: clients, metrics: node.metrics, peerID: node.peerID
        ) { _, _ in [] }
    }

    func resolve(_ metadata: Metadata, name: String) async throws -> ModelID {
        try await node.router.resolve(try selector(metadata, name: name))
    }

    func selector(_ metadata: Metadata, name: String) throws(MeshError) -> ModelSelector {
        try ModelSelector.from(metadata) { () throws(MeshError) in name }
    }

    static func decode<Message: SwiftProtobuf.Message>(_ bytes: [UInt8]) throws -> Message {
        do {
            return try Message(serializedBytes: bytes)
        } catch {
            throw MeshError.internalError("a peer answered with a malformed \(Message.protoMessageName): \(error)")
        }
    }
}

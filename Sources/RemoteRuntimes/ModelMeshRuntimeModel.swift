import Foundation
import GRPCCore
import MeshCore
import ModelRuntimes
import OpenInference
import OpenInferenceGRPC
import SwiftProtobuf

/// A model loaded in a ModelMesh runtime: `ModelInfer` goes to the runtime's own inference
/// service with the model id where the runtime asked for it.
struct ModelMeshRuntimeModel: LoadedModel {
    let id: ModelID
    let runtime: ModelMeshRuntimeClient
    let generation: Int
    let sizeBytes: Int64
    /// From the runtime's `methodInfos`; nil: the id travels in the `mm-model-id` header only.
    let inferIDPath: [UInt32]?

    var metadata: ModelMetadata {
        ModelMetadata(name: id.rawValue, platform: runtime.configuration.name, inputs: [], outputs: [])
    }

    static let descriptor = MethodDescriptor(fullyQualifiedService: "inference.GRPCInferenceService", method: "ModelInfer")

    func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        if runtime.state.withLock({ $0.inferRefused }) {
            throw MeshError.unimplemented("\(runtime.label) does not list \(ModelMeshRuntimeClient.inferMethod) among its methods")
        }
        // The model's name is set as well as injected: runtimes that read it (Triton's adapter,
        // with path [1]) and runtimes that read the header both find the id.
        var message: [UInt8] = try Inference_ModelInferRequest(request, modelName: id.rawValue).serializedBytes()
        if let path = inferIDPath {
            do {
                message = try ProtobufIDInjection.inject(id.rawValue, path: path, into: message)
            } catch {
                throw MeshError.failedPrecondition("\(runtime.label) asks for the model id at field path \(path), which ModelInfer requests do not have: \(error)")
            }
        }
        var metadata: Metadata = [:]
        metadata.addString(id.rawValue, forKey: ModelMeshRuntimeClient.modelIDHeader)
        let bytes: [UInt8]
        do {
            bytes = try await runtime.grpc.unary(
                request: ClientRequest(message: message, metadata: metadata), descriptor: Self.descriptor,
                serializer: RawMessageSerializer(), deserializer: RawMessageDeserializer(limit: runtime.maxMessageBytes, role: "response"),
                options: runtime.options(timeout: nil)
            ) { response in try response.message }
        } catch let error as RPCError where error.code == .notFound {
            throw ModelGoneFromRuntime(model: id, description: "\(runtime.label) no longer holds \(id): \(error.message)")
        } catch {
            throw runtime.failure(error, doing: "run \(id)")
        }
        let response: Inference_ModelInferResponse
        do {
            response = try Inference_ModelInferResponse(serializedBytes: bytes)
        } catch {
            throw MeshError.internalError("\(runtime.label) answered \(id) with a message that is not a ModelInferResponse: \(error)")
        }
        return try InferenceResponse(protobuf: response)
    }

    func unload() async {
        await runtime.unload(id, generation: generation)
    }
}

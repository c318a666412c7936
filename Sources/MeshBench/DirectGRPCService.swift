import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import MeshCore
import ModelRuntimes
import OpenInference
import OpenInferenceGRPC

/// The direct baseline over gRPC: `ModelInfer` for one model on a plain grpc-swift 2 server (the
/// transport settings a peer uses, nothing else of the peer), decoding and encoding with the
/// same protobuf codec. A gRPC local hit through a peer minus this is what the mesh adds there.
struct DirectGRPCService: RegistrableRPCService {
    let name: String
    let model: any LoadedModel

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Inference_GRPCInferenceService.Method.ModelInfer.descriptor,
            deserializer: ProtobufDeserializer<Inference_ModelInferRequest>(),
            serializer: ProtobufSerializer<Inference_ModelInferResponse>()
        ) { request, _ in
            let message = try await ServerRequest(stream: request).message
            return StreamingServerResponse(single: ServerResponse(message: try await infer(message)))
        }
    }

    private func infer(_ message: Inference_ModelInferRequest) async throws -> Inference_ModelInferResponse {
        guard message.modelName == name else { throw MeshError.notFound("model is not served here").rpcError() }
        do {
            let request = try InferenceRequest(protobuf: message)
            var response = try await model.infer(request)
            response.modelName = name
            if response.id == nil { response.id = request.id }
            return Inference_ModelInferResponse(response, raw: !message.rawInputContents.isEmpty)
        } catch let error as MeshError {
            throw error.rpcError()
        }
    }

    /// A server with the peer's transport settings (no flush coalescing, 1,024 streams per
    /// connection), and its transport to ask for the listening address.
    static func server(host: String, port: Int, name: String, model: any LoadedModel) -> (GRPCServer<HTTP2ServerTransport.Posix>, HTTP2ServerTransport.Posix) {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: .plaintext,
            config: .defaults { config in
                config.http2.maxConcurrentStreams = 1024
                config.connection.flushCoalescing = nil
            }
        )
        return (GRPCServer(transport: transport, services: [DirectGRPCService(name: name, model: model)]), transport)
    }
}

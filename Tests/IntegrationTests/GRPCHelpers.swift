import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MeshManagementGRPC
import MeshTestSupport
import OpenInference
import OpenInferenceGRPC

typealias GRPCTestClient = GRPCClient<HTTP2ClientTransport.Posix>

extension MeshPeerProcess {
    /// Runs `body` with a gRPC client connected to this peer's `--grpc-port`.
    func withGRPC<T: Sendable>(_ body: (GRPCTestClient) async throws -> T) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: grpcPort), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport, handleClient: body)
    }

    /// Loads a copy of `model` on this peer, as a peer's load-local hop would.
    func loadCopy(_ model: String) async throws -> TestHTTP.Reply {
        try await TestHTTP.send(.POST, url + "/v2/repository/models/\(model)/load", headers: [("mm-hop", "load-local")])
    }
}

/// Options that let a test send and receive large messages.
func largeMessages(timeout: Duration? = nil) -> CallOptions {
    var options = CallOptions.defaults
    options.maxRequestMessageBytes = 64 << 20
    options.maxResponseMessageBytes = 64 << 20
    options.timeout = timeout
    return options
}

/// What a ModelInfer call answered: the response or the status, and the initial metadata.
struct GRPCInferResult: Sendable {
    var response: InferenceResponse?
    var error: RPCError?
    var servedBy: String?

    var output: [Float] { response?.outputs.first?.floatValues() ?? [] }
}

extension GRPCTestClient {
    var inference: Inference_GRPCInferenceService.Client<HTTP2ClientTransport.Posix> { .init(wrapping: self) }
    var management: Mmesh_ModelMesh.Client<HTTP2ClientTransport.Posix> { .init(wrapping: self) }

    /// ModelInfer with one FP32 vector named INPUT0 (the synthetic models' input).
    func infer(_ model: String, _ values: [Float] = [1, 2, 3], raw: Bool = true, id: String? = nil,
               metadata: Metadata = [:], timeout: Duration? = nil) async throws -> GRPCInferResult {
        let request = InferenceRequest(id: id, inputs: [Tensor(name: "INPUT0", shape: [values.count], floats: values)])
        return try await infer(Inference_ModelInferRequest(request, modelName: model, raw: raw), metadata: metadata, timeout: timeout)
    }

    func infer(_ message: Inference_ModelInferRequest, metadata: Metadata = [:], timeout: Duration? = nil) async throws -> GRPCInferResult {
        try await inference.modelInfer(request: ClientRequest(message: message, metadata: metadata), options: largeMessages(timeout: timeout)) { response in
            let servedBy = response.metadata[stringValues: "mm-served-by"].first(where: { _ in true })
            switch response.accepted {
            case .success(let contents):
                return GRPCInferResult(response: try InferenceResponse(protobuf: try contents.message.get()), error: nil, servedBy: servedBy)
            case .failure(let error):
                return GRPCInferResult(response: nil, error: error, servedBy: error.metadata[stringValues: "mm-served-by"].first(where: { _ in true }))
            }
        }
    }

    /// Sends `bytes` as the ModelInfer message, whatever they are.
    func inferRaw(_ bytes: [UInt8], metadata: Metadata = [:]) async throws -> Result<[UInt8], RPCError> {
        try await unary(
            request: ClientRequest(message: bytes, metadata: metadata), descriptor: Inference_GRPCInferenceService.Method.ModelInfer.descriptor,
            serializer: RawMessageSerializer(), deserializer: RawMessageDeserializer(role: "response"), options: largeMessages()
        ) { response in
            response.accepted.flatMap { $0.message }
        }
    }
}

/// The status code a call failed with, or nil if it succeeded.
func code<T>(_ body: () async throws -> T) async -> RPCError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

/// The error a call failed with, or nil if it succeeded.
func rpcError<T>(_ body: () async throws -> T) async -> RPCError? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(code: .unknown, message: "\(error)")
    }
}

extension Metadata {
    static func header(_ name: String, _ value: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString(value, forKey: name)
        return metadata
    }
}

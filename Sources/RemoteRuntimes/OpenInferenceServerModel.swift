import MeshCore
import ModelRuntimes
import OpenInference

/// A model loaded in an Open Inference server: requests are relayed to the server's REST
/// endpoint, and its errors come back as the mesh's.
struct OpenInferenceServerModel: LoadedModel {
    let id: ModelID
    let runtime: OpenInferenceServerRuntime
    /// Which load it came from: after a restart, or once a later load of the model replaced it,
    /// its unload is not sent.
    let stamp: OpenInferenceServerRuntime.LoadStamp
    let sizeBytes: Int64
    let metadata: ModelMetadata

    func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        let body = RESTEncoding.request(request)
        let path = "/v2/models/\(id.rawValue)/infer"
        let reply: ServerHTTP.Reply
        do {
            reply = try await runtime.http.send(.POST, path, body: body.bytes, timeout: .seconds(3600))
        } catch {
            throw runtime.mapped(error, doing: "run \(id)")
        }
        switch reply.status {
        case 200..<300:
            do {
                return try RESTDecoding.response(reply.body)
            } catch {
                throw MeshError.internalError("\(runtime.http.label) answered \(id) with a response the mesh cannot read: \(error.message)")
            }
        case 400, 422:
            throw MeshError.invalidArgument("\(id): \(reply.message)")
        case 404:
            // The server lost the model (restarted between checks, or unloaded behind the peer's back).
            throw ModelGoneFromRuntime(model: id, description: "\(runtime.http.label) no longer holds \(id): \(reply.message)")
        default:
            throw MeshError.internalError("\(runtime.http.label) failed to run \(id) (HTTP \(reply.status)): \(reply.message)")
        }
    }

    func unload() async {
        await runtime.unload(id, stamp: stamp)
    }
}

extension ModelMetadata {
    /// Reads an Open Inference server's `GET /v2/models/{m}` answer; tensors it declares with a
    /// datatype this mesh does not know are left out (nil when the answer is not metadata).
    init?(serverJSON json: JSONValue, name: String) {
        guard case .object = json else { return nil }
        func tensors(_ key: String) -> [TensorMetadata] {
            (json[key]?.arrayValue ?? []).compactMap { element in
                guard let tensorName = element["name"]?.stringValue, let datatype = element["datatype"]?.stringValue.flatMap(DataType.init(rawValue:)),
                      let shape = element["shape"]?.arrayValue?.compactMap({ $0.int64Value.map(Int.init) }) else { return nil }
                return TensorMetadata(name: tensorName, datatype: datatype, shape: shape)
            }
        }
        self.init(name: name, versions: (json["versions"]?.arrayValue ?? []).compactMap(\.stringValue),
                  platform: json["platform"]?.stringValue ?? "", inputs: tensors("inputs"), outputs: tensors("outputs"))
    }
}

import MeshCore
import ModelRuntimes
import NIOCore
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
        let answer = try await run(RESTEncoding.request(request).bytes)
        do {
            return try RESTDecoding.response(answer)
        } catch {
            throw unreadable(error.message)
        }
    }

    func relay(json: [UInt8]) async throws -> [UInt8]? {
        try Self.checkedJSON(try await run(json), unreadable: unreadable)
    }

    var relaysFromEventLoop: Bool { true }

    func relay(json: ByteBuffer, on loop: any EventLoop, then completion: @escaping @Sendable (Result<ByteBuffer, any Error>) -> Void) {
        runtime.http.send(.POST, inferPath, body: Array(buffer: json), timeout: Self.inferTimeout, on: loop) { replied in
            completion(Result {
                let reply = try replied.mapError { runtime.mapped($0, doing: "run \(id)") }.get()
                return ByteBuffer(bytes: try Self.checkedJSON(try answer(reply), unreadable: unreadable))
            })
        }
    }

    /// Passed on unread, an answer must at least be a JSON object (after JSON's white space),
    /// not some proxy's page.
    private static func checkedJSON(_ answer: [UInt8], unreadable: (String) -> MeshError) throws -> [UInt8] {
        guard answer.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") else {
            throw unreadable("the body is not a JSON object")
        }
        return answer
    }

    private var inferPath: String { "/v2/models/\(id.rawValue)/infer" }
    private static let inferTimeout: Duration = .seconds(3600)

    /// Sends an Open Inference JSON request for this model; returns the server's answer on
    /// success and its failure as the mesh's error.
    private func run(_ json: [UInt8]) async throws -> [UInt8] {
        let reply: ServerHTTP.Reply
        do {
            reply = try await runtime.http.send(.POST, inferPath, body: json, timeout: Self.inferTimeout)
        } catch {
            throw runtime.mapped(error, doing: "run \(id)")
        }
        return try answer(reply)
    }

    /// The server's answer to an inference request: its body on success, its failure as the
    /// mesh's error.
    private func answer(_ reply: ServerHTTP.Reply) throws -> [UInt8] {
        switch reply.status {
        case 200..<300:
            return reply.body
        case 400, 422:
            throw MeshError.invalidArgument("\(id): \(reply.message)")
        case 404:
            // The server lost the model (restarted between checks, or unloaded behind the peer's back).
            throw ModelGoneFromRuntime(model: id, description: "\(runtime.http.label) no longer holds \(id): \(reply.message)")
        default:
            throw MeshError.internalError("\(runtime.http.label) failed to run \(id) (HTTP \(reply.status)): \(reply.message)")
        }
    }

    private func unreadable(_ problem: String) -> MeshError {
        MeshError.internalError("\(runtime.http.label) answered \(id) with a response the mesh cannot read: \(problem)")
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

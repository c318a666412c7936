import Hummingbird
import HTTPTypes
import Logging
import MeshCore
import ModelRuntimes
import NIOCore
import OpenInference

/// The "direct" baseline: the synthetic runtime behind the same HTTP server (Hummingbird, same
/// settings as a peer) and the same Open Inference codec as a peer, with nothing of the mesh in
/// between: no registry lookup, routing decision, copy bookkeeping, metrics or hop headers.
/// A local hit through a peer minus this is what the mesh adds. With a gRPC port it also serves
/// `ModelInfer` there (``DirectGRPCService``).
public enum DirectServer {
    /// Serves `POST /v2/models/{m}/infer` for one model loaded from `modelFile` until cancelled.
    public static func run(host: String, port: Int, grpcPort: Int? = nil, model name: String, modelFile: String) async throws {
        let id = try ModelID(name)
        let model = try await SyntheticRuntime().load(ModelSource(id: id, type: SyntheticRuntime.modelType, path: modelFile))
        let router = Router(context: BasicRequestContext.self)
        router.get("/v2/health/ready") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"ready":true}"#)))
        }
        // Also an OTLP/HTTP sink, for the traced mesh of the latency benchmark: takes each
        // export and answers as a collector does.
        router.post("/v1/traces") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 64 << 20)
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: ResponseBody())
        }
        router.post("/v2/models/:model/infer") { request, context -> Response in
            guard context.parameters.get("model") == name else {
                return reply(MeshError.notFound("model is not served here"))
            }
            do {
                let body = try await request.body.collect(upTo: 64 << 20)
                let jsonLength = request.headers[HTTPField.Name("inference-header-content-length")!].flatMap(Int.init)
                let decoded = try RESTDecoding.request(Array(body.readableBytesView), jsonLength: jsonLength)
                var response = try await model.infer(decoded)
                response.modelName = name
                if response.id == nil { response.id = decoded.id }
                let encoded = RESTEncoding.response(response, for: decoded)
                var headers: HTTPFields = [.contentType: encoded.jsonLength == nil ? "application/json" : "application/octet-stream"]
                if let length = encoded.jsonLength { headers[HTTPField.Name("inference-header-content-length")!] = String(length) }
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: encoded.bytes)))
            } catch let error as MeshError {
                return reply(error)
            }
        }
        var logger = Logger(label: "direct-server")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "direct"),
                              logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let grpcPort {
                let (server, transport) = DirectGRPCService.server(host: host, port: grpcPort, name: name, model: model)
                group.addTask { try await server.serve() }
                // Listening before REST answers, so REST's readiness covers both.
                _ = try await transport.listeningAddress
                group.addTask {
                    try await app.runService()
                    server.beginGracefulShutdown()
                }
            } else {
                try await app.runService()
            }
            try await group.waitForAll()
        }
    }

    static func reply(_ error: MeshError) -> Response {
        Response(status: HTTPResponse.Status(code: error.httpStatus), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.jsonBody)))
    }
}

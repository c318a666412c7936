import Hummingbird
import Logging
import MeshCore
import NIOCore
import OpenInference

/// The Open Inference Protocol v2 REST routes, with the model repository extension.
struct DataPlaneRoutes {
    let node: PeerNode

    func register(on router: Hummingbird.Router<MeshRequestContext>) {
        router.get("/v2") { _, _ in
            HTTPReply.json(200, RESTEncoding.serverMetadata(node.serverMetadata)).response
        }
        router.get("/v2/health/live") { _, _ in
            HTTPReply.json(200, Array(#"{"live":true}"#.utf8), headers: [
                (MeshHeaders.peerID, node.peerID.rawValue), (MeshHeaders.instance, node.membership.record.instance),
            ]).response
        }
        router.get("/v2/health/ready") { _, _ in
            let ready = node.isReady
            return HTTPReply.json(ready ? 200 : 503, Array((ready ? #"{"ready":true}"# : #"{"ready":false}"#).utf8),
                                  headers: [(MeshHeaders.peerID, node.peerID.rawValue)]).response
        }
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            router.get(RouterPath(prefix)) { request, context in
                await node.handle(route: "metadata", request: request, context: context) { name, _, hop in
                    let call = RESTMetadataCall(forwarder: node.forwarder, peerID: node.peerID)
                    return try await node.router.route(call, name: name, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
                }
            }
            router.get(RouterPath(prefix + "/ready")) { request, context in
                await node.handle(route: "ready", request: request, context: context) { name, _, hop in
                    let model = try await node.router.resolve(name)
                    let call = RESTLoadCall(forwarder: node.forwarder, peerID: node.peerID)
                    do {
                        _ = try await node.router.route(call, model: model, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
                    } catch let error as MeshError where error.kind == .unavailable {
                        return (model, .json(503, Self.readiness(name, false, error.message)))
                    }
                    return (model, .json(200, Self.readiness(name, true, nil)))
                }
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in
                await node.handle(route: "infer", request: request, context: context) { name, request, hop in
                    let headers = request.headers
                    return try await Self.infer(name, hop: hop, header: { headers.value($0) }, node: node) { limit in
                        try await request.collectBody(limit: limit)
                    }
                }
            }
        }
        router.post("/v2/repository/index") { request, context in
            await node.handle(route: "repository_index", request: request, context: context, modelParameter: nil) { _, request, _ in
                let body = try await request.collectBody(limit: 1 << 20)
                let readyOnly = try Self.indexReadyOnly(Array(body.readableBytesView))
                return (nil, .json(200, try await node.repositoryIndex(readyOnly: readyOnly)))
            }
        }
        router.post("/v2/repository/models/:model/load") { request, context in
            await node.handle(route: "repository_load", request: request, context: context) { name, _, hop in
                let call = RESTLoadCall(forwarder: node.forwarder, peerID: node.peerID)
                return try await node.router.route(call, name: name, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
            }
        }
        router.post("/v2/repository/models/:model/unload") { request, context in
            await node.handle(route: "repository_unload", request: request, context: context) { name, _, _ in
                let model = try await node.router.resolve(name)
                let removed = try await node.unloadEverywhere(model)
                return (model, .json(200, Array(#"{"unloaded_copies":\#(removed)}"#.utf8)))
            }
        }
    }

    static func readiness(_ name: String, _ ready: Bool, _ error: String?) -> [UInt8] {
        var members: [(String, JSONValue)] = [("name", .string(name)), ("ready", .bool(ready))]
        if let error { members.append(("error", .string(error))) }
        var writer = JSONWriter()
        writer.write(.object(members))
        return writer.bytes
    }

    /// The `ready` flag of a repository index request: no body, or an object whose `ready`, when
    /// present, is a boolean.
    static func indexReadyOnly(_ body: [UInt8]) throws(MeshError) -> Bool {
        guard !body.isEmpty else { return false }
        let json = try RESTDecoding.json(body)
        guard case .object = json else { throw .invalidArgument("the repository index request must be a JSON object") }
        guard let ready = json["ready"] else { return false }
        guard let value = ready.boolValue else { throw .invalidArgument("\"ready\" must be true or false, not \(ready.kindName)") }
        return value
    }

    /// Runs an inference request: its body is read by `collect` (given the size limit) with the
    /// memory it may take reserved, then the call is routed. Shared by the router's infer routes
    /// and ``InferFastPath``.
    static func infer(
        _ name: String, hop: HopContext, header: (String) -> String?, node: PeerNode,
        collect: (Int) async throws -> ByteBuffer
    ) async throws -> (ModelID, HTTPReply) {
        let limit = node.configuration.maxBodyBytes
        // The body stays in memory until the request is answered: reserve it for that long.
        let reservation = min(header("content-length").flatMap(Int.init) ?? limit, limit)
        return try await node.bodyBudget.withReservation(reservation) {
            let body = try await collect(limit)
            let jsonLength = try Self.jsonLength(header("inference-header-content-length"))
            let call = RESTInferCall(body: body, jsonLength: jsonLength, contentType: header("content-type"),
                                     forwarder: node.forwarder, metrics: node.metrics, peerID: node.peerID,
                                     atMostOnce: MeshHeaders.asksAtMostOnce(header(MeshHeaders.atMostOnce)))
            return try await node.router.route(call, name: name, hop: hop.hop, excluded: hop.excluded, deadline: hop.deadline)
        }
    }

    static func jsonLength(_ text: String?) throws(MeshError) -> Int? {
        guard let text else { return nil }
        guard let length = Int(text), length >= 0 else {
            throw .invalidArgument("Inference-Header-Content-Length must be a non-negative integer, not \"\(TextLimit.clip(text))\"")
        }
        return length
    }
}

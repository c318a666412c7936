import EtcdGateway
import Foundation
import Hummingbird
import MeshCore
import NIOCore
import OpenInference

/// `/v1`: register, list, inspect and unregister models; list peers; show placement.
struct ManagementRoutes {
    let node: PeerNode

    func register(on router: Hummingbird.Router<BasicRequestContext>) {
        router.get("/v1/models") { request, context in
            await node.handle(route: "list_models", request: request, context: context, modelParameter: nil) { _, request, _ in
                let limit = min(request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 100, 10_000)
                guard limit > 0 else { throw InferenceError.invalidArgument("limit must be positive") }
                var after: ModelID?
                if let text = request.uri.queryParameters.get("after") {
                    after = try Self.modelID(text)
                }
                let page = try await node.etcdCall { try await node.store.listModels(after: after, limit: limit) }
                let view = node.mirror.view
                let list = ModelList(
                    models: page.models.map { ModelSummary(id: $0.0, record: $0.1, view: view) },
                    next: page.more ? page.models.last?.0.rawValue : nil
                )
                return (nil, .json(200, try RecordCoding.encode(list)))
            }
        }
        router.post("/v1/models") { request, context in
            await node.handle(route: "register_model", request: request, context: context, modelParameter: nil) { _, request, hop in
                let body = try await request.collectBody(limit: 1 << 20)
                let input: RegisterModelBody
                do {
                    input = try JSONDecoder().decode(RegisterModelBody.self, from: Data(body.readableBytesView))
                } catch {
                    throw InferenceError.invalidArgument("the body is not a valid model registration: \(Self.describe(error))")
                }
                let (id, record) = try node.validateRegistration(input)
                let outcome = try await node.etcdCall { try await node.store.register(id, record) }
                var status = 201
                var registered = record
                switch outcome {
                case .created: status = 201
                case .unchanged(let existing):
                    status = 200
                    registered = existing
                case .conflict(let existing):
                    throw ConflictError(message: "model \(id) is already registered with a different definition (type \(existing.type), storage \(existing.storage?.displayText ?? "none")); unregister it first or use another id")
                }
                if input.loadNow == true {
                    let call = RESTLoadCall(forwarder: node.forwarder, peerID: node.peerID)
                    _ = try await node.router.route(call, model: id, hop: .external, excluded: [], deadline: hop.deadline)
                }
                return (id, .json(status, try RecordCoding.encode(ModelSummary(id: id, record: registered, view: node.mirror.view))))
            }
        }
        router.get("/v1/models/:model") { request, context in
            await node.handle(route: "model_status", request: request, context: context) { name, _, _ in
                let id = try Self.modelID(name)
                return (id, .json(200, try RecordCoding.encode(try await node.status(of: id))))
            }
        }
        router.patch("/v1/models/:model") { request, context in
            await node.handle(route: "update_model", request: request, context: context) { name, request, _ in
                let id = try Self.modelID(name)
                let body = try await request.collectBody(limit: 1 << 20)
                let input: UpdateModelBody
                do {
                    input = try JSONDecoder().decode(UpdateModelBody.self, from: Data(body.readableBytesView))
                } catch {
                    throw InferenceError.invalidArgument("the body is not a valid model update: \(Self.describe(error))")
                }
                let record = try await node.updateModel(id, input)
                return (id, .json(200, try RecordCoding.encode(ModelSummary(id: id, record: record, view: node.mirror.view))))
            }
        }
        router.delete("/v1/models/:model") { request, context in
            await node.handle(route: "unregister_model", request: request, context: context) { name, _, _ in
                let id = try Self.modelID(name)
                switch try await node.etcdCall({ try await node.store.unregister(id) }) {
                case .removed: return (id, .json(200, Array(#"{"status":"removed"}"#.utf8)))
                case .notFound: throw InferenceError.notFound("model \(id) is not registered")
                case .referenced(let count):
                    throw ConflictError(message: "model \(id) is the target of \(count) vmodel\(count == 1 ? "" : "s"); delete or move them first")
                }
            }
        }
        router.get("/v1/peers") { request, context in
            await node.handle(route: "list_peers", request: request, context: context, modelParameter: nil) { _, _, _ in
                (nil, .json(200, try RecordCoding.encode(node.peerList())))
            }
        }
        router.get("/v1/placement") { request, context in
            await node.handle(route: "placement", request: request, context: context, modelParameter: nil) { _, _, _ in
                (nil, .json(200, try RecordCoding.encode(try await node.placement())))
            }
        }
    }

    static func modelID(_ name: String) throws(InferenceError) -> ModelID {
        do { return try ModelID(name) } catch { throw .invalidArgument(error.description) }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "field \"\(path)\" has the wrong type"
        case DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not valid JSON" : "field \"\(path)\": \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}

/// 409: the request conflicts with what is registered.
struct ConflictError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

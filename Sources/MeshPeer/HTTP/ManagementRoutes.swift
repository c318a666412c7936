import Hummingbird
import MeshCore
import NIOCore
import OpenInference

/// `/v1`: register, list, inspect and unregister models; list peers; show placement.
struct ManagementRoutes {
    let node: PeerNode

    func register(on router: Hummingbird.Router<MeshRequestContext>) {
        router.get("/v1/models") { request, context in
            await node.handle(route: "list_models", request: request, context: context, modelParameter: nil) { _, request, _ in
                let (limit, after) = try request.pageQuery(kind: "model id")
                let page = try await node.store.listModels(after: after, limit: limit)
                let view = node.mirror.view
                let list = ModelList(
                    models: page.items.map { ModelSummary(id: $0.0, record: $0.1, view: view) },
                    next: page.more ? page.items.last?.0.rawValue : nil
                )
                return (nil, .json(200, try RecordCoding.encode(list)))
            }
        }
        router.post("/v1/models") { request, context in
            await node.handle(route: "register_model", request: request, context: context, modelParameter: nil) { _, request, hop in
                let input = try await request.decodeJSON(RegisterModelBody.self, what: "model registration")
                let (id, record) = try node.validateRegistration(try input.registration())
                var status = 201
                var registered = record
                switch try await node.store.register(id, record) {
                case .created: status = 201
                case .unchanged(let existing):
                    status = 200
                    registered = existing
                case .conflict(let existing):
                    throw MeshError.alreadyExists("model \(id) is already registered with a different definition (type \(existing.type), storage \(existing.storage?.displayText ?? "none")); unregister it first or use another id")
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
                let id = try MeshError.parseID(name)
                return (id, .json(200, try RecordCoding.encode(try await node.status(of: id))))
            }
        }
        router.patch("/v1/models/:model") { request, context in
            await node.handle(route: "update_model", request: request, context: context) { name, request, _ in
                let id = try MeshError.parseID(name)
                let input = try await request.decodeJSON(UpdateModelBody.self, what: "model update")
                let record = try await node.updateModel(id, input)
                return (id, .json(200, try RecordCoding.encode(ModelSummary(id: id, record: record, view: node.mirror.view))))
            }
        }
        router.delete("/v1/models/:model") { request, context in
            await node.handle(route: "unregister_model", request: request, context: context) { name, _, _ in
                let id = try MeshError.parseID(name)
                switch try await node.store.unregister(id) {
                case .removed: return (id, .json(200, Array(#"{"status":"removed"}"#.utf8)))
                case .notFound: throw MeshError.notFound("model \(id) is not registered")
                case .referenced(let count):
                    throw MeshError.conflict("model \(id) is the target of \(count) vmodel\(count == 1 ? "" : "s"); delete or move them first")
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
}

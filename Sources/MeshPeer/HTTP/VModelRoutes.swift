import Hummingbird
import MeshCore
import NIOCore
import OpenInference

/// `/v1/vmodels`: list, inspect, set and delete vmodels (stable names for concrete models).
struct VModelRoutes {
    let node: PeerNode

    func register(on router: Hummingbird.Router<MeshRequestContext>) {
        router.get("/v1/vmodels") { request, context in
            await node.handle(route: "list_vmodels", request: request, context: context, modelParameter: nil) { _, request, _ in
                let (limit, after) = try request.pageQuery(kind: "vmodel id")
                let page = try await node.store.listVModels(after: after, limit: limit)
                let view = node.mirror.view
                let list = VModelList(
                    vmodels: page.items.map { VModelSummary(id: $0.0, record: $0.1, view: view) },
                    next: page.more ? page.items.last?.0.rawValue : nil
                )
                return (nil, .json(200, try RecordCoding.encode(list)))
            }
        }
        router.get("/v1/vmodels/:model") { request, context in
            await node.handle(route: "vmodel_status", request: request, context: context) { name, _, _ in
                let id = try MeshError.parseID(name, kind: "vmodel id")
                guard let record = try await node.store.vmodel(id).record else {
                    throw MeshError.notFound("vmodel \(id) is not registered")
                }
                return (record.activeModel, .json(200, try RecordCoding.encode(VModelSummary(id: id, record: record, view: node.mirror.view))))
            }
        }
        router.put("/v1/vmodels/:model") { request, context in
            await node.handle(route: "set_vmodel", request: request, context: context) { name, request, hop in
                let id = try MeshError.parseID(name, kind: "vmodel id")
                let input = try await request.decodeJSON(SetVModelBody.self, what: "vmodel definition")
                if let tags = input.tags { try Tags.validate(tags) }
                let setRequest = VModelRules.SetRequest(
                    vmodel: id, owner: input.owner ?? "", target: try MeshError.parseID(input.targetModel),
                    updateOnly: input.updateOnly ?? false, force: input.force ?? false,
                    expectedTarget: try input.expectedTargetModel.map { text throws(MeshError) in try MeshError.parseID(text) },
                    autoDeleteOldModel: input.autoDeleteOldModel, tags: input.tags
                )
                var newTarget: ModelRecord?
                if let model = input.model {
                    if model.loadNow != nil { throw MeshError.invalidArgument("give loadNow on the vmodel, not in its model") }
                    var (_, record) = try node.validateRegistration(try model.registration(defaultID: input.targetModel))
                    record.autoDelete = true
                    newTarget = record
                }
                let outcome = try await node.vmodels.set(setRequest, newTarget: newTarget, options: .init(
                    loadNow: input.loadNow ?? false, sync: input.sync ?? false, deadline: hop.deadline
                ))
                let summary = VModelSummary(id: id, record: outcome.record, view: node.mirror.view)
                return (outcome.record.activeModel, .json(outcome.created ? 201 : 200, try RecordCoding.encode(summary)))
            }
        }
        router.delete("/v1/vmodels/:model") { request, context in
            await node.handle(route: "delete_vmodel", request: request, context: context) { name, request, _ in
                let id = try MeshError.parseID(name, kind: "vmodel id")
                let owner = request.uri.queryParameters.get("owner").map { String($0) } ?? ""
                guard try await node.vmodels.delete(id, owner: owner) else {
                    throw MeshError.notFound("vmodel \(id) is not registered" + (owner.isEmpty ? "" : " with owner \"\(TextLimit.clip(owner))\""))
                }
                return (nil, .json(200, Array(#"{"status":"removed"}"#.utf8)))
            }
        }
    }
}

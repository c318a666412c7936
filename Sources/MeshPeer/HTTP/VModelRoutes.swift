import Foundation
import Hummingbird
import MeshCore
import NIOCore
import OpenInference

/// `/v1/vmodels`: list, inspect, set and delete vmodels (stable names for concrete models).
struct VModelRoutes {
    let node: PeerNode

    func register(on router: Hummingbird.Router<BasicRequestContext>) {
        router.get("/v1/vmodels") { request, context in
            await node.handle(route: "list_vmodels", request: request, context: context, modelParameter: nil) { _, request, _ in
                let limit = min(request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 100, 10_000)
                guard limit > 0 else { throw InferenceError.invalidArgument("limit must be positive") }
                let after = try request.uri.queryParameters.get("after").map { text throws(InferenceError) in try Self.vmodelID(text) }
                let page = try await node.etcdCall { try await node.store.listVModels(after: after, limit: limit) }
                let view = node.mirror.view
                let list = VModelList(
                    vmodels: page.vmodels.map { VModelSummary(id: $0.0, record: $0.1, view: view) },
                    next: page.more ? page.vmodels.last?.0.rawValue : nil
                )
                return (nil, .json(200, try RecordCoding.encode(list)))
            }
        }
        router.get("/v1/vmodels/:model") { request, context in
            await node.handle(route: "vmodel_status", request: request, context: context) { name, _, _ in
                let id = try Self.vmodelID(name)
                guard let record = try await node.etcdCall({ try await node.store.vmodel(id).record }) else {
                    throw InferenceError.notFound("vmodel \(id) is not registered")
                }
                return (record.activeModel, .json(200, try RecordCoding.encode(VModelSummary(id: id, record: record, view: node.mirror.view))))
            }
        }
        router.put("/v1/vmodels/:model") { request, context in
            await node.handle(route: "set_vmodel", request: request, context: context) { name, request, hop in
                let id = try Self.vmodelID(name)
                let body = try await request.collectBody(limit: 1 << 20)
                let input: SetVModelBody
                do {
                    input = try JSONDecoder().decode(SetVModelBody.self, from: Data(body.readableBytesView))
                } catch {
                    throw InferenceError.invalidArgument("the body is not a valid vmodel definition: \(ManagementRoutes.describe(error))")
                }
                let setRequest = VModelRules.SetRequest(
                    vmodel: id, owner: input.owner ?? "", target: try ManagementRoutes.modelID(input.targetModel),
                    updateOnly: input.updateOnly ?? false, force: input.force ?? false,
                    expectedTarget: try input.expectedTargetModel.map { text throws(InferenceError) in try ManagementRoutes.modelID(text) },
                    autoDeleteOldModel: input.autoDeleteOldModel
                )
                do {
                    let outcome = try await node.vmodels.set(setRequest, newTarget: nil, options: .init(
                        loadNow: input.loadNow ?? false, sync: input.sync ?? false, deadline: hop.deadline
                    ))
                    let summary = VModelSummary(id: id, record: outcome.record, view: node.mirror.view)
                    return (outcome.record.activeModel, .json(outcome.created ? 201 : 200, try RecordCoding.encode(summary)))
                } catch let refusal as VModelRules.Refusal {
                    return (nil, Self.reply(refusal))
                }
            }
        }
        router.delete("/v1/vmodels/:model") { request, context in
            await node.handle(route: "delete_vmodel", request: request, context: context) { name, request, _ in
                let id = try Self.vmodelID(name)
                let owner = request.uri.queryParameters.get("owner").map { String($0) } ?? ""
                guard try await node.vmodels.delete(id, owner: owner) else {
                    throw InferenceError.notFound("vmodel \(id) is not registered" + (owner.isEmpty ? "" : " with owner \"\(TextLimit.clip(owner))\""))
                }
                return (nil, .json(200, Array(#"{"status":"removed"}"#.utf8)))
            }
        }
    }

    /// 404, 409 or 412, each with `{"error": ...}`.
    static func reply(_ refusal: VModelRules.Refusal) -> HTTPReply {
        let status: Int
        switch refusal {
        case .notFound: status = 404
        case .alreadyExists: status = 409
        case .failedPrecondition: status = 412
        }
        return .json(status, InferenceError.invalidArgument(refusal.description).jsonBody)
    }

    static func vmodelID(_ name: String) throws(InferenceError) -> ModelID {
        do { return try ModelID(name) } catch { throw .invalidArgument(error.description.replacingOccurrences(of: "model id", with: "vmodel id")) }
    }
}

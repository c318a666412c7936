import GRPCCore
import MeshCore
import OpenInference

/// How a gRPC data-plane call names its model. As in ModelMesh, the `mm-model-id` or
/// `mm-vmodel-id` header (or its `-bin` form, UTF-8 bytes) identifies the model when present;
/// otherwise the message's own name field does (`model_name`, or `name`), as a model or vmodel id.
enum ModelSelector: Sendable, Equatable {
    case model(String)
    case vmodel(String)
    case name(String)

    /// Reads the selector; `bodyName` is consulted only when no header is set.
    static func from(_ metadata: Metadata, bodyName: () throws(MeshError) -> String) throws(MeshError) -> ModelSelector {
        let models = values(MeshHeaders.modelID, in: metadata)
        let vmodels = values(MeshHeaders.vmodelID, in: metadata)
        if !models.isEmpty && !vmodels.isEmpty {
            throw .invalidArgument("give \(MeshHeaders.modelID) or \(MeshHeaders.vmodelID), not both")
        }
        for (header, list) in [(MeshHeaders.modelID, models), (MeshHeaders.vmodelID, vmodels)] where !list.isEmpty {
            guard list.count == 1 else { throw .invalidArgument("\(header) names \(list.count) models; this mesh serves one model per request") }
            guard !list[0].isEmpty else { throw .invalidArgument("\(header) is empty") }
        }
        if let model = models.first { return .model(model) }
        if let vmodel = vmodels.first { return .vmodel(vmodel) }
        let name = try bodyName()
        guard !name.isEmpty else {
            throw .invalidArgument("no model given: set the model name in the request, or the \(MeshHeaders.modelID) or \(MeshHeaders.vmodelID) header")
        }
        return .name(name)
    }

    /// The id as given.
    var text: String {
        switch self {
        case .model(let text), .vmodel(let text), .name(let text): return text
        }
    }

    /// The vmodel a selector went through to reach `model`, if any.
    func vmodel(resolvedTo model: ModelID) -> ModelID? {
        switch self {
        case .vmodel(let text): return try? ModelID(text)
        case .name(let text) where text != model.rawValue: return try? ModelID(text)
        default: return nil
        }
    }

    private static func values(_ key: String, in metadata: Metadata) -> [String] {
        Array(metadata[stringValues: key]) + metadata[binaryValues: key + "-bin"].map { String(decoding: $0, as: UTF8.self) }
    }
}

extension RequestRouter {
    /// The concrete model a selector names: a vmodel resolves to its active model.
    func resolve(_ selector: ModelSelector) async throws -> ModelID {
        switch selector {
        case .name(let name):
            return try await resolve(name)
        case .model(let text):
            let id = try MeshError.parseID(text)
            guard try await mirror.model(id) != nil else { throw MeshError.notFound("model \(id) is not registered") }
            return id
        case .vmodel(let text):
            let id = try MeshError.parseID(text, kind: "vmodel id")
            guard let vmodel = try await mirror.vmodel(id) else { throw MeshError.notFound("vmodel \(id) is not registered") }
            return vmodel.activeModel
        }
    }

    /// Resolves `selector` and runs `body` with the model. When the model of a vmodel vanished
    /// meanwhile (a transition has just retired it and this peer's view lags), reads the vmodel
    /// from the store and tries once more with its current model, as ModelMesh does.
    /// A hop names the model its sender chose; it is not resolved (the route declines it if it is
    /// not registered here).
    func withModel<T>(_ selector: ModelSelector, hop: Hop, _ body: (ModelID) async throws -> T) async throws -> T {
        let model = hop == .external ? try await resolve(selector) : try MeshError.parseID(selector.text)
        do {
            return try await body(model)
        } catch let error as MeshError where error.kind == .notFound {
            guard let vmodel = selector.vmodel(resolvedTo: model), let moved = await currentModel(of: vmodel, insteadOf: model) else { throw error }
            return try await body(moved)
        }
    }
}

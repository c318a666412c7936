import MeshCore
import Yams

/// The mesh's own kinds, `Model` and `VModel`, with every registration field.
enum MeshKinds {
    static let apiVersion = "swift-model-mesh/v1"

    static let modelSpecFields: Set<String> = [
        "type", "storageUri", "storage", "sizeHintBytes", "minCopies", "maxCopies", "labels", "scaleUpRequestsPerSecond",
    ]

    static func model(_ document: ManifestReader.Fields, source: ManifestSource) throws(ManifestError) -> DesiredModel {
        let metadata = try ObjectMetadata(document, kind: "Model")
        guard let spec = try document.nested("spec", allowed: modelSpecFields.union(["loadNow"])) else {
            throw document.error("spec", "Model \(metadata.name) has no spec")
        }
        return DesiredModel(id: metadata.name, spec: try modelSpec(spec), tags: metadata.tags,
                            loadNow: try spec.bool("loadNow") ?? false, source: source)
    }

    static func vmodel(_ document: ManifestReader.Fields, source: ManifestSource) throws(ManifestError) -> DesiredVModel {
        let metadata = try ObjectMetadata(document, kind: "VModel")
        guard let spec = try document.nested("spec", allowed: ["targetModel", "model", "owner", "autoDeleteOldModel", "loadNow"]) else {
            throw document.error("spec", "VModel \(metadata.name) has no spec")
        }
        let target: DesiredVModel.Target
        switch (try spec.string("targetModel"), try spec.nested("model", allowed: modelSpecFields)) {
        case (let id?, nil):
            do { _ = try MeshError.parseID(id) } catch { throw spec.error("targetModel", error.message) }
            target = .model(id)
        case (nil, let model?): target = .inline(try modelSpec(model))
        case (.some, .some): throw spec.error("model", "give spec.targetModel or spec.model, not both")
        case (nil, nil): throw document.error("spec", "VModel \(metadata.name) needs spec.targetModel or spec.model")
        }
        return DesiredVModel(
            id: metadata.name, target: target, owner: try spec.string("owner") ?? "",
            autoDeleteOldModel: try spec.bool("autoDeleteOldModel") ?? false, tags: metadata.tags,
            loadNow: try spec.bool("loadNow") ?? false, source: source
        )
    }

    static func modelSpec(_ spec: ManifestReader.Fields) throws(ManifestError) -> ModelSpec {
        let sizeHint = try spec.int("sizeHintBytes")
        return ModelSpec(
            type: try spec.requiredString("type"), storage: try StorageFields.location(spec),
            sizeHintBytes: sizeHint.map { Int64($0) }, minCopies: try spec.int("minCopies") ?? 0, maxCopies: try spec.int("maxCopies"),
            labels: try spec.strings("labels") ?? [], scaleUpRequestsPerSecond: try spec.double("scaleUpRequestsPerSecond")
        )
    }
}

import MeshCore
import Yams

/// KServe's `InferenceService` (ModelMesh deployment mode) and ModelMesh's `Predictor`. Each
/// becomes what ModelMesh's controller makes of it: a vmodel named after the object, over a
/// concrete model `<name>__isvc-<fingerprint>` that is registered and unregistered with it, so
/// that a changed storage is a new model and the vmodel moves to it without a failed request.
enum KServeKinds {
    static let inferenceServiceAPIVersion = "serving.kserve.io/v1beta1"
    static let predictorAPIVersion = "serving.kserve.io/v1alpha1"
    static let deploymentModeAnnotation = "serving.kserve.io/deploymentMode"
    static let secretKeyAnnotation = "serving.kserve.io/secretKey"
    static let owner = "isvc"

    /// The predictor keys of KServe's framework shorthand (`spec.predictor.sklearn`), each the
    /// model format it names.
    static let frameworks: Set<String> = ["sklearn", "xgboost", "lightgbm", "onnx", "tensorflow", "pytorch", "triton", "pmml", "paddle", "huggingface"]

    static func inferenceService(_ document: ManifestReader.Fields, source: ManifestSource) throws(ManifestError) -> DesiredVModel {
        let metadata = try ObjectMetadata(document, kind: "InferenceService")
        guard metadata.annotations[deploymentModeAnnotation] == "ModelMesh" else {
            throw document.error("metadata", "InferenceService \(metadata.name) is not for ModelMesh: the mesh serves only those annotated \(deploymentModeAnnotation): ModelMesh")
        }
        guard let spec = try document.nested("spec", allowed: ["predictor"]),
              let predictor = try spec.nested("predictor", allowed: frameworks.union(["model"])) else {
            throw document.error("spec", "InferenceService \(metadata.name) has no spec.predictor")
        }
        let chosen = predictor.members.keys.sorted()
        guard chosen.count == 1, let key = chosen.first else {
            throw predictor.reader.error(predictor.node, "spec.predictor must hold exactly one of model, \(frameworks.sorted().joined(separator: ", "))")
        }
        let type: String
        let model: ManifestReader.Fields
        let common: Set<String> = ["storageUri", "storage", "runtime", "protocolVersion"]
        if key == "model" {
            model = try predictor.nested("model", allowed: common.union(["modelFormat"]))!
            guard let format = try model.nested("modelFormat", allowed: ["name", "version"]) else {
                throw model.reader.error(model.node, "spec.predictor.model.modelFormat.name is required")
            }
            type = try format.requiredString("name").lowercased()
        } else {
            model = try predictor.nested(key, allowed: common)!
            type = key
        }
        let storage = try StorageFields.location(model, uriKey: metadata.annotations[secretKeyAnnotation],
                                                 allowed: ["key", "path", "parameters", "schemaPath"])
        return DesiredVModel(id: metadata.name, target: .inline(ModelSpec(type: type, storage: storage)), owner: owner,
                             tags: metadata.tags, loadNow: true, source: source)
    }

    static func predictor(_ document: ManifestReader.Fields, source: ManifestSource) throws(ManifestError) -> DesiredVModel {
        let metadata = try ObjectMetadata(document, kind: "Predictor")
        guard let spec = try document.nested("spec", allowed: ["modelType", "runtime", "path", "schemaPath", "storage"]) else {
            throw document.error("spec", "Predictor \(metadata.name) has no spec")
        }
        guard let modelType = try spec.nested("modelType", allowed: ["name", "version"]) else {
            throw document.error("spec", "spec.modelType.name is required")
        }
        let type = try modelType.requiredString("name").lowercased()
        let path = try spec.requiredString("path")
        var location: StorageLocation = .keyed(key: nil, path: path, parameters: [:])
        if let storage = try spec.nested("storage", allowed: ["s3", "persistentVolumeClaim", "key", "path", "parameters"]) {
            if storage.has("persistentVolumeClaim") {
                throw storage.error("persistentVolumeClaim", "spec.storage.persistentVolumeClaim: the mesh reads models from S3, HTTP(S) or the peers' --models-root; mount the claim there and give the path under it")
            }
            if let s3 = try storage.nested("s3", allowed: ["secretKey", "bucket"]) {
                let bucket = try s3.string("bucket")
                location = .keyed(key: try s3.requiredString("secretKey"), path: path, parameters: bucket.map { ["bucket": $0] } ?? [:])
            } else {
                location = .keyed(key: try storage.string("key"), path: try storage.string("path") ?? path,
                                  parameters: try storage.stringMap("parameters") ?? [:])
            }
        }
        do {
            try location.validate()
        } catch {
            throw spec.error("storage", "spec.storage: \(error.description)")
        }
        return DesiredVModel(id: metadata.name, target: .inline(ModelSpec(type: type, storage: location)), owner: owner,
                             tags: metadata.tags, loadNow: true, source: source)
    }
}

import Foundation
import MeshCore
import MeshManifests
import Testing

/// The example manifests in cluster/examples, and the errors a wrong manifest gets.
@Suite struct ManifestParserTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("cluster/examples").path

    func example(_ name: String) throws -> [DesiredObject] {
        let text = try String(contentsOfFile: "\(Self.examples)/\(name)", encoding: .utf8)
        return try ManifestParser.objects(in: text, file: name)
    }

    func vmodel(_ object: DesiredObject?) throws -> DesiredVModel {
        guard case .vmodel(let vmodel)? = object else { throw ManifestError(file: "", line: nil, message: "not a vmodel: \(String(describing: object))") }
        return vmodel
    }

    @Test func kserveQuickStartInferenceServiceBecomesAVModelOverAnInlineModel() throws {
        let objects = try example("sklearn-isvc.yaml")
        #expect(objects.count == 1)
        let vmodel = try vmodel(objects.first)
        #expect(vmodel.id == "example-sklearn-isvc")
        #expect(vmodel.owner == "isvc")
        #expect(vmodel.loadNow)
        #expect(vmodel.target == .inline(ModelSpec(type: "sklearn", storage: .keyed(key: "localMinIO", path: "sklearn/mnist-svm.joblib"))))
        #expect(vmodel.targetModelID.hasPrefix("example-sklearn-isvc__isvc-"))
        #expect(vmodel.targetModelID.count == "example-sklearn-isvc__isvc-".count + 10)
        #expect(vmodel.source.line == 2)
    }

    @Test func storageURIsTakeTheSecretKeyAnnotationAsTheirStorageKey() throws {
        let vmodel = try vmodel(try example("sklearn-isvc-storageuri.yaml").first)
        #expect(vmodel.target == .inline(ModelSpec(type: "sklearn", storage: .uri("s3://modelmesh-example-models/sklearn/mnist-svm.joblib", key: "localMinIO"))))
    }

    @Test func theFrameworkShorthandNamesTheFormatAndLabelsBecomeTags() throws {
        let objects = try example("onnx-isvc.yaml")
        #expect(objects.map(\.id) == ["example-onnx-iris", "example-onnx-iris-uri"])
        let keyed = try vmodel(objects[0])
        #expect(keyed.tags == ["team": "examples"])
        #expect(keyed.target == .inline(ModelSpec(type: "onnx", storage: .keyed(key: "localMinIO", path: "onnx/iris.onnx", parameters: ["bucket": "modelmesh-example-models"]))))
        #expect(try vmodel(objects[1]).target == .inline(ModelSpec(type: "onnx", storage: .uri("s3://modelmesh-example-models/onnx/iris.onnx", key: "localMinIO"))))
    }

    @Test func aPredictorsS3StorageIsAKeyedLocation() throws {
        let vmodel = try vmodel(try example("predictor.yaml").first)
        #expect(vmodel.id == "example-onnx-predictor")
        #expect(vmodel.target == .inline(ModelSpec(type: "onnx", storage: .keyed(key: "localMinIO", path: "onnx/iris.onnx", parameters: ["bucket": "modelmesh-example-models"]))))
    }

    @Test func meshKindsCarryEveryRegistrationField() throws {
        let objects = try example("mesh-models.yaml")
        guard case .model(let model) = objects.first else { Issue.record("first object is not a model"); return }
        #expect(model.id == "iris-v1")
        #expect(model.spec == ModelSpec(type: "onnx", storage: .keyed(key: "localMinIO", path: "onnx/iris.onnx", parameters: ["bucket": "modelmesh-example-models"]),
                                        sizeHintBytes: 1_048_576, minCopies: 1, maxCopies: 2, scaleUpRequestsPerSecond: 200))
        #expect(model.tags == ["team": "examples"])
        let vmodel = try vmodel(objects.last)
        #expect(vmodel.target == .model("iris-v1"))
        #expect(vmodel.targetModelID == "iris-v1")
    }

    @Test func theFingerprintChangesWithTheStorageAndOnlyThen() {
        let a = ModelSpec(type: "onnx", storage: .uri("s3://b/a.onnx"))
        #expect(a.fingerprint == ModelSpec(type: "onnx", storage: .uri("s3://b/a.onnx")).fingerprint)
        #expect(a.fingerprint != ModelSpec(type: "onnx", storage: .uri("s3://b/b.onnx")).fingerprint)
        #expect(a.fingerprint != ModelSpec(type: "onnx", storage: .uri("s3://b/a.onnx", key: "k")).fingerprint)
        #expect(a.fingerprint.count == 10 && a.fingerprint.allSatisfy(\.isHexDigit))
    }

    @Test func listsAndEmptyDocumentsAreRead() throws {
        let text = """
        ---
        apiVersion: v1
        kind: List
        items:
        - apiVersion: swift-model-mesh/v1
          kind: Model
          metadata: {name: a}
          spec: {type: onnx, storageUri: a.onnx}
        - apiVersion: swift-model-mesh/v1
          kind: VModel
          metadata: {name: b}
          spec: {targetModel: a}
        ---
        """
        #expect(try ManifestParser.objects(in: text, file: "list.yaml").map(\.name) == ["model/a", "vmodel/b"])
    }

    @Test(arguments: [
        ("apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: a}\nspec:\n  type: onnx\n  storageUri: a.onnx\n  minCopys: 2\n",
         "m.yaml:7: unknown field spec.minCopys; spec takes labels, loadNow, maxCopies, minCopies, scaleUpRequestsPerSecond, sizeHintBytes, storage, storageUri, type"),
        ("apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n",
         "m.yaml:2: unknown kind Deployment; the mesh applies InferenceService, Predictor, Model, VModel (and List)"),
        ("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: a}\nspec:\n  predictor:\n    sklearn: {storageUri: s3://b/m}\n",
         "m.yaml:3: InferenceService a is not for ModelMesh: the mesh serves only those annotated serving.kserve.io/deploymentMode: ModelMesh"),
        ("apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: a}\nspec:\n  type: onnx\n  minCopies: two\n  storageUri: a.onnx\n",
         "m.yaml:6: spec.minCopies must be a whole number, not \"two\""),
        ("apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: a}\nspec:\n  type: onnx\n  storageUri: ../etc/passwd\n",
         "m.yaml:6: spec: uri contains a '..' segment; storage paths must name the model directly and may not climb out of their storage"),
        ("apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: a/b}\nspec: {type: onnx, storageUri: a.onnx}\n",
         "m.yaml:3: Model name contains '/' at offset 1; allowed are letters, digits, '.', '_' and '-'"),
        ("apiVersion: swift-model-mesh/v1\nkind: VModel\nmetadata: {name: a}\nspec: {}\n",
         "m.yaml:4: VModel a needs spec.targetModel or spec.model"),
        ("apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: a}\nspec: {type: onnx, storageUri: a.onnx\n",
         "m.yaml:5: not valid YAML: did not find expected ',' or '}'"),
        ("apiVersion: serving.kserve.io/v1\nkind: InferenceService\nmetadata: {name: a}\n",
         "m.yaml:1: InferenceService takes apiVersion serving.kserve.io/v1beta1, not serving.kserve.io/v1"),
    ])
    func wrongManifestsAreRefusedWithTheFileAndLine(text: String, message: String) {
        #expect(throws: ManifestError.self) { try ManifestParser.objects(in: text, file: "m.yaml") }
        do {
            _ = try ManifestParser.objects(in: text, file: "m.yaml")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func anIDDeclaredTwiceAcrossFilesIsRefused() {
        let model = "apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: a}\nspec: {type: onnx, storageUri: a.onnx}\n"
        #expect(throws: ManifestError(file: "two.yaml", line: 1, message: "model/a is declared twice (first at one.yaml:1)")) {
            try ManifestParser.objects(in: [("one.yaml", model), ("two.yaml", model)])
        }
    }
}

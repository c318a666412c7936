import Foundation
import MeshCore
import ModelRuntimes
import OpenInference
import Testing

@Suite(.timeLimit(.minutes(5))) struct ONNXRuntimeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ONNXEngineTests/Fixtures").path

    func load(_ name: String) async throws -> any LoadedModel {
        try await ONNXRuntime().load(ModelSource(id: try ModelID(name), type: "onnx", path: "\(Self.fixtures)/\(name).onnx"))
    }

    @Test func servesTheIrisClassifier() async throws {
        let model = try await load("iris-classifier")
        #expect(model.metadata.platform == "onnx_onnxv1")
        #expect(model.metadata.inputs == [TensorMetadata(name: "float_input", datatype: .fp32, shape: [-1, 4])])
        #expect(model.metadata.outputs.map(\.name) == ["output_label", "output_probability"])
        #expect(model.sizeBytes > 0)
        let request = InferenceRequest(id: "r", inputs: [Tensor(name: "float_input", shape: [2, 4], floats: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3])])
        let response = try await model.infer(request)
        #expect(response.id == "r")
        #expect(response.outputs[0].int64Values() == [0, 2])
        let probabilities = try #require(response.outputs[1].floatValues())
        #expect(response.outputs[1].shape == [2, 3])
        #expect(abs(probabilities[0] - 0.982) < 0.01)
        #expect(response.outputs[1].parameters["zipmap_labels"] == .string("0,1,2"))
    }

    @Test func servesTheDiabetesRegressorAndSelectsOutputs() async throws {
        let model = try await load("diabetes-regressor")
        let features: [Float] = [0.0381, 0.0507, 0.0617, 0.0219, -0.0442, -0.0348, -0.0434, -0.0026, 0.0199, -0.0176]
        let response = try await model.infer(InferenceRequest(inputs: [Tensor(name: "float_input", shape: [1, 10], floats: features)],
                                                             outputs: [.init(name: "variable")]))
        let prediction = try #require(response.outputs.first?.floatValues()?.first)
        #expect(abs(prediction - 206.11) < 0.1)
    }

    @Test func wrongInputsNameTheInputAndTheExpectation() async throws {
        let model = try await load("iris-classifier")
        await #expect(throws: MeshError.invalidArgument("input 'float_input' has shape [1, 3] but iris-classifier expects [-1, 4] (-1: any size)")) {
            _ = try await model.infer(InferenceRequest(inputs: [Tensor(name: "float_input", shape: [1, 3], floats: [1, 2, 3])]))
        }
        await #expect(throws: MeshError.invalidArgument("input 'float_input' has datatype FP64 but iris-classifier expects FP32")) {
            _ = try await model.infer(InferenceRequest(inputs: [Tensor(name: "float_input", shape: [1, 4], doubles: [1, 2, 3, 4])]))
        }
    }

    @Test func corruptAndUnsupportedModelsFailToLoadClearly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/iris-classifier.onnx"))
        let truncated = directory.appendingPathComponent("truncated.onnx")
        try original.prefix(original.count / 2).write(to: truncated)
        do {
            _ = try await ONNXRuntime().load(ModelSource(id: try ModelID("t"), type: "onnx", path: truncated.path))
            Issue.record("a truncated model loaded")
        } catch let error as MeshError {
            #expect(error.message.hasPrefix("t: malformed ONNX model"), "\(error.message)")
        }
        let empty = directory.appendingPathComponent("empty-dir")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        await #expect(throws: MeshError.failedPrecondition("no .onnx file in the model directory \(empty.path)")) {
            _ = try await ONNXRuntime().load(ModelSource(id: try ModelID("e"), type: "onnx", path: empty.path))
        }
    }
}

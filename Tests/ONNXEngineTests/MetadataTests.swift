import Foundation
import Testing
@testable import ONNXEngine

@Suite struct MetadataTests {
    @Test func irisClassifierDescribesItsInputsAndOutputs() throws {
        let model = try ONNXModel(contentsOf: try FixtureFile("iris-classifier").modelURL)
        #expect(model.inputs == [TensorInfo(name: "float_input", elementType: .float, shape: [-1, 4])])
        #expect(model.outputs.map(\.name) == ["output_label", "output_probability"])
        #expect(model.outputs[0].elementType == .int64)
        #expect(model.outputs[1].elementType == .float)
        #expect(model.outputs[1].shape == [-1, 3])
        #expect(model.outputs[1].zipMapLabels == .ints([0, 1, 2]))
        #expect(model.opsets["ai.onnx.ml"] != nil)
        #expect(model.producer.hasPrefix("skl2onnx"))
    }

    @Test func wrongElementTypeNamesTheInput() throws {
        let model = try ONNXModel(contentsOf: try FixtureFile("iris-classifier").modelURL)
        let request = ["float_input": try ONNXTensor(shape: [1, 4], doubles: [1, 2, 3, 4])]
        #expect(throws: ONNXError.invalidInput(name: "float_input", detail: "expected element type float, got double")) {
            try model.run(request)
        }
    }

    @Test func wrongShapeNamesTheInputAndTheExpectedShape() throws {
        let model = try ONNXModel(contentsOf: try FixtureFile("iris-classifier").modelURL)
        #expect(throws: ONNXError.invalidInput(name: "float_input", detail: "expected shape [-1, 4], got [1, 5]")) {
            try model.validate(["float_input": try ONNXTensor(shape: [1, 5], floats: [1, 2, 3, 4, 5])])
        }
        #expect(throws: ONNXError.invalidInput(name: "float_input", detail: "expected shape [-1, 4], got [4]")) {
            try model.validate(["float_input": try ONNXTensor(shape: [4], floats: [1, 2, 3, 4])])
        }
    }

    @Test func missingAndUnknownInputsAreReported() throws {
        let model = try ONNXModel(contentsOf: try FixtureFile("iris-classifier").modelURL)
        #expect(throws: ONNXError.invalidInput(name: "float_input", detail: "missing; expected float tensor of shape [-1, 4]")) {
            try model.validate([:])
        }
        let extra = [
            "float_input": try ONNXTensor(shape: [1, 4], floats: [1, 2, 3, 4]),
            "bogus": try ONNXTensor(shape: [1], floats: [1]),
        ]
        #expect(throws: ONNXError.invalidInput(name: "bogus", detail: "the model has no such input (inputs: float_input)")) {
            try model.validate(extra)
        }
    }

    @Test func tensorInitializerChecksElementCount() {
        #expect(throws: ONNXError.invalidTensor("shape [2, 2] needs 4 elements, got 3")) {
            try ONNXTensor(shape: [2, 2], floats: [1, 2, 3])
        }
    }

    @Test func residentBytesCountWeightsAndWorkingBuffers() throws {
        let fixture = try FixtureFile("mlp-784")
        let model = try ONNXModel(contentsOf: fixture.modelURL)
        // 784*128 + 128 + 128*64 + 64 + 64*10 + 10 floats of weights.
        let weights = (784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10) * 4
        #expect(model.weightBytes >= weights)
        #expect(model.weightBytes < weights + weights / 50)  // array capacity rounding
        #expect(model.residentBytes == model.weightBytes)
        let batch = try ONNXTensor(shape: [64, 784], floats: [Float](repeating: 0.5, count: 64 * 784))
        _ = try model.run(["x": batch])
        let afterOne = model.residentBytes
        // Intermediate [64,128], [64,64] and [64,10] tensors, at least.
        #expect(afterOne >= model.weightBytes + 64 * (128 + 64) * 4)
        _ = try model.run(["x": batch])
        #expect(model.residentBytes == afterOne)
    }

    @Test func supportedOperatorListIsComplete() {
        let ops = ONNXModel.supportedOperators
        #expect(ops.count == 31)
        #expect(ops.contains("ai.onnx:Constant"))
        #expect(ops.contains("ai.onnx.ml:ZipMap"))
    }
}

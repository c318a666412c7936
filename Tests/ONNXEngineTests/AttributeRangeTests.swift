import Foundation
import Testing
@testable import ONNXEngine

/// Attribute values that index something (axes, permutations, type codes, counts) are checked
/// at load wherever the graph fixes what they index, with a message naming the value.
@Suite struct AttributeRangeTests {
    /// `op` on a float input of shape `shape` (nil: no declared shape), as the only node.
    static func model(
        _ op: String, _ attributes: [Onnx_AttributeProto], shape: [Int]? = [-1, 4], inputs: Int = 1,
        opset: Int = 13, through relu: Bool = false
    ) throws -> Data {
        var x = ModelBuilder.tensorInfo("x", .float, shape ?? [])
        if shape == nil { x.type.tensorType.clearShape() }
        var nodes = [ModelBuilder.node(op, Array(repeating: relu ? "r" : "x", count: inputs), ["y"], attributes: attributes)]
        if relu { nodes.insert(ModelBuilder.node("Relu", ["x"], ["r"]), at: 0) }
        return try ModelBuilder.model(
            nodes: nodes, inputs: [x], outputs: [ModelBuilder.tensorInfo("y", .float, [-1])], opsets: ["": opset])
    }

    static func loadFailure(_ data: Data) -> String? {
        do {
            _ = try ONNXModel(data: data)
            return nil
        } catch {
            guard case .invalidGraph(let message) = error else { return "other error: \(error)" }
            return message
        }
    }

    @Test func axesOutsideTheInputRankAreRefusedAtLoad() throws {
        let axis = { (value: Int) in ModelBuilder.intAttribute("axis", value) }
        #expect(Self.loadFailure(try Self.model("Softmax", [axis(2)])) == "Softmax: axis 2 is out of range [-2, 2) for an input of rank 2")
        #expect(Self.loadFailure(try Self.model("LogSoftmax", [axis(-3)])) == "LogSoftmax: axis -3 is out of range [-2, 2) for an input of rank 2")
        #expect(Self.loadFailure(try Self.model("ArgMax", [axis(Int(Int64.max))])) == "ArgMax: axis \(Int64.max) is out of range [-2, 2) for an input of rank 2")
        #expect(Self.loadFailure(try Self.model("Concat", [axis(2)], inputs: 2)) == "Concat: axis 2 is out of range [-2, 2) for an input of rank 2")
        // Flatten's axis may equal the rank.
        #expect(Self.loadFailure(try Self.model("Flatten", [axis(3)])) == "Flatten: axis 3 is out of range [-2, 2] for an input of rank 2")
        #expect(Self.loadFailure(try Self.model("Flatten", [axis(2)])) == nil)
        // The rank carries through nodes that keep it.
        #expect(Self.loadFailure(try Self.model("Softmax", [axis(2)], through: true)) == "Softmax: axis 2 is out of range [-2, 2) for an input of rank 2")
        // Squeeze's axes index the input, Unsqueeze's the output (opset 11 takes them as attributes).
        let axes = { (values: [Int64]) in ModelBuilder.intsAttribute("axes", values) }
        #expect(Self.loadFailure(try Self.model("Squeeze", [axes([2])], opset: 11)) == "Squeeze: axes entry 2 is out of range [-2, 2) for an input of rank 2")
        #expect(Self.loadFailure(try Self.model("Unsqueeze", [axes([3])], opset: 11)) == "Unsqueeze: axes entry 3 is out of range [-3, 3) for the output of rank 3")
        #expect(Self.loadFailure(try Self.model("Unsqueeze", [axes([2])], opset: 11)) == nil)
    }

    @Test func axesAreCheckedAtRunWhenOnlyTheRunKnowsTheRank() throws {
        let model = try ONNXModel(data: try Self.model("Softmax", [ModelBuilder.intAttribute("axis", 2)], shape: nil))
        #expect(throws: ONNXError.runtime("Softmax: Softmax: axis 2 is out of range for rank 2")) {
            try model.run(["x": try ONNXTensor(shape: [1, 4], floats: [1, 2, 3, 4])])
        }
    }

    @Test func transposePermutationsAreCheckedAtLoad() throws {
        let perm = { (values: [Int64]) in ModelBuilder.intsAttribute("perm", values) }
        #expect(Self.loadFailure(try Self.model("Transpose", [perm([0, 2])])) == "Transpose: perm entry 2 is out of range [0, 2)")
        #expect(Self.loadFailure(try Self.model("Transpose", [perm([-1, 0])])) == "Transpose: perm entry -1 is out of range [0, 2)")
        #expect(Self.loadFailure(try Self.model("Transpose", [perm([.max, 0])])) == "Transpose: perm entry \(Int64.max) is out of range [0, 2)")
        #expect(Self.loadFailure(try Self.model("Transpose", [perm([1, 1])])) == "Transpose: perm names axis 1 twice")
        #expect(Self.loadFailure(try Self.model("Transpose", [perm([1, 0, 2])])) == "Transpose: perm has 3 entries for an input of rank 2")
        #expect(Self.loadFailure(try Self.model("Transpose", [perm([1, 0])])) == nil)
    }

    @Test func castTargetsOutsideInt32AreRefused() throws {
        let data = try Self.model("Cast", [ModelBuilder.intAttribute("to", 1 << 40)])
        #expect(Self.loadFailure(data) == "Cast: 'to' \(1 << 40) is not an ONNX element type")
    }

    @Test func linearRegressorTargetsMustMatchItsCoefficients() throws {
        for targets in [1 << 40, Int(Int64.max), -1, 0] {
            let data = try ModelBuilder.model(
                nodes: [
                    ModelBuilder.node(
                        "LinearRegressor", ["x"], ["y"], domain: "ai.onnx.ml",
                        attributes: [
                            ModelBuilder.intAttribute("targets", targets),
                            ModelBuilder.floatsAttribute("coefficients", [1, 2, 3, 4]),
                        ])
                ],
                inputs: [ModelBuilder.tensorInfo("x", .float, [-1, 4])],
                outputs: [ModelBuilder.tensorInfo("y", .float, [-1, 1])])
            #expect(Self.loadFailure(data) == "LinearRegressor: targets \(targets) does not match 4 coefficients")
        }
    }
}

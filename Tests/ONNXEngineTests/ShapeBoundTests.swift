import Foundation
import Testing
@testable import ONNXEngine

/// A zero dimension beside huge ones describes no data, yet the strides and partial products
/// of its shape overflow. Such shapes are refused where they enter (model files, requests)
/// and, should one reach a kernel anyway, by the kernel's own checked arithmetic.
@Suite struct ShapeBoundTests {
    static let huge = Int(Int32.max)
    static let zeroBesideHuge = [0, huge, huge, huge]
    static let tooLarge =
        "is negative or too large (at most \(Shapes.maximumElements) elements, counting zero dimensions as one)"

    /// A model applying `node` to the initializer "big" (dimensions `[0, huge, huge, huge]`).
    static func model(_ node: Onnx_NodeProto) throws -> Data {
        try ModelBuilder.model(
            nodes: [node], inputs: [], outputs: [ModelBuilder.tensorInfo("y", .float, [-1])],
            initializers: [ModelBuilder.emptyInitializer("big", dims: zeroBesideHuge.map { Int64($0) })])
    }

    @Test(arguments: [
        ModelBuilder.node("Flatten", ["big"], ["y"], attributes: [ModelBuilder.intAttribute("axis", 3)]),
        ModelBuilder.node("Transpose", ["big"], ["y"]),
        ModelBuilder.node("Softmax", ["big"], ["y"]),
        ModelBuilder.node("ArgMax", ["big"], ["y"], attributes: [ModelBuilder.intAttribute("axis", 3)]),
        ModelBuilder.node("Concat", ["big", "big"], ["y"], attributes: [ModelBuilder.intAttribute("axis", 0)]),
    ])
    func initializersWithAZeroBesideHugeDimensionsAreRefusedAtLoad(_ node: Onnx_NodeProto) throws {
        let shape = "[0, \(Self.huge), \(Self.huge), \(Self.huge)]"
        #expect(throws: ONNXError.malformedModel(
            "tensor big with shape \(shape) is too large (at most \(Shapes.maximumElements) elements, counting zero dimensions as one)")
        ) {
            try ONNXModel(data: try Self.model(node))
        }
    }

    @Test func requestTensorsWithAZeroBesideHugeDimensionsAreRefused() throws {
        #expect(throws: ONNXError.self) { try ONNXTensor(shape: Self.zeroBesideHuge, floats: []) }
        #expect(throws: ONNXError.self) { try ONNXTensor(shape: [0, 1 << 16, 1 << 16], floats: []) }
        // The bound itself is allowed: the extent is 2^31, the element count zero.
        #expect(try ONNXTensor(shape: [0, 1 << 31], floats: []).count == 0)
    }

    /// Kernels check their own products too, so a shape that slipped past the entry checks is
    /// an error, not an overflow trap.
    @Test func kernelsRefuseAZeroBesideHugeDimensions() throws {
        let x = ONNXTensor(unchecked: Self.zeroBesideHuge, .float([]))
        let kernels: [(String, any Kernel, [ONNXTensor?])] = [
            ("Flatten", ReshapeKernel(form: .flatten(axis: 3)), [x]),
            ("Transpose", TransposeKernel(permutation: nil), [x]),
            ("Softmax", SoftmaxKernel(axis: -1, coerceTo2D: false, logarithm: false), [x]),
            ("Softmax (opset < 13)", SoftmaxKernel(axis: 1, coerceTo2D: true, logarithm: false), [x]),
            ("ArgMax", ArgMaxKernel(axis: 3, keepDims: true, selectLast: false), [x]),
            ("Concat", ConcatKernel(axis: 0), [x, x]),
            ("Add", BinaryArithmeticKernel(operation: .add), [x, ONNXTensor(unchecked: [1, 1, 1, 1], .float([1]))]),
            ("Identity", ReshapeKernel(form: .identity), [x]),
        ]
        for (name, kernel, inputs) in kernels {
            var outputs = [ONNXTensor.empty]
            do {
                try kernel.run(inputs, &outputs)
                Issue.record("\(name) accepted shape \(Self.zeroBesideHuge)")
            } catch {
                guard case .runtime(let message) = error, message.contains(Self.tooLarge) else {
                    Issue.record("\(name): unexpected error \(error)")
                    continue
                }
            }
        }
    }

    @Test func reshapeRefusesAResultWithAZeroBesideHugeDimensions() throws {
        var target = Onnx_TensorProto()
        target.name = "shape"
        target.dataType = ElementType.int64.rawValue
        target.dims = [3]
        target.int64Data = [0, 1 << 31, 2]
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Reshape", ["x", "shape"], ["y"], attributes: [ModelBuilder.intAttribute("allowzero", 1)])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [-1, -1])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1, -1, -1])],
            initializers: [target], opsets: ["": 14])
        let model = try ONNXModel(data: data)
        #expect(throws: ONNXError.runtime("Reshape: Reshape: cannot reshape [0, 2147483648] to [0, 2147483648, 2]")) {
            try model.run(["x": try ONNXTensor(shape: [0, 1 << 31], floats: [])])
        }
    }

    @Test func dimensionsBeyondInt32AreRefusedBeforeConversion() throws {
        let initializer = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Relu", ["w"], ["y"])], inputs: [],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1])],
            initializers: [ModelBuilder.emptyInitializer("w", dims: [.max])])
        #expect(throws: ONNXError.malformedModel("tensor w has dimension \(Int64.max) (dimensions are 0 to \(Int32.max))")) {
            try ONNXModel(data: initializer)
        }
        let declared = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Relu", ["x"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [1 << 40])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1])])
        #expect(throws: ONNXError.malformedModel("input x declares dimension \(1 << 40) (dimensions are 0 to \(Int32.max))")) {
            try ONNXModel(data: declared)
        }
    }
}

import Foundation
import Testing
@testable import ONNXEngine

@Suite struct ExecutionTests {
    @Test func concurrentRunsGiveTheSameAnswers() async throws {
        let fixture = try FixtureFile("mlp-classifier")
        let model = try ONNXModel(contentsOf: fixture.modelURL)
        let expected = try model.run(fixture.inputs)
        let inputs = fixture.inputs
        let allEqual = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<50 {
                        guard let out = try? model.run(inputs), out == expected else { return false }
                    }
                    return true
                }
            }
            return await group.allSatisfy { $0 }
        }
        #expect(allEqual)
    }

    @Test func outputsDoNotChangeWhenTheModelRunsAgain() throws {
        let fixture = try FixtureFile("mixed-operators-opset13")
        let model = try ONNXModel(contentsOf: fixture.modelURL)
        let first = try model.run(fixture.inputs)
        let snapshot = first
        var other = fixture.inputs
        other["x"] = try ONNXTensor(shape: [2, 4], floats: [Float](repeating: 3, count: 8))
        _ = try model.run(other)
        #expect(first == snapshot)
    }

    @Test func broadcastingFollowsNumpy() throws {
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Sub", ["a", "b"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("a", .float, [2, 1, 3]), ModelBuilder.tensorInfo("b", .float, [2, 1])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [2, 2, 3])])
        let model = try ONNXModel(data: data)
        let out = try model.run([
            "a": try ONNXTensor(shape: [2, 1, 3], floats: [1, 2, 3, 4, 5, 6]),
            "b": try ONNXTensor(shape: [2, 1], floats: [10, 20]),
        ])
        #expect(out["y"]?.shape == [2, 2, 3])
        #expect(out["y"]?.floats == [-9, -8, -7, -19, -18, -17, -6, -5, -4, -16, -15, -14])
    }

    @Test func integerDivisionByZeroIsAnErrorNotACrash() throws {
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Div", ["a", "b"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("a", .int64, [2]), ModelBuilder.tensorInfo("b", .int64, [2])],
            outputs: [ModelBuilder.tensorInfo("y", .int64, [2])])
        let model = try ONNXModel(data: data)
        #expect(throws: ONNXError.runtime("Div: Div: integer division by zero")) {
            try model.run(["a": try ONNXTensor(shape: [2], int64s: [4, 5]), "b": try ONNXTensor(shape: [2], int64s: [2, 0])])
        }
        let ok = try model.run(["a": try ONNXTensor(shape: [2], int64s: [7, -7]), "b": try ONNXTensor(shape: [2], int64s: [2, 2])])
        #expect(ok["y"]?.int64s == [3, -3])
    }

    @Test func badRuntimeShapesAreErrors() throws {
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("MatMul", ["a", "w"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("a", .float, [-1, -1])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1, 2])],
            initializers: [ModelBuilder.floatInitializer("w", [3, 2], [1, 2, 3, 4, 5, 6])])
        let model = try ONNXModel(data: data)
        #expect(throws: ONNXError.self) { try model.run(["a": try ONNXTensor(shape: [1, 4], floats: [1, 2, 3, 4])]) }
        let out = try model.run(["a": try ONNXTensor(shape: [1, 3], floats: [1, 1, 1])])
        #expect(out["y"]?.floats == [9, 12])
        let empty = try model.run(["a": try ONNXTensor(shape: [0, 3], floats: [])])
        #expect(empty["y"]?.shape == [0, 2])
    }

    @Test func absurdShapesAreErrorsNotOverflowTraps() throws {
        #expect(throws: ONNXError.self) { try ONNXTensor(shape: [1 << 40, 1 << 40, 0], floats: []) }
        #expect(throws: ONNXError.self) { try ONNXTensor(shape: [-1], floats: []) }
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Add", ["a", "b"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("a", .float, [-1, -1, -1]), ModelBuilder.tensorInfo("b", .float, [-1, -1, -1])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1, -1, -1])])
        let model = try ONNXModel(data: data)
        // Each operand is empty, but broadcasting them would give 2^60 rows of nothing.
        let a = try ONNXTensor(shape: [1 << 30, 1, 0], floats: [])
        let b = try ONNXTensor(shape: [1, 1 << 30, 0], floats: [])
        #expect(throws: ONNXError.self) { try model.run(["a": a, "b": b]) }
    }
}

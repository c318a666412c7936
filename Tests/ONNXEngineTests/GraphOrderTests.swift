import Foundation
import Testing
@testable import ONNXEngine

/// Nodes stored out of order are sorted in time linear in the graph's size.
@Suite struct GraphOrderTests {
    /// A chain of `length` Relu nodes, v0 → v1 → … → v`length`, stored last node first.
    static func reversedChain(_ length: Int) -> [Onnx_NodeProto] {
        (0..<length).reversed().map { i in ModelBuilder.node("Relu", ["v\(i)"], ["v\(i + 1)"]) }
    }

    @Test func aLongChainStoredBackwardsLoadsQuickly() throws {
        // Sorting by repeated passes over the pending nodes takes minutes on this chain.
        let length = 40_000
        let data = try ModelBuilder.model(
            nodes: Self.reversedChain(length), inputs: [ModelBuilder.tensorInfo("v0", .float, [2])],
            outputs: [ModelBuilder.tensorInfo("v\(length)", .float, [2])])
        let clock = ContinuousClock()
        var model: ONNXModel?
        let elapsed = try clock.measure { model = try ONNXModel(data: data) }
        #expect(elapsed < .seconds(30), "loading took \(elapsed)")
        let out = try #require(model).run(["v0": try ONNXTensor(shape: [2], floats: [-1, 3])])
        #expect(out["v\(length)"]?.floats == [0, 3])
    }

    @Test func sortedFilesKeepTheirOrder() throws {
        let nodes = Self.reversedChain(3).reversed().map { $0 }
        #expect(try TopologicalOrder.sort(nodes, available: ["v0"]).map(\.output) == nodes.map(\.output))
        #expect(try TopologicalOrder.sort(Self.reversedChain(3), available: ["v0"]).map(\.output) == [["v1"], ["v2"], ["v3"]])
    }

    @Test func aCycleNamesTheFirstNodeLeftWaiting() throws {
        var nodes = Self.reversedChain(3)
        nodes.append(ModelBuilder.node("Relu", ["v3"], ["v0"]))
        #expect(throws: ONNXError.invalidGraph("Relu: input v2 is never produced (or the graph has a cycle)")) {
            try TopologicalOrder.sort(nodes, available: [])
        }
    }
}

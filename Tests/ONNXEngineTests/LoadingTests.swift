import Foundation
import Testing
@testable import ONNXEngine

@Suite struct LoadingTests {
    @Test func unsupportedOperatorsAreAllNamedWithTheirDomain() throws {
        let data = try ModelBuilder.model(
            nodes: [
                ModelBuilder.node("Conv", ["x", "w"], ["c"]),
                ModelBuilder.node("Relu", ["c"], ["r"]),
                ModelBuilder.node("SVMClassifier", ["r"], ["l", "s"], domain: "ai.onnx.ml"),
                ModelBuilder.node("Conv", ["r", "w"], ["c2"]),
            ],
            inputs: [ModelBuilder.tensorInfo("x", .float, [1, 1, 4, 4]), ModelBuilder.tensorInfo("w", .float, [1, 1, 1, 1])],
            outputs: [ModelBuilder.tensorInfo("s", .float, [1, 2])])
        #expect(throws: ONNXError.unsupportedOperators(["ai.onnx.ml:SVMClassifier", "ai.onnx:Conv"])) {
            try ONNXModel(data: data)
        }
    }

    @Test func unknownAttributesAreRefused() throws {
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Relu", ["x"], ["y"], attributes: [ModelBuilder.intAttribute("fancy", 1)])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [-1, 2])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1, 2])])
        #expect(throws: ONNXError.unsupportedFeature(node: "Relu", detail: "attribute fancy")) {
            try ONNXModel(data: data)
        }
    }

    @Test func danglingInputsAndCyclesAreInvalid() throws {
        let dangling = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Add", ["x", "nowhere"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [2])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [2])])
        #expect(throws: ONNXError.self) { try ONNXModel(data: dangling) }
        let cycle = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Relu", ["b"], ["a"]), ModelBuilder.node("Relu", ["a"], ["b"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [2])],
            outputs: [ModelBuilder.tensorInfo("b", .float, [2])])
        do {
            _ = try ONNXModel(data: cycle)
            Issue.record("a cyclic graph loaded")
        } catch {
            guard case .invalidGraph(let message) = error else { Issue.record("wrong error \(error)"); return }
            #expect(message.contains("never produced"))
        }
    }

    @Test func nodesOutOfOrderAreSorted() throws {
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Relu", ["a"], ["b"]), ModelBuilder.node("Neg", ["x"], ["unused"]).with(op: "Sigmoid"), ModelBuilder.node("Add", ["x", "x"], ["a"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [2])],
            outputs: [ModelBuilder.tensorInfo("b", .float, [2])])
        let model = try ONNXModel(data: data)
        let out = try model.run(["x": try ONNXTensor(shape: [2], floats: [-1, 3])])
        #expect(out["b"]?.floats == [0, 6])
    }

    @Test func missingDefaultOpsetIsInvalid() throws {
        let data = try ModelBuilder.model(
            nodes: [ModelBuilder.node("Relu", ["x"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [2])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [2])], opsets: ["ai.onnx.ml": 3])
        #expect(throws: ONNXError.self) { try ONNXModel(data: data) }
    }

    @Test func emptyAndGarbageBytesFailClearly() {
        #expect(throws: ONNXError.malformedModel("the file is empty")) { try ONNXModel(bytes: []) }
        do {
            _ = try ONNXModel(bytes: Array("this is not a model".utf8))
            Issue.record("garbage loaded")
        } catch {
            guard case .malformedModel = error else { Issue.record("wrong error \(error)"); return }
        }
    }

    /// Truncations and bit flips of real models must fail with an error or load a model that
    /// runs (a flip inside a weight is still a valid model), never crash.
    @Test(arguments: ["iris-classifier", "random-forest-classifier", "mixed-operators-opset13", "lightgbm-regressor"])
    func corruptedModelsNeverCrash(_ name: String) throws {
        let fixture = try FixtureFile(name)
        let original = [UInt8](try Data(contentsOf: fixture.modelURL))
        var generator = SplitMix(seed: UInt64(original.count))
        var outcomes = (errors: 0, loaded: 0)
        for trial in 0..<150 {
            var bytes = original
            if trial % 3 == 0 {
                bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
            } else {
                for _ in 0..<(1 + trial % 4) {
                    let index = Int(generator.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(1 << (generator.next() % 8))
                }
            }
            do {
                let model = try ONNXModel(bytes: bytes)
                outcomes.loaded += 1
                _ = try? model.run(fixture.inputs)
            } catch {
                outcomes.errors += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(outcomes.errors > 0)
        #expect(outcomes.errors + outcomes.loaded == 150)
    }

    @Test func modelPathsThatAreNotRegularFilesAreRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Reading a FIFO would wait for a writer forever.
        let pipe = directory.appendingPathComponent("model.onnx")
        #expect(mkfifo(pipe.path, 0o600) == 0)
        for url in [pipe, directory, directory.appendingPathComponent("missing.onnx")] {
            #expect(throws: ONNXError.malformedModel("cannot read \(url.path): missing or not a regular file")) {
                try ONNXModel(contentsOf: url)
            }
        }
    }

    @Test func truncatedFileIsMalformed() throws {
        let fixture = try FixtureFile("iris-classifier")
        let bytes = [UInt8](try Data(contentsOf: fixture.modelURL))
        do {
            _ = try ONNXModel(bytes: Array(bytes.prefix(bytes.count / 2)))
            Issue.record("half a model loaded")
        } catch {
            guard case .malformedModel = error else { Issue.record("wrong error \(error)"); return }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Onnx_NodeProto {
    func with(op: String) -> Onnx_NodeProto {
        var copy = self
        copy.opType = op
        return copy
    }
}

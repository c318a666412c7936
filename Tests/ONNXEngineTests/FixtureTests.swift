import Foundation
import Testing
@testable import ONNXEngine

/// Every fixture model matches onnxruntime's outputs (float tolerance: 1e-4 relative to the
/// expected value, absolute below 1).
@Suite struct FixtureTests {
    @Test func fixturesArePresent() {
        #expect(FixtureFile.names.count >= 30)
        #expect(FixtureFile.names.contains("iris-classifier"))
        #expect(FixtureFile.names.contains("diabetes-regressor"))
    }

    @Test(arguments: FixtureFile.names)
    func matchesOnnxruntime(_ name: String) throws {
        let fixture = try FixtureFile(name)
        let model = try ONNXModel(contentsOf: fixture.modelURL)
        // Twice, so the second run goes through reused buffers.
        for _ in 0..<2 {
            let outputs = try model.run(fixture.inputs)
            #expect(Set(outputs.keys) == Set(fixture.outputs.keys))
            for (outputName, expected) in fixture.outputs {
                let actual = try #require(outputs[outputName])
                let problem = mismatch(actual, expected.tensor, tolerance: fixture.tolerance)
                #expect(problem == nil, "\(name) output \(outputName): \(problem ?? "")")
                let info = model.outputs.first { $0.name == outputName }
                #expect(info?.zipMapLabels == expected.zipMapLabels)
            }
        }
    }

    @Test(arguments: ["iris-classifier", "random-forest-classifier", "mlp-784", "xgboost-regressor"])
    func batchRowsMatchSingleRows(_ name: String) throws {
        let fixture = try FixtureFile(name)
        let model = try ONNXModel(contentsOf: fixture.modelURL)
        let (inputName, batch) = try #require(fixture.inputs.first)
        let rows = batch.shape[0]
        let columns = batch.shape[1]
        let values = try #require(batch.floats)
        let batched = try model.run([inputName: batch])
        for row in 0..<rows {
            let single = try ONNXTensor(shape: [1, columns], floats: Array(values[(row * columns)..<((row + 1) * columns)]))
            let outputs = try model.run([inputName: single])
            for (outputName, tensor) in outputs {
                let full = try #require(batched[outputName])
                let width = tensor.count
                switch (tensor.storage, full.storage) {
                case (.float(let one), .float(let all)):
                    for j in 0..<width { #expect(abs(one[j] - all[row * width + j]) <= 1e-5 * max(1, abs(one[j]))) }
                case (.int64(let one), .int64(let all)):
                    #expect(Array(all[(row * width)..<((row + 1) * width)]) == one)
                default:
                    break
                }
            }
        }
    }
}

import Foundation
import MeshCore
import ModelRuntimes
import OpenInference
import Testing

@Suite(.timeLimit(.minutes(5))) struct SyntheticRuntimeTests {
    func write(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID().uuidString).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func loadsAndComputesADeterministicFunction() async throws {
        let path = try write(#"{"sizeBytes": 4096, "scale": 3, "offset": 0.5}"#)
        let model = try await SyntheticRuntime().load(ModelSource(id: try ModelID("m"), type: "synthetic", path: path))
        #expect(model.sizeBytes == 4096)
        let response = try await model.infer(InferenceRequest(id: "x", inputs: [Tensor(name: "INPUT0", shape: [2], floats: [1, 2])]))
        #expect(response.outputs.first?.floatValues() == [3.5, 6.5])
        #expect(response.id == "x")
        #expect(response.parameters["invocations"] == .int(1))
        let again = try await model.infer(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], floats: [0])]))
        #expect(again.parameters["invocations"] == .int(2))
    }

    @Test func defaultOffsetDependsOnTheModel() async throws {
        let path = try write("{}")
        let a = try await SyntheticRuntime().load(ModelSource(id: try ModelID("a"), type: "synthetic", path: path))
        let b = try await SyntheticRuntime().load(ModelSource(id: try ModelID("b"), type: "synthetic", path: path))
        let input = InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], floats: [0])])
        let outA = try await a.infer(input).outputs[0].floatValues()
        let outB = try await b.infer(input).outputs[0].floatValues()
        #expect(outA == [Float(SyntheticRuntime.defaultOffset(for: try ModelID("a")))])
        #expect(outA != outB)
    }

    @Test func failsToLoadWithTheConfiguredMessage() async throws {
        let path = try write(#"{"failLoad": true, "failMessage": "weights are corrupt"}"#)
        await #expect(throws: MeshError.failedPrecondition("weights are corrupt")) {
            _ = try await SyntheticRuntime().load(ModelSource(id: try ModelID("m"), type: "synthetic", path: path))
        }
    }

    @Test func refusesBadDefinitionsAndInputs() async throws {
        let bad = try write("{not json")
        await #expect(throws: MeshError.self) {
            _ = try await SyntheticRuntime().load(ModelSource(id: try ModelID("m"), type: "synthetic", path: bad))
        }
        await #expect(throws: MeshError.self) {
            _ = try await SyntheticRuntime().load(ModelSource(id: try ModelID("m"), type: "synthetic", path: "/nonexistent/x.json"))
        }
        let model = try await SyntheticRuntime().load(ModelSource(id: try ModelID("m"), type: "synthetic", path: try write("{}")))
        await #expect(throws: MeshError.invalidArgument("input 'INPUT0' has datatype INT64 but m expects FP32")) {
            _ = try await model.infer(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], int64s: [1])]))
        }
        await #expect(throws: MeshError.invalidArgument("input 'INPUT0' has shape [1, 1] but m expects [-1] (-1: any size)")) {
            _ = try await model.infer(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1, 1], floats: [1])]))
        }
    }

    /// `computeMillis` keeps a CPU busy, but no longer than the request's deadline.
    @Test func aComputationStopsAtItsRequestsDeadline() async throws {
        let model = try await SyntheticRuntime().load(ModelSource(id: try ModelID("m"), type: "synthetic", path: try write(#"{"computeMillis": 3600000}"#)))
        // An hour's computation: without the deadline the suite's time limit would end the test.
        await #expect(throws: MeshError.deadlineExceeded("the request's deadline passed while m computed")) {
            try await InferenceThreads.$deadline.withValue(.now + .milliseconds(50)) {
                _ = try await model.infer(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], floats: [1])]))
            }
        }
        let quick = try await SyntheticRuntime().load(ModelSource(id: try ModelID("q"), type: "synthetic", path: try write(#"{"computeMillis": 5, "offset": 0}"#)))
        let answer = try await InferenceThreads.$deadline.withValue(.now + .seconds(60)) {
            try await quick.infer(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], floats: [1])]))
        }
        #expect(answer.outputs.first?.floatValues() == [1])
    }

    @Test func registryFindsRuntimesByType() {
        let registry = RuntimeRegistry([SyntheticRuntime()])
        #expect(registry.runtime(for: "synthetic")?.name == "synthetic")
        #expect(registry.runtime(for: "onnx") == nil)
        #expect(registry.supportedTypes == ["synthetic"])
    }
}

import MeshCore
@testable import MeshPeer
import ModelRuntimes
import OpenInference
import Synchronization

/// A runtime for unit tests of the shell: loads take no files, succeed or fail as told, can be
/// held until released, and every load and unload is counted.
final class TestRuntime: ModelRuntime {
    let name = "test"
    let modelTypes: Set<String> = ["synthetic"]
    let sizeBytes: Int64
    private let state = Mutex(State())

    struct State {
        var loads: [ModelID] = []
        var unloads: [ModelID] = []
        var failing: Set<ModelID> = []
        /// Loads of these models wait until ``release(_:)``.
        var held: [ModelID: Promise<Void>] = [:]
    }

    init(sizeBytes: Int64 = 10 << 20) {
        self.sizeBytes = sizeBytes
    }

    var loads: [ModelID] { state.withLock { $0.loads } }
    var unloads: [ModelID] { state.withLock { $0.unloads } }

    func fail(_ model: ModelID) { state.withLock { _ = $0.failing.insert(model) } }

    /// The next load of `model` waits until ``release(_:)``.
    func hold(_ model: ModelID) { state.withLock { $0.held[model] = Promise() } }

    func release(_ model: ModelID) { state.withLock { $0.held.removeValue(forKey: model) }?.succeed(()) }

    func predictSize(of source: ModelSource) async -> Int64? { nil }

    func load(_ source: ModelSource) async throws -> any LoadedModel {
        let (failing, gate) = state.withLock { state -> (Bool, Promise<Void>?) in
            state.loads.append(source.id)
            return (state.failing.contains(source.id), state.held[source.id])
        }
        try await gate?.wait()
        if failing { throw MeshError.failedPrecondition("\(source.id) is configured to fail") }
        return TestModel(id: source.id, sizeBytes: sizeBytes, runtime: self)
    }

    fileprivate func unloaded(_ model: ModelID) { state.withLock { $0.unloads.append(model) } }
}

/// Answers every request with its own inputs, named after the model.
struct TestModel: LoadedModel {
    let id: ModelID
    let sizeBytes: Int64
    let runtime: TestRuntime

    var metadata: ModelMetadata { ModelMetadata(name: id.rawValue, platform: "test", inputs: [], outputs: []) }

    func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        InferenceResponse(modelName: id.rawValue, outputs: request.inputs)
    }

    func unload() async { runtime.unloaded(id) }
}

/// Files that are always there (the test runtime reads none).
struct NoFiles: ModelFileProvider {
    func files(for model: ModelID, at location: StorageLocation?) async throws -> ModelFilesOnDisk {
        ModelFilesOnDisk(path: "/dev/null", byteCount: 0, fromCache: true, downloadDuration: .zero)
    }

    func release(_ model: ModelID) {}
}

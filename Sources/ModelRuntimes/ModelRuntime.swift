import MeshCore
import OpenInference

/// What a runtime is given to load: the model's identity and type, and its files on local disk.
public struct ModelSource: Sendable {
    public var id: ModelID
    public var type: String
    /// A local file or directory holding the model.
    public var path: String
    public var sizeHintBytes: Int64?

    public init(id: ModelID, type: String, path: String, sizeHintBytes: Int64? = nil) {
        self.id = id
        self.type = type
        self.path = path
        self.sizeHintBytes = sizeHintBytes
    }
}

/// Loads, sizes and unloads models of the types it knows.
///
/// A runtime may run in process (the built-in ones) or drive an external server. The mesh asks
/// it to load a model when a copy is placed on this peer, sends inference requests to the loaded
/// model, and unloads it when the copy is evicted or removed.
public protocol ModelRuntime: Sendable {
    /// A short name for logs and metrics (`synthetic`, `onnx`).
    var name: String { get }
    /// The model types (`ModelRecord.type`) this runtime loads.
    var modelTypes: Set<String> { get }
    /// A conservative size estimate before loading, if the runtime can give one cheaply.
    func predictSize(of source: ModelSource) async -> Int64?
    /// Loads the model; returns when it can serve. Throws ``MeshError`` (`failedPrecondition`) with a
    /// message the user can act on.
    func load(_ source: ModelSource) async throws -> any LoadedModel
}

/// A model ready to serve.
public protocol LoadedModel: Sendable {
    /// Memory the model occupies (weights plus working buffers), for the peer's LRU accounting.
    var sizeBytes: Int64 { get }
    var metadata: ModelMetadata { get }
    /// Runs one request. Bad input throws `MeshError.invalidArgument`.
    func infer(_ request: InferenceRequest) async throws -> InferenceResponse
    /// Releases the model's memory; called once, after the last request finished.
    func unload() async
}

/// The runtimes of a peer, looked up by model type.
public struct RuntimeRegistry: Sendable {
    public private(set) var runtimes: [any ModelRuntime]

    public init(_ runtimes: [any ModelRuntime]) {
        self.runtimes = runtimes
    }

    public func runtime(for type: String) -> (any ModelRuntime)? {
        runtimes.first { $0.modelTypes.contains(type) }
    }

    public var supportedTypes: [String] { runtimes.flatMap(\.modelTypes).sorted() }
}

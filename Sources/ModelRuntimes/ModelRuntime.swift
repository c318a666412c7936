import MeshCore
import NIOCore
import OpenInference

/// What a runtime is given to load: the model's identity and type, and its files on local disk.
public struct ModelSource: Sendable {
    public var id: ModelID
    public var type: String
    /// A local file or directory holding the model.
    public var path: String
    public var sizeHintBytes: Int64?
    /// The bytes of its files on disk (0: unknown).
    public var diskBytes: Int64
    /// ModelMesh's `modelKey`: the storage key, bucket, parameters and disk size as JSON, for
    /// runtimes written for ModelMesh.
    public var key: String

    public init(id: ModelID, type: String, path: String, sizeHintBytes: Int64? = nil, diskBytes: Int64 = 0, key: String = "") {
        self.id = id
        self.type = type
        self.path = path
        self.sizeHintBytes = sizeHintBytes
        self.diskBytes = diskBytes
        self.key = key
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
    /// The model formats (``ModelFormat``: `sklearn`, `onnx:1`) this runtime loads.
    var modelTypes: Set<String> { get }
    /// The runtime pool whose memory its models fill: ``RuntimePool/builtin`` for runtimes in
    /// the peer's process, the server's own for a runtime server.
    var pool: String { get }
    /// Its pool's budget; nil for the built-in pool (the peer's `--memory`).
    var capacityBytes: Int64? { get }
    /// Whether it can load and serve now (a runtime server may be down or starting).
    var isReady: Bool { get }
    /// A conservative size estimate before loading, if the runtime can give one cheaply.
    func predictSize(of source: ModelSource) async -> Int64?
    /// Loads the model; returns when it can serve. Throws ``MeshError`` (`failedPrecondition`) with a
    /// message the user can act on.
    func load(_ source: ModelSource) async throws -> any LoadedModel
}

extension ModelRuntime {
    public var pool: String { RuntimePool.builtin }
    public var capacityBytes: Int64? { nil }
    public var isReady: Bool { true }

    /// Whether it loads models of `type`.
    public func runs(type: String) -> Bool { ModelFormat(type).isRun(byAnyOf: modelTypes) }
}

/// A model ready to serve.
public protocol LoadedModel: Sendable {
    /// Memory the model occupies (weights plus working buffers), for the peer's LRU accounting.
    var sizeBytes: Int64 { get }
    var metadata: ModelMetadata { get }
    /// Runs one request. Bad input throws `MeshError.invalidArgument`.
    func infer(_ request: InferenceRequest) async throws -> InferenceResponse
    /// Runs a request that arrived as Open Inference JSON, which the caller has already read and
    /// checked, by passing `json` itself to the server that runs the model, and returns that
    /// server's JSON answer as it came; nil when no such server runs the model (the caller then
    /// calls ``infer(_:)``). Spares encoding the request again and reading and writing the answer.
    func relay(json: [UInt8]) async throws -> [UInt8]?
    /// Whether the model relays requests without a task, from a caller's event loop
    /// (``relay(json:on:then:)``).
    var relaysFromEventLoop: Bool { get }
    /// ``relay(json:)`` without a task, for a caller on an event loop: the request leaves on a
    /// connection of `loop` and `completion` runs there with the server's answer. Called only
    /// when ``relaysFromEventLoop``.
    func relay(json: ByteBuffer, on loop: any EventLoop, then completion: @escaping @Sendable (Result<ByteBuffer, any Error>) -> Void)
    /// Releases the model's memory; called once, after the last request finished.
    func unload() async
}

extension LoadedModel {
    public func relay(json: [UInt8]) async throws -> [UInt8]? { nil }
    public var relaysFromEventLoop: Bool { false }

    public func relay(json: ByteBuffer, on loop: any EventLoop, then completion: @escaping @Sendable (Result<ByteBuffer, any Error>) -> Void) {
        completion(.failure(MeshError.internalError("this model does not relay requests from an event loop")))
    }
}

/// The runtimes of a peer, looked up by model type.
public struct RuntimeRegistry: Sendable {
    public private(set) var runtimes: [any ModelRuntime]

    public init(_ runtimes: [any ModelRuntime]) {
        self.runtimes = runtimes
    }

    /// The first ready runtime that loads `type`.
    public func runtime(for type: String) -> (any ModelRuntime)? {
        runtimes.first { $0.isReady && $0.runs(type: type) }
    }

    /// Every format some runtime here loads, ready or not.
    public var supportedTypes: [String] { Array(Set(runtimes.flatMap(\.modelTypes))).sorted() }

    /// The pools as the peer publishes them: the built-in one (`builtinCapacity`, when any
    /// built-in runtime is configured) and each runtime server's, with their readiness now.
    public func pools(builtinCapacity: Int64) -> [RuntimePool] {
        var pools: [RuntimePool] = []
        for runtime in runtimes {
            if let index = pools.firstIndex(where: { $0.name == runtime.pool }) {
                pools[index].formats = Array(Set(pools[index].formats).union(runtime.modelTypes)).sorted()
                pools[index].ready = pools[index].ready && runtime.isReady
            } else {
                pools.append(RuntimePool(name: runtime.pool, formats: Array(runtime.modelTypes),
                                         capacityBytes: runtime.capacityBytes ?? builtinCapacity, ready: runtime.isReady))
            }
        }
        return pools
    }
}

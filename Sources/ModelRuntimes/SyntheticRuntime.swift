import Foundation
import MeshCore
import OpenInference

/// A built-in runtime for tests, demos and benchmarks: its models are small JSON documents that
/// say how long a load takes, how much memory the model claims, how slow inference is and how
/// it fails. Inference is a deterministic function of the input, so a test can tell which model
/// answered.
///
/// Model file (every field optional):
/// ```json
/// {"loadMillis": 200, "sizeBytes": 1048576, "inferMillis": 2, "computeMillis": 0, "scale": 2,
///  "offset": 1, "failLoad": false, "failMessage": "weights are corrupt", "allocate": false}
/// ```
/// `OUTPUT0[i] = INPUT0[i] * scale + offset`; `offset` defaults to a number derived from the model
/// id (``defaultOffset(for:)``). `allocate` really allocates `sizeBytes` so resident memory is honest.
/// `inferMillis` waits without using the CPU, as a model served elsewhere would; `computeMillis`
/// keeps a CPU busy for that long, on the ``InferenceThreads``, as a model that computes does.
public struct SyntheticRuntime: ModelRuntime {
    public static let modelType = "synthetic"
    public let name = "synthetic"
    public let modelTypes: Set<String> = [SyntheticRuntime.modelType]
    let compute: InferenceThreads

    public init(compute: InferenceThreads = .caller) {
        self.compute = compute
    }

    public struct Definition: Codable, Sendable, Hashable {
        public var loadMillis: Int = 0
        public var sizeBytes: Int64 = 1 << 20
        public var inferMillis: Int = 0
        public var computeMillis: Int = 0
        public var scale: Double = 1
        public var offset: Double?
        public var failLoad = false
        public var failMessage: String?
        public var allocate = false

        public init(loadMillis: Int = 0, sizeBytes: Int64 = 1 << 20, inferMillis: Int = 0, computeMillis: Int = 0, scale: Double = 1,
                    offset: Double? = nil, failLoad: Bool = false, failMessage: String? = nil, allocate: Bool = false) {
            self.loadMillis = loadMillis
            self.sizeBytes = sizeBytes
            self.inferMillis = inferMillis
            self.computeMillis = computeMillis
            self.scale = scale
            self.offset = offset
            self.failLoad = failLoad
            self.failMessage = failMessage
            self.allocate = allocate
        }

        enum CodingKeys: String, CodingKey { case loadMillis, sizeBytes, inferMillis, computeMillis, scale, offset, failLoad, failMessage, allocate }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            loadMillis = try c.decodeIfPresent(Int.self, forKey: .loadMillis) ?? 0
            sizeBytes = try c.decodeIfPresent(Int64.self, forKey: .sizeBytes) ?? 1 << 20
            inferMillis = try c.decodeIfPresent(Int.self, forKey: .inferMillis) ?? 0
            computeMillis = try c.decodeIfPresent(Int.self, forKey: .computeMillis) ?? 0
            scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? 1
            offset = try c.decodeIfPresent(Double.self, forKey: .offset)
            failLoad = try c.decodeIfPresent(Bool.self, forKey: .failLoad) ?? false
            failMessage = try c.decodeIfPresent(String.self, forKey: .failMessage)
            allocate = try c.decodeIfPresent(Bool.self, forKey: .allocate) ?? false
        }
    }

    /// The offset a model uses when its file does not set one.
    public static func defaultOffset(for model: ModelID) -> Double {
        Double(StableHash.of(model.rawValue) % 1000)
    }

    public func predictSize(of source: ModelSource) async -> Int64? {
        (try? definition(at: source.path))?.sizeBytes
    }

    public func load(_ source: ModelSource) async throws -> any LoadedModel {
        let definition = try definition(at: source.path)
        if definition.loadMillis > 0 { try await Task.sleep(for: .milliseconds(definition.loadMillis)) }
        if definition.failLoad {
            throw MeshError.failedPrecondition(definition.failMessage ?? "synthetic model \(source.id) is configured to fail loading")
        }
        return SyntheticModel(id: source.id, definition: definition, compute: compute)
    }

    func definition(at path: String) throws -> Definition {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            guard let json = entries.filter({ $0.hasSuffix(".json") }).sorted().first else {
                throw MeshError.failedPrecondition("no .json synthetic model definition in directory \(path)")
            }
            file = path + "/" + json
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw MeshError.failedPrecondition("cannot read synthetic model definition \(file)")
        }
        do {
            return try JSONDecoder().decode(Definition.self, from: data)
        } catch {
            throw MeshError.failedPrecondition("synthetic model definition \(file) is not valid: \(error)")
        }
    }
}

/// A loaded synthetic model.
final class SyntheticModel: LoadedModel {
    let id: ModelID
    let definition: SyntheticRuntime.Definition
    let sizeBytes: Int64
    let metadata: ModelMetadata
    let compute: InferenceThreads
    private let cost = ComputeCost()
    private let invocations = Counter()
    private let ballast: [UInt8]

    init(id: ModelID, definition: SyntheticRuntime.Definition, compute: InferenceThreads) {
        self.id = id
        self.definition = definition
        self.compute = compute
        self.sizeBytes = definition.sizeBytes
        self.ballast = definition.allocate ? [UInt8](repeating: 1, count: Int(definition.sizeBytes)) : []
        self.metadata = ModelMetadata(
            name: id.rawValue, platform: "synthetic",
            inputs: [TensorMetadata(name: "INPUT0", datatype: .fp32, shape: [-1])],
            outputs: [TensorMetadata(name: "OUTPUT0", datatype: .fp32, shape: [-1])]
        )
    }

    func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        guard let input = request.input(named: "INPUT0") else {
            throw MeshError.invalidArgument("missing input 'INPUT0' (FP32 [-1]); \(id) takes one FP32 vector named INPUT0")
        }
        try metadata.validate(request)
        guard let values = input.floatValues() else {
            throw MeshError.invalidArgument("input 'INPUT0' must be FP32")
        }
        if definition.inferMillis > 0 { try await Task.sleep(for: .milliseconds(definition.inferMillis)) }
        if definition.computeMillis > 0 {
            let busy = Duration.milliseconds(definition.computeMillis), deadline = InferenceThreads.deadline, id = id
            try await compute.run(inputBytes: request.inputBytes, cost: cost) { try Self.keepBusy(for: busy, until: deadline, model: id) }
        }
        let offset = definition.offset ?? SyntheticRuntime.defaultOffset(for: id)
        let scale = definition.scale
        let output = values.map { Float(Double($0) * scale + offset) }
        let count = invocations.increment()
        return try InferenceResponse(
            modelName: id.rawValue, id: request.id,
            parameters: ["invocations": .int(Int64(count))],
            outputs: [Tensor(name: "OUTPUT0", shape: input.shape, floats: output)]
        ).selecting(request.outputs)
    }

    func unload() async {}

    /// Keeps this thread's CPU busy for `duration`, or until the request's deadline, which ends
    /// the computation with an error: a definition asking for hours cannot hold a thread longer
    /// than a request waits.
    static func keepBusy(for duration: Duration, until deadline: ContinuousClock.Instant?, model: ModelID) throws {
        let end = ContinuousClock.now + duration
        let stop = deadline.map { min($0, end) } ?? end
        while ContinuousClock.now < stop {}
        if stop < end { throw MeshError.deadlineExceeded("the request's deadline passed while \(model) computed") }
    }
}

import Synchronization

/// A thread-safe counter.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}

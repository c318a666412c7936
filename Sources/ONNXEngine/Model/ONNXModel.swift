import Foundation
import SwiftProtobuf
import Synchronization

/// A loaded ONNX model, ready to run.
///
/// Loading parses the protobuf, checks the graph (opset imports, that every value is produced
/// before use, initializers, supported operators and attributes) and compiles it into a plan of
/// typed kernels. Running is thread-safe: concurrent calls each take a workspace from a small
/// pool, and a workspace keeps its intermediate buffers between runs.
public final class ONNXModel: Sendable {
    /// The inputs a request must supply (graph inputs that are not initializers).
    public let inputs: [TensorInfo]
    public let outputs: [TensorInfo]
    /// `producer_name` and `producer_version` from the file, e.g. "skl2onnx 1.20.0".
    public let producer: String
    /// Imported opset versions by domain ("ai.onnx", "ai.onnx.ml", ...).
    public let opsets: [String: Int]

    private let plan: ExecutionPlan
    private let inputsByName: [String: ExecutionPlan.Binding]
    private let idleWorkspaces = Mutex<[Workspace]>([])
    private static let maximumIdleWorkspaces = 8

    /// Loads a model file; external tensor data is resolved relative to its directory.
    public convenience init(contentsOf url: URL) throws(ONNXError) {
        // A FIFO or a device could block the load or never end; only regular files are read.
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.resolvingSymlinksInPath().path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw .malformedModel("cannot read \(url.path): missing or not a regular file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw .malformedModel("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data, baseDirectory: url.deletingLastPathComponent())
    }

    public convenience init(bytes: [UInt8]) throws(ONNXError) {
        try self.init(data: Data(bytes), baseDirectory: nil)
    }

    public convenience init(data: Data) throws(ONNXError) {
        try self.init(data: data, baseDirectory: nil)
    }

    init(data: Data, baseDirectory: URL?) throws(ONNXError) {
        guard !data.isEmpty else { throw .malformedModel("the file is empty") }
        let model: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw .malformedModel("not a valid ONNX protobuf (\(error))")
        }
        var compiler = GraphCompiler(model: model, baseDirectory: baseDirectory)
        let plan = try compiler.compile()
        self.plan = plan
        self.inputs = plan.inputs.map(\.info)
        self.outputs = plan.outputs.map(\.info)
        self.inputsByName = Dictionary(plan.inputs.map { ($0.info.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        self.opsets = try GraphCompiler.opsets(of: model)
    }

    /// Checks request tensors against ``inputs``: every input present, none unknown, element
    /// types equal, ranks equal and fixed dimensions matching.
    public func validate(_ tensors: [String: ONNXTensor]) throws(ONNXError) {
        // Input names are unique, so once every declared input is found, a larger dictionary
        // must hold an unknown name; only then are the names sorted, for a stable message.
        if tensors.count > inputs.count || inputs.contains(where: { tensors[$0.name] == nil }) {
            for name in tensors.keys.sorted() where inputsByName[name] == nil {
                let known = inputs.map(\.name).joined(separator: ", ")
                throw .invalidInput(name: name, detail: "the model has no such input (inputs: \(known))")
            }
        }
        for input in inputs {
            guard let tensor = tensors[input.name] else {
                throw .invalidInput(name: input.name, detail: "missing; expected \(Self.describe(input))")
            }
            try input.check(tensor)
        }
    }

    /// Runs the model. The result holds every graph output by name.
    public func run(_ tensors: [String: ONNXTensor]) throws(ONNXError) -> [String: ONNXTensor] {
        try validate(tensors)
        let workspace = idleWorkspaces.withLock { $0.popLast() } ?? Workspace(plan)
        defer {
            // Let go of the caller's tensors, keep our own buffers for the next run.
            for binding in plan.inputs { workspace.values[binding.slot] = .empty }
            idleWorkspaces.withLock { idle in
                if idle.count < Self.maximumIdleWorkspaces { idle.append(workspace) }
            }
        }
        for binding in plan.inputs {
            // `validate` found every input; a miss here is a bug, reported rather than trapped.
            guard let tensor = tensors[binding.info.name] else {
                throw .invalidInput(name: binding.info.name, detail: "missing")
            }
            workspace.values[binding.slot] = tensor
        }
        try plan.execute(in: workspace)
        var results: [String: ONNXTensor] = [:]
        results.reserveCapacity(plan.outputs.count)
        for binding in plan.outputs {
            results[binding.info.name] = workspace.values[binding.slot]
        }
        for binding in plan.outputs where !workspace.isConstant(binding.slot) {
            // Hand output buffers to the caller outright rather than sharing them.
            workspace.values[binding.slot] = .empty
        }
        return results
    }

    /// Bytes held by the model: weights (initializers, constants, kernel tables) plus the
    /// working buffers of its idle workspaces. Grows after the first runs as buffers reach
    /// their working size, then stays flat.
    public var residentBytes: Int {
        plan.weightBytes + idleWorkspaces.withLock { $0.reduce(0) { $0 + $1.scratchBytes } }
    }

    /// Bytes of weights alone.
    public var weightBytes: Int { plan.weightBytes }

    /// The supported operators as `domain:OpType`.
    public static var supportedOperators: [String] { OperatorRegistry.supportedOperators }

    private static func describe(_ info: TensorInfo) -> String {
        "\(info.elementType) tensor of shape \(info.shape.map(TensorInfo.describe) ?? "any")"
    }
}

import Foundation
import MeshCore
import ONNXEngine
import OpenInference

/// The built-in ONNX runtime: serves ONNX graphs (scikit-learn, XGBoost, LightGBM and small
/// neural networks through their exporters) in process, so one container per pod serves real
/// models. Execution is ``ONNXEngine``'s, on the given ``InferenceThreads``; this adapter maps Open
/// Inference tensors and errors.
public struct ONNXRuntime: ModelRuntime {
    public static let modelType = "onnx"
    public let name = "onnx"
    public let modelTypes: Set<String> = [ONNXRuntime.modelType]
    let compute: InferenceThreads

    public init(compute: InferenceThreads = .caller) {
        self.compute = compute
    }

    /// The weights dominate an ONNX model's memory; the file size is a fair first estimate.
    public func predictSize(of source: ModelSource) async -> Int64? {
        guard let file = try? Self.modelFile(in: source.path),
              let attributes = try? FileManager.default.attributesOfItem(atPath: file),
              let size = attributes[.size] as? NSNumber else { return nil }
        return size.int64Value + (1 << 20)
    }

    public func load(_ source: ModelSource) async throws -> any LoadedModel {
        let file = try Self.modelFile(in: source.path)
        do {
            let model = try ONNXModel(contentsOf: URL(fileURLWithPath: file))
            return ONNXLoadedModel(id: source.id, model: model, compute: compute)
        } catch {
            throw MeshError.failedPrecondition("\(source.id): \(error.description)")
        }
    }

    /// The `.onnx` file at `path`, or the only one inside the directory `path`.
    static func modelFile(in path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MeshError.failedPrecondition("model file \(path) does not exist")
        }
        guard isDirectory.boolValue else { return path }
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasSuffix(".onnx") }.sorted()
        guard candidates.count == 1 else {
            throw MeshError.failedPrecondition(candidates.isEmpty
                ? "no .onnx file in the model directory \(path)"
                : "the model directory \(path) holds several .onnx files (\(candidates.joined(separator: ", "))); keep one")
        }
        return path + "/" + candidates[0]
    }
}

final class ONNXLoadedModel: LoadedModel {
    let id: ModelID
    let model: ONNXModel
    let metadata: ModelMetadata
    let compute: InferenceThreads
    private let cost = ComputeCost()

    init(id: ModelID, model: ONNXModel, compute: InferenceThreads) {
        self.id = id
        self.model = model
        self.compute = compute
        metadata = ModelMetadata(
            name: id.rawValue, platform: "onnx_onnxv1",
            inputs: model.inputs.map(ONNXLoadedModel.metadata),
            outputs: model.outputs.map(ONNXLoadedModel.metadata)
        )
    }

    var sizeBytes: Int64 { Int64(model.residentBytes) }

    func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        try await compute.run(inputBytes: request.inputBytes, cost: cost) { try self.inferNow(request) }
    }

    private func inferNow(_ request: InferenceRequest) throws -> InferenceResponse {
        try metadata.validate(request)
        var inputs: [String: ONNXTensor] = [:]
        for tensor in request.inputs {
            inputs[tensor.name] = try ONNXLoadedModel.engineTensor(tensor)
        }
        let results: [String: ONNXTensor]
        do {
            results = try model.run(inputs)
        } catch {
            switch error {
            case .invalidInput, .invalidTensor: throw MeshError.invalidArgument(error.description)
            default: throw MeshError.internalError("\(id): \(error.description)")
            }
        }
        var outputs: [Tensor] = []
        for info in model.outputs {
            guard let tensor = results[info.name] else { continue }
            var output = ONNXLoadedModel.protocolTensor(tensor, name: info.name)
            // ZipMap's list of {label: probability} maps travels as the [N, C] probability
            // tensor, its column labels in this parameter (comma-separated).
            if let labels = info.zipMapLabels { output.parameters["zipmap_labels"] = .string(ONNXLoadedModel.text(labels)) }
            outputs.append(output)
        }
        return try InferenceResponse(modelName: id.rawValue, id: request.id, outputs: outputs).selecting(request.outputs)
    }

    func unload() async {}

    // MARK: Conversions

    static func metadata(_ info: TensorInfo) -> TensorMetadata {
        TensorMetadata(name: info.name, datatype: dataType(info.elementType), shape: info.shape ?? [-1])
    }

    static func dataType(_ type: ElementType) -> DataType {
        switch type {
        case .float: return .fp32
        case .double: return .fp64
        case .int64: return .int64
        case .int32: return .int32
        case .int16: return .int16
        case .int8: return .int8
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .bool: return .bool
        case .string: return .bytes
        case .float16: return .fp16
        case .bfloat16: return .bf16
        case .complex64, .complex128: return .bytes
        }
    }

    static func engineTensor(_ tensor: Tensor) throws(MeshError) -> ONNXTensor {
        let label = "input '\(tensor.name)'"
        do {
            switch (tensor.datatype, tensor.data) {
            case (.fp32, .raw(let bytes)): return try ONNXTensor(shape: tensor.shape, floats: Tensor.unpack(bytes, as: Float.self))
            case (.fp64, .raw(let bytes)): return try ONNXTensor(shape: tensor.shape, doubles: Tensor.unpack(bytes, as: Double.self))
            case (.int64, .raw(let bytes)): return try ONNXTensor(shape: tensor.shape, int64s: Tensor.unpack(bytes, as: Int64.self))
            case (.int32, .raw(let bytes)): return try ONNXTensor(shape: tensor.shape, int32s: Tensor.unpack(bytes, as: Int32.self))
            case (.bool, .raw(let bytes)): return try ONNXTensor(shape: tensor.shape, bools: bytes.map { $0 != 0 })
            case (.bytes, .bytes(let elements)):
                return try ONNXTensor(shape: tensor.shape, strings: elements.map { String(decoding: $0, as: UTF8.self) })
            default:
                throw MeshError.invalidArgument("\(label) is \(tensor.datatype.rawValue); the ONNX runtime takes FP32, FP64, INT64, INT32, BOOL and BYTES")
            }
        } catch let error as ONNXError {
            throw .invalidArgument("\(label): \(error.description)")
        } catch let error as MeshError {
            throw error
        } catch {
            throw .invalidArgument("\(label): \(error)")
        }
    }

    static func protocolTensor(_ tensor: ONNXTensor, name: String) -> Tensor {
        switch tensor.storage {
        case .float(let values): return Tensor(name: name, shape: tensor.shape, floats: values)
        case .double(let values): return Tensor(name: name, shape: tensor.shape, doubles: values)
        case .int64(let values): return Tensor(name: name, shape: tensor.shape, int64s: values)
        case .int32(let values): return Tensor(name: name, shape: tensor.shape, int32s: values)
        case .bool(let values): return Tensor(name: name, shape: tensor.shape, bools: values)
        case .string(let values): return Tensor(name: name, shape: tensor.shape, strings: values)
        }
    }

    static func text(_ labels: ZipMapLabels) -> String {
        switch labels {
        case .ints(let values): return values.map(String.init).joined(separator: ",")
        case .strings(let values): return values.joined(separator: ",")
        }
    }
}

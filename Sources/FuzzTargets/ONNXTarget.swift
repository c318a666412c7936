import ONNXEngine

/// ONNX model files, loaded as the ONNX runtime loads a downloaded model (parse, graph and
/// attribute checks, compilation), then, when every input is small and fully shaped, run once
/// on zeros as the first request would. Input: the file's bytes.
enum ONNXTarget {
    /// Inputs larger than this are not run: the run is about hostile graphs, not big tensors.
    static let maxRunElements = 4096

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        let model: ONNXModel
        do {
            model = try ONNXModel(bytes: input)
        } catch {
            return .refused("load: \(error)")
        }
        guard let tensors = zeros(for: model.inputs) else { return .accepted }
        do {
            _ = try model.run(tensors)
        } catch {
            return .refused("run: \(error)")
        }
        return .accepted
    }

    /// Zero tensors for every input, or nil when one has an open or large shape or a type the
    /// engine's tensors do not hold.
    static func zeros(for inputs: [TensorInfo]) -> [String: ONNXTensor]? {
        var tensors: [String: ONNXTensor] = [:]
        var total = 0
        for info in inputs {
            guard let shape = info.shape, shape.allSatisfy({ (0...maxRunElements).contains($0) }) else { return nil }
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= maxRunElements else { return nil }
                count = product
            }
            total += count
            guard total <= maxRunElements else { return nil }
            let storage: ONNXTensor.Storage
            switch info.elementType {
            case .float: storage = .float(Array(repeating: 0, count: count))
            case .double: storage = .double(Array(repeating: 0, count: count))
            case .int64: storage = .int64(Array(repeating: 0, count: count))
            case .int32: storage = .int32(Array(repeating: 0, count: count))
            case .bool: storage = .bool(Array(repeating: false, count: count))
            case .string: storage = .string(Array(repeating: "", count: count))
            default: return nil
            }
            guard let tensor = try? ONNXTensor(shape: shape, storage: storage) else { return nil }
            tensors[info.name] = tensor
        }
        return tensors
    }
}

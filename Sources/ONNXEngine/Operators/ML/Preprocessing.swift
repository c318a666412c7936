/// Scaler: `(x - offset) * scale`, per column or with one value for all columns.
struct ScalerKernel: Kernel {
    let offset: [Float]
    let scale: [Float]

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: numericFeatureTypes)
        let offset = try context.attributes.floats("offset") ?? [0]
        let scale = try context.attributes.floats("scale") ?? [1]
        // onnxruntime requires equal lengths (1 for all columns, or one per column).
        guard !offset.isEmpty, offset.count == scale.count else {
            throw context.invalid("offset and scale must be non-empty and of equal length")
        }
        return CompiledNode(ScalerKernel(offset: offset, scale: scale), outputTypes: [.float])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let (rows, columns, values) = try featureRows(x)
        for vector in [offset, scale] where vector.count != 1 && vector.count != columns {
            throw .runtime("Scaler: \(vector.count) coefficients for \(columns) columns")
        }
        let offset = offset
        let scale = scale
        try outputs[0].overwrite(Float.self, shape: x.shape) { dst in
            for r in 0..<rows {
                for c in 0..<columns {
                    let o = offset.count == 1 ? offset[0] : offset[c]
                    let s = scale.count == 1 ? scale[0] : scale[c]
                    dst[r * columns + c] = (values[r * columns + c] - o) * s
                }
            }
        }
    }
}

/// Normalizer: each row divided by its MAX, L1 or L2 norm.
struct NormalizerKernel: Kernel {
    enum Norm: String { case max = "MAX", l1 = "L1", l2 = "L2" }
    let norm: Norm

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: numericFeatureTypes)
        let name = try context.attributes.string("norm", default: "MAX")
        guard let norm = Norm(rawValue: name) else { throw context.unsupported("norm \(name)") }
        return CompiledNode(NormalizerKernel(norm: norm), outputTypes: [.float])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let (rows, columns, values) = try featureRows(x)
        let norm = norm
        try outputs[0].overwrite(Float.self, shape: x.shape) { dst in
            for r in 0..<rows {
                let row = values[(r * columns)..<((r + 1) * columns)]
                let divisor: Float
                switch norm {
                case .max: divisor = row.max() ?? 0
                case .l1: divisor = row.reduce(0) { $0 + abs($1) }
                case .l2: divisor = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                }
                for c in 0..<columns {
                    let v = values[r * columns + c]
                    dst[r * columns + c] = divisor == 0 ? v : v / divisor
                }
            }
        }
    }
}

/// ArrayFeatureExtractor: selects columns (last axis) by index.
struct ArrayFeatureExtractorKernel: Kernel {
    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(2...2)
        let type = try context.inputType(0)
        try context.require(type, in: [.float, .double, .int64, .int32, .string])
        try context.require(try context.inputType(1), in: [.int64], for: "indices")
        return CompiledNode(ArrayFeatureExtractorKernel(), outputTypes: [type])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let indices = try Shapes.intValues(inputs.required(1))
        guard let columns = x.shape.last else { throw .runtime("ArrayFeatureExtractor: input is a scalar") }
        guard !indices.isEmpty, indices.allSatisfy({ $0 >= 0 && $0 < columns }) else {
            throw .runtime("ArrayFeatureExtractor: indices \(indices) out of range for \(columns) columns")
        }
        let rows = columns == 0 ? 0 : x.count / columns
        var shape = x.shape
        shape[shape.count - 1] = indices.count
        if x.shape.count == 1 { shape = [1, indices.count] }
        switch x.storage {
        case .float(let a): try select(a, rows, columns, indices, shape, &outputs[0])
        case .double(let a): try select(a, rows, columns, indices, shape, &outputs[0])
        case .int64(let a): try select(a, rows, columns, indices, shape, &outputs[0])
        case .int32(let a): try select(a, rows, columns, indices, shape, &outputs[0])
        case .string(let a): try select(a, rows, columns, indices, shape, &outputs[0])
        case .bool(let a): try select(a, rows, columns, indices, shape, &outputs[0])
        }
    }

    private func select<T: TensorElement>(
        _ a: [T], _ rows: Int, _ columns: Int, _ indices: [Int], _ shape: [Int], _ out: inout ONNXTensor
    ) throws(ONNXError) {
        try out.overwrite(T.self, shape: shape) { dst in
            for r in 0..<rows {
                for (j, c) in indices.enumerated() { dst[r * indices.count + j] = a[r * columns + c] }
            }
        }
    }
}

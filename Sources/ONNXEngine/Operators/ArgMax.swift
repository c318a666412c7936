/// ArgMax along one axis, producing int64 indices.
struct ArgMaxKernel: Kernel {
    let axis: Int
    let keepDims: Bool
    let selectLast: Bool

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: [.float, .double, .int32, .int64])
        let a = context.attributes
        let kernel = ArgMaxKernel(
            axis: try a.int("axis", default: 0),
            keepDims: try a.int("keepdims", default: 1) != 0,
            selectLast: context.opset >= 12 ? try a.int("select_last_index", default: 0) != 0 : false)
        let rank = context.inputRank(0)
        try context.checkAxis(kernel.axis, rank: rank)
        return CompiledNode(kernel, outputTypes: [.int64], outputRanks: [rank.map { kernel.keepDims ? $0 : $0 - 1 }])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        switch x.storage {
        case .float(let a): try reduce(a, x.shape, &outputs[0])
        case .double(let a): try reduce(a, x.shape, &outputs[0])
        case .int64(let a): try reduce(a, x.shape, &outputs[0])
        case .int32(let a): try reduce(a, x.shape, &outputs[0])
        default: throw .runtime("ArgMax: unexpected input type \(x.elementType)")
        }
    }

    @inline(__always)
    private func reduce<T: TensorElement & Comparable>(_ a: [T], _ shape: [Int], _ out: inout ONNXTensor) throws(ONNXError) {
        let resolved = try Shapes.normalize(axis: axis, rank: shape.count, label: "ArgMax")
        // Checked whole, so no index below (each less than the count) can overflow.
        _ = try Shapes.count(shape)
        let outer = try Shapes.product(shape, axes: 0..<resolved)
        let length = shape[resolved]
        let inner = try Shapes.product(shape, axes: (resolved + 1)..<shape.count)
        guard length > 0 else { throw .runtime("ArgMax: axis \(axis) is empty") }
        var outShape = shape
        if keepDims { outShape[resolved] = 1 } else { outShape.remove(at: resolved) }
        let selectLast = selectLast
        try out.overwrite(Int64.self, shape: outShape) { dst in
            a.withUnsafeBufferPointer { src in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * length * inner + i
                        var best = 0
                        var bestValue = src[base]
                        for j in 1..<length {
                            let v = src[base + j * inner]
                            if v > bestValue || (selectLast && v == bestValue) {
                                best = j
                                bestValue = v
                            }
                        }
                        dst[o * inner + i] = Int64(best)
                    }
                }
            }
        }
    }
}

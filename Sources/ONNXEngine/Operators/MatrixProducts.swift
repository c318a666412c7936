/// Gemm: `alpha * A' * B' + beta * C`, with C broadcast to the result.
struct GemmKernel: Kernel {
    let alpha: Float
    let beta: Float
    let transA: Bool
    let transB: Bool

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(2...3)
        let type = try context.inputType(0)
        try context.require(type, in: [.float, .double])
        guard context.inputTypes.compactMap({ $0 }).allSatisfy({ $0 == type }) else {
            throw context.invalid("inputs must share one type")
        }
        let a = context.attributes
        if context.opset < 7 { _ = try a.int("broadcast") }
        let kernel = GemmKernel(
            alpha: try a.float("alpha", default: 1), beta: try a.float("beta", default: 1),
            transA: try a.int("transA", default: 0) != 0, transB: try a.int("transB", default: 0) != 0)
        return CompiledNode(kernel, outputTypes: [type], outputRanks: [2])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let a = try inputs.required(0)
        let b = try inputs.required(1)
        let c = inputs.optional(2)
        switch (a.storage, b.storage) {
        case (.float(let x), .float(let y)):
            try compute(x, a.shape, y, b.shape, c.map { t throws(ONNXError) in (try t.elements(Float.self), t.shape) }, &outputs[0])
        case (.double(let x), .double(let y)):
            try compute(x, a.shape, y, b.shape, c.map { t throws(ONNXError) in (try t.elements(Double.self), t.shape) }, &outputs[0])
        default:
            throw .runtime("Gemm: unexpected input types")
        }
    }

    @inline(__always)
    private func compute<T: BLASScalar>(
        _ a: [T], _ aShape: [Int], _ b: [T], _ bShape: [Int], _ c: ([T], [Int])?, _ out: inout ONNXTensor
    ) throws(ONNXError) {
        guard aShape.count == 2, bShape.count == 2 else {
            throw .runtime("Gemm: A and B must be matrices, got \(aShape) and \(bShape)")
        }
        let (m, k) = transA ? (aShape[1], aShape[0]) : (aShape[0], aShape[1])
        let (kb, n) = transB ? (bShape[1], bShape[0]) : (bShape[0], bShape[1])
        guard k == kb else { throw .runtime("Gemm: inner dimensions differ (\(aShape) x \(bShape))") }
        var betaForProduct = T(0)
        if let (cValues, cShape) = c, beta != 0 {
            guard cShape.count <= 2, (try? Shapes.broadcast(cShape, [m, n])) == [m, n] else {
                throw .runtime("Gemm: C of shape \(cShape) does not broadcast to [\(m), \(n)]")
            }
            betaForProduct = 1
            let scale = T(beta)
            let strides = try Shapes.broadcastStrides(cShape, to: [m, n])
            try out.overwrite(T.self, shape: [m, n]) { dst in
                for i in 0..<m {
                    for j in 0..<n { dst[i * n + j] = scale * cValues[i * strides[0] + j * strides[1]] }
                }
            }
        }
        let alpha = T(alpha)
        try out.overwrite(T.self, shape: [m, n]) { dst throws(ONNXError) in
            try a.withUnsafeBufferPointer { pa throws(ONNXError) in
                try b.withUnsafeBufferPointer { pb throws(ONNXError) in
                    try matrixMultiply(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                        pa.baseAddress, pb.baseAddress, beta: betaForProduct, dst.baseAddress)
                }
            }
        }
    }
}

/// MatMul with numpy semantics: 1-D operands are promoted, leading batch axes broadcast.
struct MatMulKernel: Kernel {
    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(2...2)
        let type = try context.inputType(0)
        try context.require(type, in: [.float, .double])
        guard try context.inputType(1) == type else { throw context.invalid("inputs must share one type") }
        return CompiledNode(
            MatMulKernel(), outputTypes: [type], outputRanks: [outputRank(context.inputRank(0), context.inputRank(1))])
    }

    /// numpy's rule: a 1-D operand loses its promoted axis again.
    static func outputRank(_ a: Int?, _ b: Int?) -> Int? {
        guard let a, let b, a > 0, b > 0 else { return nil }
        switch (a, b) {
        case (1, 1): return 0
        case (1, _): return b - 1
        case (_, 1): return a - 1
        default: return max(a, b)
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let a = try inputs.required(0)
        let b = try inputs.required(1)
        switch (a.storage, b.storage) {
        case (.float(let x), .float(let y)): try compute(x, a.shape, y, b.shape, &outputs[0])
        case (.double(let x), .double(let y)): try compute(x, a.shape, y, b.shape, &outputs[0])
        default: throw .runtime("MatMul: unexpected input types")
        }
    }

    @inline(__always)
    private func compute<T: BLASScalar>(
        _ a: [T], _ aShape: [Int], _ b: [T], _ bShape: [Int], _ out: inout ONNXTensor
    ) throws(ONNXError) {
        guard !aShape.isEmpty, !bShape.isEmpty else { throw .runtime("MatMul: scalars are not allowed") }
        let aMatrix = aShape.count == 1 ? [1, aShape[0]] : Array(aShape.suffix(2))
        let bMatrix = bShape.count == 1 ? [bShape[0], 1] : Array(bShape.suffix(2))
        let (m, k, n) = (aMatrix[0], aMatrix[1], bMatrix[1])
        guard k == bMatrix[0] else { throw .runtime("MatMul: inner dimensions differ (\(aShape) x \(bShape))") }
        let aBatch = aShape.count > 2 ? Array(aShape.dropLast(2)) : []
        let bBatch = bShape.count > 2 ? Array(bShape.dropLast(2)) : []
        let batch = try Shapes.broadcast(aBatch, bBatch)
        var shape = batch
        if aShape.count > 1 { shape.append(m) }
        if bShape.count > 1 { shape.append(n) }
        let batchCount = try Shapes.count(batch)
        let bIsOneMatrix = try Shapes.count(bBatch) == 1
        try out.overwrite(T.self, shape: shape) { dst throws(ONNXError) in
            // Nothing to write; do not walk a long batch of empty products.
            guard !dst.isEmpty else { return }
            try a.withUnsafeBufferPointer { pa throws(ONNXError) in
                try b.withUnsafeBufferPointer { pb throws(ONNXError) in
                    if bIsOneMatrix && aBatch == batch {
                        // B is one matrix: fold A's batch axes into its rows, one BLAS call.
                        try matrixMultiply(
                            transA: false, transB: false, m: try Shapes.count(aBatch + [m]), n: n, k: k, alpha: 1,
                            pa.baseAddress, pb.baseAddress, beta: 0, dst.baseAddress)
                        return
                    }
                    let aStrides = try Shapes.broadcastStrides(aBatch, to: batch)
                    let bStrides = try Shapes.broadcastStrides(bBatch, to: batch)
                    let batchStrides = try Shapes.strides(batch)
                    for index in 0..<batchCount {
                        var aOffset = 0
                        var bOffset = 0
                        var rest = index
                        for axis in batch.indices {
                            let i = rest / batchStrides[axis]
                            rest %= batchStrides[axis]
                            aOffset += i * aStrides[axis]
                            bOffset += i * bStrides[axis]
                        }
                        try matrixMultiply(
                            transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                            pa.baseAddress.map { $0 + aOffset * m * k }, pb.baseAddress.map { $0 + bOffset * k * n },
                            beta: 0, dst.baseAddress.map { $0 + index * m * n })
                    }
                }
            }
        }
    }
}

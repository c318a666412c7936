/// Softmax and LogSoftmax.
///
/// Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalized over all
/// trailing axes at once; from opset 13 it is normalized along `axis` alone (default -1).
struct SoftmaxKernel: Kernel {
    let axis: Int
    let coerceTo2D: Bool
    let logarithm: Bool

    static func factory(logarithm: Bool) -> KernelFactory {
        { context throws(ONNXError) in
            try context.expectInputs(1...1)
            let type = try context.inputType(0)
            try context.require(type, in: [.float, .double])
            let legacy = context.opset < 13
            let axis = try context.attributes.int("axis", default: legacy ? 1 : -1)
            try context.checkAxis(axis, rank: context.inputRank(0))
            return CompiledNode(
                SoftmaxKernel(axis: axis, coerceTo2D: legacy, logarithm: logarithm), outputTypes: [type],
                outputRanks: [context.inputRank(0)])
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let rank = x.shape.count
        let resolved = try Shapes.normalize(axis: axis, rank: rank, label: logarithm ? "LogSoftmax" : "Softmax")
        // Checked whole, so no index below (each less than the count) can overflow.
        _ = try Shapes.count(x.shape)
        let outer = try Shapes.product(x.shape, axes: 0..<resolved)
        let (length, inner): (Int, Int)
        if coerceTo2D {
            (length, inner) = (try Shapes.product(x.shape, axes: resolved..<rank), 1)
        } else {
            (length, inner) = (x.shape[resolved], try Shapes.product(x.shape, axes: (resolved + 1)..<rank))
        }
        switch x.storage {
        case .float(let a): try normalize(a, x.shape, outer, length, inner, &outputs[0])
        case .double(let a): try normalize(a, x.shape, outer, length, inner, &outputs[0])
        default: throw .runtime("Softmax: unexpected input type \(x.elementType)")
        }
    }

    @inline(__always)
    private func normalize<T: Real & TensorElement>(
        _ a: [T], _ shape: [Int], _ outer: Int, _ length: Int, _ inner: Int, _ out: inout ONNXTensor
    ) throws(ONNXError) {
        let logarithm = logarithm
        try out.overwrite(T.self, shape: shape) { dst in
            a.withUnsafeBufferPointer { src in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * length * inner + i
                        var maximum = -T.infinity
                        for j in 0..<length { maximum = Swift.max(maximum, src[base + j * inner]) }
                        var sum = T(0)
                        for j in 0..<length {
                            let e = T.exp(src[base + j * inner] - maximum)
                            dst[base + j * inner] = e
                            sum += e
                        }
                        if logarithm {
                            let logSum = T.log(sum)
                            for j in 0..<length { dst[base + j * inner] = src[base + j * inner] - maximum - logSum }
                        } else {
                            for j in 0..<length { dst[base + j * inner] /= sum }
                        }
                    }
                }
            }
        }
    }
}

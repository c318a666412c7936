import Foundation

/// Add, Sub, Mul and Div with numpy broadcasting.
struct BinaryArithmeticKernel: Kernel {
    enum Operation: String {
        case add = "Add", sub = "Sub", mul = "Mul", div = "Div"
    }
    let operation: Operation

    static func factory(_ operation: Operation) -> KernelFactory {
        { context throws(ONNXError) in
            try context.expectInputs(2...2)
            let a = try context.inputType(0)
            let b = try context.inputType(1)
            guard a == b else { throw context.invalid("inputs have different types \(a) and \(b)") }
            try context.require(a, in: [.float, .double, .int32, .int64])
            if context.opset < 7 {
                // Opsets 1-6 broadcast only when asked, and `axis` aligns differently from numpy.
                _ = try context.attributes.int("broadcast")
                if context.attributes.has("axis") { throw context.unsupported("legacy broadcast with axis") }
                context.attributes.ignore("consumed_inputs")
            }
            var rank: Int?
            if let ra = context.inputRank(0), let rb = context.inputRank(1) { rank = max(ra, rb) }
            return CompiledNode(BinaryArithmeticKernel(operation: operation), outputTypes: [a], outputRanks: [rank])
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let a = try inputs.required(0)
        let b = try inputs.required(1)
        let shape = try Shapes.broadcast(a.shape, b.shape)
        switch (a.storage, b.storage) {
        case (.float(let x), .float(let y)):
            try floating(x, a.shape, y, b.shape, shape, &outputs[0])
        case (.double(let x), .double(let y)):
            try floating(x, a.shape, y, b.shape, shape, &outputs[0])
        case (.int64(let x), .int64(let y)):
            try integer(x, a.shape, y, b.shape, shape, &outputs[0])
        case (.int32(let x), .int32(let y)):
            try integer(x, a.shape, y, b.shape, shape, &outputs[0])
        default:
            throw .runtime("\(operation.rawValue): unexpected input types \(a.elementType), \(b.elementType)")
        }
    }

    @inline(__always)
    private func floating<T: BinaryFloatingPoint & TensorElement>(
        _ x: [T], _ xShape: [Int], _ y: [T], _ yShape: [Int], _ shape: [Int], _ out: inout ONNXTensor
    ) throws(ONNXError) {
        switch operation {
        case .add: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 + $1 }
        case .sub: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 - $1 }
        case .mul: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 * $1 }
        case .div: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 / $1 }
        }
    }

    @inline(__always)
    private func integer<T: FixedWidthInteger & TensorElement>(
        _ x: [T], _ xShape: [Int], _ y: [T], _ yShape: [Int], _ shape: [Int], _ out: inout ONNXTensor
    ) throws(ONNXError) {
        // Integer overflow wraps, as in C, instead of trapping.
        switch operation {
        case .add: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 &+ $1 }
        case .sub: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 &- $1 }
        case .mul: try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0 &* $1 }
        case .div:
            guard !y.contains(0) else { throw .runtime("Div: integer division by zero") }
            try broadcastCombine(x, xShape, y, yShape, shape, &out) { $0.dividedReportingOverflow(by: $1).partialValue }
        }
    }
}

/// Writes `op(a, b)` elementwise with numpy broadcasting into `out`.
@inline(__always)
func broadcastCombine<T: TensorElement, R: TensorElement>(
    _ a: [T], _ aShape: [Int], _ b: [T], _ bShape: [Int], _ shape: [Int],
    _ out: inout ONNXTensor, _ op: (T, T) -> R
) throws(ONNXError) {
    try out.overwrite(R.self, shape: shape) { dst throws(ONNXError) in
        try a.withUnsafeBufferPointer { pa throws(ONNXError) in
            try b.withUnsafeBufferPointer { pb throws(ONNXError) in
                if aShape == bShape {
                    for i in 0..<dst.count { dst[i] = op(pa[i], pb[i]) }
                } else if pb.count == 1 && pa.count == dst.count {
                    let y = pb[0]
                    for i in 0..<dst.count { dst[i] = op(pa[i], y) }
                } else if pa.count == 1 && pb.count == dst.count {
                    let x = pa[0]
                    for i in 0..<dst.count { dst[i] = op(x, pb[i]) }
                } else {
                    let sa = try Shapes.broadcastStrides(aShape, to: shape)
                    let sb = try Shapes.broadcastStrides(bShape, to: shape)
                    try forEachBroadcastRow(outShape: shape, aStrides: sa, bStrides: sb) { o, ia, ib, n, da, db in
                        // Contiguous and repeated-scalar rows get loops the compiler vectorizes.
                        switch (da, db) {
                        case (1, 1):
                            for k in 0..<n { dst[o + k] = op(pa[ia + k], pb[ib + k]) }
                        case (1, 0):
                            let y = pb[ib]
                            for k in 0..<n { dst[o + k] = op(pa[ia + k], y) }
                        case (0, 1):
                            let x = pa[ia]
                            for k in 0..<n { dst[o + k] = op(x, pb[ib + k]) }
                        default:
                            for k in 0..<n { dst[o + k] = op(pa[ia + k * da], pb[ib + k * db]) }
                        }
                    }
                }
            }
        }
    }
}

/// Relu, LeakyRelu, Sigmoid and Tanh.
struct UnaryKernel: Kernel {
    enum Operation: String {
        case relu = "Relu", leakyRelu = "LeakyRelu", sigmoid = "Sigmoid", tanh = "Tanh"
    }
    let operation: Operation
    let alpha: Float

    static func factory(_ operation: Operation) -> KernelFactory {
        { context throws(ONNXError) in
            try context.expectInputs(1...1)
            let type = try context.inputType(0)
            var allowed: Set<ElementType> = [.float, .double]
            if operation == .relu, context.opset >= 14 { allowed.formUnion([.int32, .int64]) }
            try context.require(type, in: allowed)
            let alpha = operation == .leakyRelu ? try context.attributes.float("alpha", default: 0.01) : 0
            if context.opset < 6 { context.attributes.ignore("consumed_inputs") }
            return CompiledNode(
                UnaryKernel(operation: operation, alpha: alpha), outputTypes: [type], outputRanks: [context.inputRank(0)])
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        switch x.storage {
        case .float(let a): try apply(a, x.shape, &outputs[0])
        case .double(let a): try apply(a, x.shape, &outputs[0])
        case .int64(let a): try map(a, x.shape, &outputs[0]) { Swift.max($0, 0) }
        case .int32(let a): try map(a, x.shape, &outputs[0]) { Swift.max($0, 0) }
        default: throw .runtime("\(operation.rawValue): unexpected input type \(x.elementType)")
        }
    }

    @inline(__always)
    private func apply<T: Real & TensorElement>(_ a: [T], _ shape: [Int], _ out: inout ONNXTensor) throws(ONNXError) {
        switch operation {
        case .relu: try map(a, shape, &out) { $0 > 0 ? $0 : 0 }
        case .leakyRelu:
            let alpha = T(alpha)
            try map(a, shape, &out) { $0 >= 0 ? $0 : $0 * alpha }
        case .sigmoid:
            try map(a, shape, &out) { x in
                // Split by sign so exp never overflows.
                if x >= 0 { return 1 / (1 + T.exp(-x)) }
                let e = T.exp(x)
                return e / (1 + e)
            }
        case .tanh: try map(a, shape, &out) { T.tanh($0) }
        }
    }
}

/// Writes `op(x)` for each element into `out`.
@inline(__always)
func map<T: TensorElement, R: TensorElement>(
    _ a: [T], _ shape: [Int], _ out: inout ONNXTensor, _ op: (T) -> R
) throws(ONNXError) {
    try out.overwrite(R.self, shape: shape) { dst in
        a.withUnsafeBufferPointer { src in
            for i in 0..<dst.count { dst[i] = op(src[i]) }
        }
    }
}

/// The transcendental functions the kernels need, for Float and Double.
protocol Real: BinaryFloatingPoint {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
}

extension Float: Real {
    static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    static func log(_ x: Float) -> Float { Foundation.logf(x) }
    static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
    static func sqrt(_ x: Float) -> Float { x.squareRoot() }
}

extension Double: Real {
    static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    static func log(_ x: Double) -> Double { Foundation.log(x) }
    static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    static func sqrt(_ x: Double) -> Double { x.squareRoot() }
}

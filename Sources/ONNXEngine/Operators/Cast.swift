import Foundation

/// Cast between the computable element types.
struct CastKernel: Kernel {
    let target: ElementType

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        let source = try context.inputType(0)
        guard let code = try context.attributes.int("to") else { throw context.invalid("needs 'to'") }
        guard let raw = Int32(exactly: code), let target = ElementType(rawValue: raw) else {
            throw context.invalid("'to' \(code) is not an ONNX element type")
        }
        let computable: Set<ElementType> = [.float, .double, .int64, .int32, .bool, .string]
        try context.require(source, in: computable)
        try context.require(target, in: computable, for: "target type")
        if source == .bool && target == .string || source == .string && target == .bool {
            throw context.unsupported("casts between bool and string")
        }
        if context.opset >= 19 {
            // `saturate` only affects float8 targets, which are refused above.
            _ = try context.attributes.int("saturate")
        }
        return CompiledNode(CastKernel(target: target), outputTypes: [target], outputRanks: [context.inputRank(0)])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        switch x.storage {
        case .float(let a): try castNumbers(a, x.shape, &outputs[0])
        case .double(let a): try castNumbers(a, x.shape, &outputs[0])
        case .int64(let a): try castNumbers(a, x.shape, &outputs[0])
        case .int32(let a): try castNumbers(a, x.shape, &outputs[0])
        case .bool(let a): try castNumbers(a.map { $0 ? Int32(1) : 0 }, x.shape, &outputs[0])
        case .string(let a): try castStrings(a, x.shape, &outputs[0])
        }
    }

    @inline(__always)
    private func castNumbers<T: CastableNumber>(_ a: [T], _ shape: [Int], _ out: inout ONNXTensor) throws(ONNXError) {
        switch target {
        case .float: try map(a, shape, &out) { $0.asDouble.map { Float($0) } ?? $0.asFloat }
        case .double: try map(a, shape, &out) { $0.asDouble ?? Double($0.asFloat) }
        case .int64: try map(a, shape, &out) { $0.truncated(Int64.self) }
        case .int32: try map(a, shape, &out) { $0.truncated(Int32.self) }
        case .bool: try map(a, shape, &out) { !$0.isZero }
        case .string: out.assign(a.map(\.text), shape: shape)
        default: throw .runtime("Cast: unsupported target \(target)")
        }
    }

    private func castStrings(_ a: [String], _ shape: [Int], _ out: inout ONNXTensor) throws(ONNXError) {
        func parse(_ s: String) throws(ONNXError) -> Double {
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            switch trimmed.lowercased() {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            case "nan", "+nan", "-nan": return .nan
            default:
                guard let value = Double(trimmed) else { throw .runtime("Cast: '\(s)' is not a number") }
                return value
            }
        }
        switch target {
        case .string: out.assign(a, shape: shape)
        case .float:
            // Parse straight to Float so rounding happens once.
            let values = try a.map { s throws(ONNXError) -> Float in
                if let f = Float(s.trimmingCharacters(in: .whitespaces)) { return f }
                return Float(try parse(s))
            }
            out.assign(values, shape: shape)
        case .double: out.assign(try a.map(parse), shape: shape)
        case .int64: out.assign(try a.map { s throws(ONNXError) in try parse(s).truncated(Int64.self) }, shape: shape)
        case .int32: out.assign(try a.map { s throws(ONNXError) in try parse(s).truncated(Int32.self) }, shape: shape)
        default: throw .runtime("Cast: unsupported target \(target)")
        }
    }
}

/// Number types Cast reads, with conversions that never trap.
protocol CastableNumber: TensorElement {
    var asDouble: Double? { get }
    var asFloat: Float { get }
    var isZero: Bool { get }
    var text: String { get }
    func truncated<I: FixedWidthInteger>(_: I.Type) -> I
}

extension Float: CastableNumber {
    var asDouble: Double? { Double(self) }
    var asFloat: Float { self }
    var text: String { description }
    func truncated<I: FixedWidthInteger>(_: I.Type) -> I { Double(self).truncated(I.self) }
}

extension Double: CastableNumber {
    var asDouble: Double? { self }
    var asFloat: Float { Float(self) }
    var text: String { description }
    /// NaN and out-of-range values become the type's minimum, as x86's conversion does.
    func truncated<I: FixedWidthInteger>(_: I.Type) -> I { I(exactly: self.rounded(.towardZero)) ?? I.min }
}

extension Int64: CastableNumber {
    var asDouble: Double? { Double(self) }
    var asFloat: Float { Float(self) }
    var isZero: Bool { self == 0 }
    var text: String { description }
    func truncated<I: FixedWidthInteger>(_: I.Type) -> I { I(truncatingIfNeeded: self) }
}

extension Int32: CastableNumber {
    var asDouble: Double? { Double(self) }
    var asFloat: Float { Float(self) }
    var isZero: Bool { self == 0 }
    var text: String { description }
    func truncated<I: FixedWidthInteger>(_: I.Type) -> I { I(truncatingIfNeeded: self) }
}

/// LabelEncoder: maps each element through a lookup table, with a default for misses.
///
/// Opset 1 maps strings to their index in `classes_strings` (and back); opset 2 takes
/// `keys_*`/`values_*` lists; opset 4 also accepts `keys_tensor`/`values_tensor`.
struct LabelEncoderKernel: Kernel {
    enum Key: Hashable, Sendable {
        case string(String)
        case int(Int64)
        /// Floats compare by value; all NaNs are one key, as onnxruntime treats them.
        case float(Double)

        init(float value: Double) {
            self = .float(value.isNaN ? .nan : value)
        }

        static func == (l: Key, r: Key) -> Bool {
            switch (l, r) {
            case (.string(let a), .string(let b)): a == b
            case (.int(let a), .int(let b)): a == b
            case (.float(let a), .float(let b)): a == b || (a.isNaN && b.isNaN)
            default: false
            }
        }

        func hash(into hasher: inout Hasher) {
            switch self {
            case .string(let s): hasher.combine(s)
            case .int(let i): hasher.combine(i)
            case .float(let d): hasher.combine(d.isNaN ? 0x7ff8 : d.bitPattern)
            }
        }
    }

    let table: [Key: ONNXTensor.Storage]
    let defaultValue: ONNXTensor.Storage
    let inputType: ElementType
    let outputType: ElementType

    var constantBytes: Int { table.count * 64 }

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        let inputType = try context.inputType(0)
        let a = context.attributes
        var keys: ONNXTensor.Storage
        var values: ONNXTensor.Storage
        if context.opset < 2 {
            let classes = try a.strings("classes_strings") ?? []
            let indices = (0..<Int64(classes.count)).map { $0 }
            if inputType == .string {
                (keys, values) = (.string(classes), .int64(indices))
            } else {
                (keys, values) = (.int64(indices), .string(classes))
            }
        } else {
            keys = try Self.list(context, prefix: "keys")
            values = try Self.list(context, prefix: "values")
        }
        guard keys.count == values.count else { throw context.invalid("keys and values differ in length") }
        guard keys.elementType == inputType || (keys.elementType == .float && inputType == .double) else {
            throw context.unsupported("keys of type \(keys.elementType) for input of type \(inputType)")
        }
        let outputType = values.elementType
        let defaultValue = try Self.defaultValue(context, type: outputType)
        var table: [Key: ONNXTensor.Storage] = [:]
        for i in 0..<keys.count {
            table[Self.key(keys, i)] = Self.element(values, i)
        }
        return CompiledNode(
            LabelEncoderKernel(table: table, defaultValue: defaultValue, inputType: inputType, outputType: outputType),
            outputTypes: [outputType])
    }

    private static func list(_ context: NodeContext, prefix: String) throws(ONNXError) -> ONNXTensor.Storage {
        let a = context.attributes
        if let t = try a.tensor("\(prefix)_tensor") { return t.storage }
        if let s = try a.strings("\(prefix)_strings") { return .string(s) }
        if let i = try a.ints("\(prefix)_int64s") { return .int64(i) }
        if let f = try a.floats("\(prefix)_floats") { return .float(f) }
        throw context.invalid("needs \(prefix)")
    }

    private static func defaultValue(_ context: NodeContext, type: ElementType) throws(ONNXError) -> ONNXTensor.Storage {
        let a = context.attributes
        if let t = try a.tensor("default_tensor") {
            guard t.elementType == type, t.count == 1 else { throw context.invalid("default_tensor does not match values") }
            return t.storage
        }
        switch type {
        case .string: return .string([try a.string("default_string", default: "_Unused")])
        case .int64: return .int64([Int64(try a.int("default_int64", default: -1))])
        case .float: return .float([try a.float("default_float", default: -0.0)])
        default: throw context.unsupported("values of type \(type)")
        }
    }

    private static func key(_ storage: ONNXTensor.Storage, _ i: Int) -> Key {
        switch storage {
        case .string(let a): .string(a[i])
        case .int64(let a): .int(a[i])
        case .int32(let a): .int(Int64(a[i]))
        case .float(let a): Key(float: Double(a[i]))
        case .double(let a): Key(float: a[i])
        case .bool(let a): .int(a[i] ? 1 : 0)
        }
    }

    private static func element(_ storage: ONNXTensor.Storage, _ i: Int) -> ONNXTensor.Storage {
        switch storage {
        case .string(let a): .string([a[i]])
        case .int64(let a): .int64([a[i]])
        case .int32(let a): .int32([a[i]])
        case .float(let a): .float([a[i]])
        case .double(let a): .double([a[i]])
        case .bool(let a): .bool([a[i]])
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let keys = (0..<x.count).map { Self.key(x.storage, $0) }
        let looked = keys.map { table[$0] ?? defaultValue }
        switch outputType {
        case .string: outputs[0].assign(looked.map { ($0.asStrings ?? [""])[0] }, shape: x.shape)
        case .int64: outputs[0].assign(looked.map { ($0.asInt64s ?? [0])[0] }, shape: x.shape)
        case .float: outputs[0].assign(looked.map { ($0.asFloats ?? [0])[0] }, shape: x.shape)
        case .double: outputs[0].assign(looked.map { ($0.asDoubles ?? [0])[0] }, shape: x.shape)
        default: throw .runtime("LabelEncoder: unsupported output type \(outputType)")
        }
    }
}

extension ONNXTensor.Storage {
    var asStrings: [String]? { String.array(of: self) }
    var asInt64s: [Int64]? { Int64.array(of: self) }
    var asFloats: [Float]? { Float.array(of: self) }
    var asDoubles: [Double]? { Double.array(of: self) }
}

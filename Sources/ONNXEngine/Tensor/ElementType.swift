/// The element type of a tensor, with ONNX's `TensorProto.DataType` codes.
///
/// Every ONNX type can appear in a model's metadata; the engine computes with `float`,
/// `double`, `int64`, `int32`, `bool` and `string` (see ``ONNXTensor/Storage``).
public enum ElementType: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case float = 1
    case uint8 = 2
    case int8 = 3
    case uint16 = 4
    case int16 = 5
    case int32 = 6
    case int64 = 7
    case string = 8
    case bool = 9
    case float16 = 10
    case double = 11
    case uint32 = 12
    case uint64 = 13
    case complex64 = 14
    case complex128 = 15
    case bfloat16 = 16

    /// ONNX's own spelling, as in `tensor(float)`.
    public var description: String {
        switch self {
        case .float: "float"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .double: "double"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .complex64: "complex64"
        case .complex128: "complex128"
        case .bfloat16: "bfloat16"
        }
    }

    /// Whether tensors of this type can be computed with (and passed to ``ONNXModel/run(_:)``).
    public var isComputable: Bool {
        switch self {
        case .float, .double, .int64, .int32, .bool, .string: true
        default: false
        }
    }
}

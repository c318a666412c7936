/// Tensor element types of the Open Inference Protocol.
public enum DataType: String, Sendable, Hashable, CaseIterable {
    case bool = "BOOL"
    case uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
    case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
    case fp16 = "FP16", bf16 = "BF16", fp32 = "FP32", fp64 = "FP64"
    case bytes = "BYTES"

    /// Bytes per element; nil for BYTES, whose elements vary in length.
    public var elementSize: Int? {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .uint16, .int16, .fp16, .bf16: return 2
        case .uint32, .int32, .fp32: return 4
        case .uint64, .int64, .fp64: return 8
        case .bytes: return nil
        }
    }

    /// FP16 and BF16 have no JSON form; they travel only as raw bytes.
    public var hasJSONForm: Bool { self != .fp16 && self != .bf16 }

    public static let allNames = DataType.allCases.map(\.rawValue).joined(separator: ", ")
}

import Foundation
import OpenInference
import MeshCore

/// Tensor data in `InferTensorContents`, the typed alternative to raw contents: one repeated
/// field per element family (INT8, INT16 and INT32 share `int_contents`, for instance).
enum TypedContents {
    /// The data of `contents` for a tensor of `datatype` with `elements` elements.
    static func decode(_ contents: Inference_InferTensorContents, datatype: DataType, elements: Int, label: String) throws(MeshError) -> Tensor.Data {
        func check(_ count: Int, _ field: String) throws(MeshError) {
            guard count == elements else {
                throw .invalidArgument("\(label) has \(elements) elements by its shape but \(count) values in contents.\(field)")
            }
        }
        func narrowed<T: FixedWidthInteger & BitwiseCopyable, Source: BinaryInteger>(_ values: [Source], as type: T.Type, _ field: String) throws(MeshError) -> [UInt8] {
            try check(values.count, field)
            var out: [T] = []
            out.reserveCapacity(values.count)
            for (index, value) in values.enumerated() {
                guard let narrow = T(exactly: value) else {
                    throw .invalidArgument("\(label) value \(value) at index \(index) does not fit \(datatype.rawValue)")
                }
                out.append(narrow)
            }
            return Tensor.pack(out)
        }
        switch datatype {
        case .bool:
            try check(contents.boolContents.count, "bool_contents")
            return .raw(contents.boolContents.map { $0 ? 1 : 0 })
        case .int8: return .raw(try narrowed(contents.intContents, as: Int8.self, "int_contents"))
        case .int16: return .raw(try narrowed(contents.intContents, as: Int16.self, "int_contents"))
        case .int32:
            try check(contents.intContents.count, "int_contents")
            return .raw(Tensor.pack(contents.intContents))
        case .int64:
            try check(contents.int64Contents.count, "int64_contents")
            return .raw(Tensor.pack(contents.int64Contents))
        case .uint8: return .raw(try narrowed(contents.uintContents, as: UInt8.self, "uint_contents"))
        case .uint16: return .raw(try narrowed(contents.uintContents, as: UInt16.self, "uint_contents"))
        case .uint32:
            try check(contents.uintContents.count, "uint_contents")
            return .raw(Tensor.pack(contents.uintContents))
        case .uint64:
            try check(contents.uint64Contents.count, "uint64_contents")
            return .raw(Tensor.pack(contents.uint64Contents))
        case .fp32:
            try check(contents.fp32Contents.count, "fp32_contents")
            return .raw(Tensor.pack(contents.fp32Contents))
        case .fp64:
            try check(contents.fp64Contents.count, "fp64_contents")
            return .raw(Tensor.pack(contents.fp64Contents))
        case .bytes:
            try check(contents.bytesContents.count, "bytes_contents")
            return .bytes(contents.bytesContents.map { [UInt8]($0) })
        case .fp16, .bf16:
            throw .invalidArgument("\(label) is \(datatype.rawValue), which has no typed contents; send it in raw_input_contents")
        }
    }

    /// Typed contents for a tensor; nil for FP16 and BF16, which travel only as raw bytes.
    static func encode(_ tensor: Tensor) -> Inference_InferTensorContents? {
        var contents = Inference_InferTensorContents()
        switch (tensor.datatype, tensor.data) {
        case (.bytes, .bytes(let elements)):
            contents.bytesContents = elements.map { Data($0) }
            return contents
        case (_, .raw(let bytes)):
            switch tensor.datatype {
            case .bool: contents.boolContents = bytes.map { $0 != 0 }
            case .int8: contents.intContents = Tensor.unpack(bytes, as: Int8.self).map(Int32.init)
            case .int16: contents.intContents = Tensor.unpack(bytes, as: Int16.self).map(Int32.init)
            case .int32: contents.intContents = Tensor.unpack(bytes, as: Int32.self)
            case .int64: contents.int64Contents = Tensor.unpack(bytes, as: Int64.self)
            case .uint8: contents.uintContents = bytes.map(UInt32.init)
            case .uint16: contents.uintContents = Tensor.unpack(bytes, as: UInt16.self).map(UInt32.init)
            case .uint32: contents.uintContents = Tensor.unpack(bytes, as: UInt32.self)
            case .uint64: contents.uint64Contents = Tensor.unpack(bytes, as: UInt64.self)
            case .fp32: contents.fp32Contents = Tensor.unpack(bytes, as: Float.self)
            case .fp64: contents.fp64Contents = Tensor.unpack(bytes, as: Double.self)
            case .fp16, .bf16, .bytes: return nil
            }
            return contents
        default:
            return nil
        }
    }
}

import Foundation

/// Turns serialized `TensorProto`s (initializers, Constant values, node-test data) into tensors.
enum TensorDecoding {
    /// - Parameter externalData: the files beside the model; nil when the model was loaded from
    ///   bytes (or the tensor is an attribute), in which case external data is an error.
    static func decode(_ proto: Onnx_TensorProto, externalData: ExternalDataFiles?) throws(ONNXError) -> ONNXTensor {
        let name = proto.name.isEmpty ? "<unnamed>" : proto.name
        guard let type = ElementType(rawValue: proto.dataType) else {
            throw .malformedModel("tensor \(name) has unknown data type \(proto.dataType)")
        }
        guard !proto.hasSegment else {
            throw .unsupportedFeature(node: name, detail: "segmented tensors")
        }
        var shape: [Int] = []
        shape.reserveCapacity(proto.dims.count)
        for dim in proto.dims {
            // Checked before the conversion: Int may be narrower than Int64 on some platforms.
            guard dim >= 0, dim <= Int64(Int32.max) else {
                throw .malformedModel("tensor \(name) has dimension \(dim) (dimensions are 0 to \(Int32.max))")
            }
            shape.append(Int(dim))
        }
        guard let count = Shapes.checkedCount(shape) else {
            throw .malformedModel(
                "tensor \(name) with shape \(Shapes.describe(shape)) is too large (at most \(Shapes.maximumElements) "
                    + "elements, counting zero dimensions as one)")
        }
        var raw: Data? = proto.hasRawData ? proto.rawData : nil
        if proto.dataLocation == .external {
            guard let externalData else {
                throw .malformedModel("tensor \(name) uses external data, which needs the model loaded from a file")
            }
            raw = try externalData.bytes(of: proto, name: name)
        }
        let storage: ONNXTensor.Storage
        switch type {
        case .float:
            storage = .float(try values(raw, proto.floatData, count: count, name: name))
        case .double:
            storage = .double(try values(raw, proto.doubleData, count: count, name: name))
        case .int64:
            storage = .int64(try values(raw, proto.int64Data, count: count, name: name))
        case .int32:
            storage = .int32(try values(raw, proto.int32Data, count: count, name: name))
        case .bool:
            if let raw {
                guard raw.count == count else { throw sizeError(name, raw.count, count) }
                storage = .bool(raw.map { $0 != 0 })
            } else {
                guard proto.int32Data.count == count else { throw sizeError(name, proto.int32Data.count, count) }
                storage = .bool(proto.int32Data.map { $0 != 0 })
            }
        case .string:
            guard proto.stringData.count == count else { throw sizeError(name, proto.stringData.count, count) }
            storage = .string(proto.stringData.map { String(decoding: $0, as: UTF8.self) })
        default:
            throw .unsupportedFeature(node: name, detail: "tensors of type \(type)")
        }
        return ONNXTensor(unchecked: shape, storage)
    }

    /// Fixed-width little-endian elements from raw_data, or the typed repeated field.
    private static func values<T: TensorElement & BitwiseCopyable>(
        _ raw: Data?, _ typed: [T], count: Int, name: String
    ) throws(ONNXError) -> [T] {
        guard let raw else {
            guard typed.count == count else { throw sizeError(name, typed.count, count) }
            return typed
        }
        let stride = MemoryLayout<T>.stride
        guard raw.count == count * stride else { throw sizeError(name, raw.count / stride, count) }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            raw.withUnsafeBytes { bytes in
                // Every supported host is little-endian, like the format.
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            }
            initialized = count
        }
    }

    private static func sizeError(_ name: String, _ got: Int, _ expected: Int) -> ONNXError {
        .malformedModel("tensor \(name) holds \(got) elements, its shape needs \(expected)")
    }
}

import MeshCore
/// JSON element conversion for each datatype.
enum TensorJSON {
    static func decode(_ flat: [JSONValue], datatype: DataType, label: String) throws(MeshError) -> Tensor.Data {
        func bad(_ index: Int, _ expected: String) -> MeshError {
            .invalidArgument("\(label) (\(datatype.rawValue)) element \(index) is \(RESTDecoding.describe(flat[index])); expected \(expected)")
        }
        func integers<T: FixedWidthInteger & BitwiseCopyable>(_ type: T.Type) throws(MeshError) -> [UInt8] {
            var values = [T]()
            values.reserveCapacity(flat.count)
            for (index, element) in flat.enumerated() {
                guard let number = element.int64Value else { throw bad(index, "an integer") }
                guard let value = T(exactly: number) else { throw bad(index, "an integer in \(T.min)...\(T.max)") }
                values.append(value)
            }
            return Tensor.pack(values)
        }
        switch datatype {
        case .bool:
            var values = [UInt8]()
            values.reserveCapacity(flat.count)
            for (index, element) in flat.enumerated() {
                guard let flag = element.boolValue else { throw bad(index, "true or false") }
                values.append(flag ? 1 : 0)
            }
            return .raw(values)
        case .uint8: return .raw(try integers(UInt8.self))
        case .uint16: return .raw(try integers(UInt16.self))
        case .uint32: return .raw(try integers(UInt32.self))
        case .uint64:
            var values = [UInt64]()
            for (index, element) in flat.enumerated() {
                if let number = element.int64Value, number >= 0 {
                    values.append(UInt64(number))
                } else if case .double(let number) = element, number >= 0, number < 1.8446744073709552e19, number.rounded() == number {
                    values.append(UInt64(number))
                } else {
                    throw bad(index, "a non-negative integer")
                }
            }
            return .raw(Tensor.pack(values))
        case .int8: return .raw(try integers(Int8.self))
        case .int16: return .raw(try integers(Int16.self))
        case .int32: return .raw(try integers(Int32.self))
        case .int64: return .raw(try integers(Int64.self))
        case .fp32:
            var values = [Float]()
            values.reserveCapacity(flat.count)
            for (index, element) in flat.enumerated() {
                guard let number = element.doubleValue else { throw bad(index, "a number") }
                values.append(Float(number))
            }
            return .raw(Tensor.pack(values))
        case .fp64:
            var values = [Double]()
            values.reserveCapacity(flat.count)
            for (index, element) in flat.enumerated() {
                guard let number = element.doubleValue else { throw bad(index, "a number") }
                values.append(number)
            }
            return .raw(Tensor.pack(values))
        case .bytes:
            var values = [[UInt8]]()
            values.reserveCapacity(flat.count)
            for (index, element) in flat.enumerated() {
                guard let text = element.stringValue else { throw bad(index, "a string") }
                values.append(Array(text.utf8))
            }
            return .bytes(values)
        case .fp16, .bf16:
            throw .invalidArgument("\(label) is \(datatype.rawValue), which has no JSON form; send it with the binary tensor extension")
        }
    }

    /// Writes the flat data array of a tensor.
    static func write(_ tensor: Tensor, into writer: inout JSONWriter) {
        writer.raw(UInt8(ascii: "["))
        defer { writer.raw(UInt8(ascii: "]")) }
        switch tensor.data {
        case .bytes(let elements):
            for (index, element) in elements.enumerated() {
                if index > 0 { writer.raw(UInt8(ascii: ",")) }
                writer.write(String(decoding: element, as: UTF8.self))
            }
        case .raw(let bytes):
            func each<T: BitwiseCopyable>(_ type: T.Type, _ body: (inout JSONWriter, T) -> Void) {
                for (index, value) in Tensor.unpack(bytes, as: T.self).enumerated() {
                    if index > 0 { writer.raw(UInt8(ascii: ",")) }
                    body(&writer, value)
                }
            }
            switch tensor.datatype {
            case .bool:
                for (index, byte) in bytes.enumerated() {
                    if index > 0 { writer.raw(UInt8(ascii: ",")) }
                    writer.raw(byte == 0 ? "false" : "true")
                }
            case .uint8: each(UInt8.self) { $0.write(Int64($1)) }
            case .uint16: each(UInt16.self) { $0.write(Int64($1)) }
            case .uint32: each(UInt32.self) { $0.write(Int64($1)) }
            case .uint64: each(UInt64.self) { $0.write($1) }
            case .int8: each(Int8.self) { $0.write(Int64($1)) }
            case .int16: each(Int16.self) { $0.write(Int64($1)) }
            case .int32: each(Int32.self) { $0.write(Int64($1)) }
            case .int64: each(Int64.self) { $0.write($1) }
            case .fp32: each(Float.self) { $0.write($1) }
            case .fp64: each(Double.self) { $0.write($1) }
            case .fp16, .bf16, .bytes: break
            }
        }
    }
}

/// The binary tensor extension's element encoding.
public enum TensorBinary {
    static func decode(_ bytes: ArraySlice<UInt8>, datatype: DataType, elements: Int, label: String) throws(MeshError) -> Tensor.Data {
        if let size = datatype.elementSize {
            guard bytes.count == elements * size else {
                throw .invalidArgument("\(label) has \(bytes.count) binary bytes but shape and \(datatype.rawValue) need \(elements * size)")
            }
            return .raw(Array(bytes))
        }
        // Each element takes at least its 4-byte length prefix: reserve for what the bytes can
        // hold, not for what the shape claims.
        var values: [[UInt8]] = []
        values.reserveCapacity(min(elements, bytes.count / 4))
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            guard bytes.endIndex - offset >= 4 else { throw .invalidArgument("\(label) has a truncated BYTES length prefix") }
            let length = Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
            offset += 4
            guard bytes.endIndex - offset >= length else { throw .invalidArgument("\(label) has a BYTES element longer than its data") }
            guard values.count < elements else {
                throw .invalidArgument("\(label) has more BYTES elements than its shape's \(elements)")
            }
            values.append(Array(bytes[offset..<(offset + length)]))
            offset += length
        }
        guard values.count == elements else {
            throw .invalidArgument("\(label) has \(values.count) BYTES elements but its shape needs \(elements)")
        }
        return .bytes(values)
    }

    /// The raw bytes of a tensor as the binary extension and gRPC raw contents carry them.
    public static func encode(_ data: Tensor.Data) -> [UInt8] {
        switch data {
        case .raw(let bytes): return bytes
        case .bytes(let elements):
            var out: [UInt8] = []
            out.reserveCapacity(elements.reduce(0) { $0 + $1.count + 4 })
            for element in elements {
                let length = UInt32(element.count)
                out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)])
                out.append(contentsOf: element)
            }
            return out
        }
    }

    /// Interprets raw bytes (gRPC raw contents) as a tensor's data.
    public static func data(from bytes: [UInt8], datatype: DataType, elements: Int, label: String) throws(MeshError) -> Tensor.Data {
        try decode(bytes[...], datatype: datatype, elements: elements, label: label)
    }
}

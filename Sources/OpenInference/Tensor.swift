/// A named tensor: element type, shape and row-major data.
///
/// Fixed-size types are stored as packed little-endian bytes, the form the gRPC raw contents and
/// the binary extension use, so those pass through without conversion; BYTES tensors hold one
/// byte string per element.
public struct Tensor: Sendable, Hashable {
    public enum Data: Sendable, Hashable {
        case raw([UInt8])
        case bytes([[UInt8]])
    }

    public var name: String
    public var datatype: DataType
    public var shape: [Int]
    public var parameters: Parameters
    public var data: Data

    public init(name: String, datatype: DataType, shape: [Int], parameters: Parameters = Parameters(), data: Data) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
        self.parameters = parameters
        self.data = data
    }

    /// Elements the shape describes (1 for a scalar shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Elements the data holds.
    public var storedElementCount: Int {
        switch data {
        case .raw(let bytes): return datatype.elementSize.map { bytes.count / $0 } ?? 0
        case .bytes(let elements): return elements.count
        }
    }

    // MARK: Typed access

    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(name: name, datatype: .fp32, shape: shape, data: .raw(Tensor.pack(floats)))
    }

    public init(name: String, shape: [Int], doubles: [Double]) {
        self.init(name: name, datatype: .fp64, shape: shape, data: .raw(Tensor.pack(doubles)))
    }

    public init(name: String, shape: [Int], int64s: [Int64]) {
        self.init(name: name, datatype: .int64, shape: shape, data: .raw(Tensor.pack(int64s)))
    }

    public init(name: String, shape: [Int], int32s: [Int32]) {
        self.init(name: name, datatype: .int32, shape: shape, data: .raw(Tensor.pack(int32s)))
    }

    public init(name: String, shape: [Int], bools: [Bool]) {
        self.init(name: name, datatype: .bool, shape: shape, data: .raw(bools.map { $0 ? 1 : 0 }))
    }

    public init(name: String, shape: [Int], strings: [String]) {
        self.init(name: name, datatype: .bytes, shape: shape, data: .bytes(strings.map { Array($0.utf8) }))
    }

    /// The elements converted to `Double`, whatever the numeric type (nil for BYTES, FP16, BF16).
    public func doubleValues() -> [Double]? {
        guard case .raw(let bytes) = data else { return nil }
        switch datatype {
        case .bool: return bytes.map { $0 == 0 ? 0 : 1 }
        case .uint8: return bytes.map(Double.init)
        case .int8: return bytes.map { Double(Int8(bitPattern: $0)) }
        case .uint16: return Tensor.unpack(bytes, as: UInt16.self).map(Double.init)
        case .int16: return Tensor.unpack(bytes, as: Int16.self).map(Double.init)
        case .uint32: return Tensor.unpack(bytes, as: UInt32.self).map(Double.init)
        case .int32: return Tensor.unpack(bytes, as: Int32.self).map(Double.init)
        case .uint64: return Tensor.unpack(bytes, as: UInt64.self).map(Double.init)
        case .int64: return Tensor.unpack(bytes, as: Int64.self).map(Double.init)
        case .fp32: return Tensor.unpack(bytes, as: Float.self).map(Double.init)
        case .fp64: return Tensor.unpack(bytes, as: Double.self)
        case .fp16, .bf16, .bytes: return nil
        }
    }

    public func floatValues() -> [Float]? {
        if datatype == .fp32, case .raw(let bytes) = data { return Tensor.unpack(bytes, as: Float.self) }
        return doubleValues()?.map(Float.init)
    }

    public func int64Values() -> [Int64]? {
        if datatype == .int64, case .raw(let bytes) = data { return Tensor.unpack(bytes, as: Int64.self) }
        return doubleValues()?.map { Int64($0) }
    }

    public func stringValues() -> [String]? {
        guard case .bytes(let elements) = data else { return nil }
        return elements.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Packs values as little-endian bytes.
    public static func pack<T: BitwiseCopyable>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// Reads little-endian packed values (any trailing partial element is ignored).
    public static func unpack<T: BitwiseCopyable>(_ bytes: [UInt8], as type: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                let destination = UnsafeMutableRawBufferPointer(buffer)
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<(count * MemoryLayout<T>.stride)]))
            }
            initialized = count
        }
    }
}

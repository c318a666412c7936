/// The Swift types a tensor stores, so kernels can be written once over all of them.
protocol TensorElement: Sendable {
    static var elementType: ElementType { get }
    static func array(of storage: ONNXTensor.Storage) -> [Self]?
    static func storage(_ array: [Self]) -> ONNXTensor.Storage
    /// A filler for freshly grown buffers.
    static var filler: Self { get }
}

extension Float: TensorElement {
    static var filler: Float { 0 }
    static var elementType: ElementType { .float }
    static func array(of storage: ONNXTensor.Storage) -> [Float]? { if case .float(let a) = storage { a } else { nil } }
    static func storage(_ array: [Float]) -> ONNXTensor.Storage { .float(array) }
}

extension Double: TensorElement {
    static var filler: Double { 0 }
    static var elementType: ElementType { .double }
    static func array(of storage: ONNXTensor.Storage) -> [Double]? { if case .double(let a) = storage { a } else { nil } }
    static func storage(_ array: [Double]) -> ONNXTensor.Storage { .double(array) }
}

extension Int64: TensorElement {
    static var filler: Int64 { 0 }
    static var elementType: ElementType { .int64 }
    static func array(of storage: ONNXTensor.Storage) -> [Int64]? { if case .int64(let a) = storage { a } else { nil } }
    static func storage(_ array: [Int64]) -> ONNXTensor.Storage { .int64(array) }
}

extension Int32: TensorElement {
    static var filler: Int32 { 0 }
    static var elementType: ElementType { .int32 }
    static func array(of storage: ONNXTensor.Storage) -> [Int32]? { if case .int32(let a) = storage { a } else { nil } }
    static func storage(_ array: [Int32]) -> ONNXTensor.Storage { .int32(array) }
}

extension Bool: TensorElement {
    static var filler: Bool { false }
    static var elementType: ElementType { .bool }
    static func array(of storage: ONNXTensor.Storage) -> [Bool]? { if case .bool(let a) = storage { a } else { nil } }
    static func storage(_ array: [Bool]) -> ONNXTensor.Storage { .bool(array) }
}

extension String: TensorElement {
    static var filler: String { "" }
    static var elementType: ElementType { .string }
    static func array(of storage: ONNXTensor.Storage) -> [String]? { if case .string(let a) = storage { a } else { nil } }
    static func storage(_ array: [String]) -> ONNXTensor.Storage { .string(array) }
}

extension ONNXTensor {
    /// The elements as `T`; the plan's type checks guarantee the match, so a mismatch is a bug
    /// that surfaces as an error rather than a crash.
    func elements<T: TensorElement>(_: T.Type) throws(ONNXError) -> [T] {
        guard let a = T.array(of: storage) else {
            throw .runtime("expected a \(T.elementType) tensor, got \(elementType)")
        }
        return a
    }

    /// Overwrites this tensor with `count` elements of `T` under `shape`, reusing the previous
    /// run's array when it is of the same type so steady-state runs do not allocate.
    ///
    /// The buffer handed to `body` holds stale values: kernels must write every element.
    mutating func overwrite<T: TensorElement>(
        _: T.Type,
        shape newShape: [Int],
        _ body: (UnsafeMutableBufferPointer<T>) throws(ONNXError) -> Void
    ) throws(ONNXError) {
        let count = try Shapes.count(newShape)
        var array = T.array(of: storage) ?? []
        storage = .bool([])  // drop our reference so `array` is uniquely owned
        if array.count != count {
            if array.count > count {
                array.removeLast(array.count - count)
            } else {
                array.append(contentsOf: repeatElement(T.filler, count: count - array.count))
            }
        }
        var failure: ONNXError?
        array.withUnsafeMutableBufferPointer { buffer in
            do throws(ONNXError) { try body(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
        storage = T.storage(array)
        shape = newShape
    }

    /// Replaces contents with a freshly built array (for types that are not `Numeric`).
    mutating func assign<T: TensorElement>(_ array: [T], shape newShape: [Int]) {
        storage = T.storage(array)
        shape = newShape
    }
}


/// A dense, row-major tensor with value semantics.
///
/// The elements live in a Swift array, so copies are cheap until one side is mutated.
public struct ONNXTensor: Sendable, Hashable {
    /// The typed elements, row-major.
    public enum Storage: Sendable, Hashable {
        case float([Float])
        case double([Double])
        case int64([Int64])
        case int32([Int32])
        case bool([Bool])
        case string([String])

        public var elementType: ElementType {
            switch self {
            case .float: .float
            case .double: .double
            case .int64: .int64
            case .int32: .int32
            case .bool: .bool
            case .string: .string
            }
        }

        public var count: Int {
            switch self {
            case .float(let a): a.count
            case .double(let a): a.count
            case .int64(let a): a.count
            case .int32(let a): a.count
            case .bool(let a): a.count
            case .string(let a): a.count
            }
        }

        /// Bytes held by the backing array, counting reserved capacity.
        var allocatedBytes: Int {
            switch self {
            case .float(let a): a.capacity * MemoryLayout<Float>.stride
            case .double(let a): a.capacity * MemoryLayout<Double>.stride
            case .int64(let a): a.capacity * MemoryLayout<Int64>.stride
            case .int32(let a): a.capacity * MemoryLayout<Int32>.stride
            case .bool(let a): a.capacity * MemoryLayout<Bool>.stride
            case .string(let a): a.capacity * MemoryLayout<String>.stride + a.reduce(0) { $0 + $1.utf8.count }
            }
        }
    }

    /// Dimensions, outermost first; `[]` is a scalar.
    public internal(set) var shape: [Int]
    public internal(set) var storage: Storage

    /// Creates a tensor, checking that the element count matches the shape.
    public init(shape: [Int], storage: Storage) throws(ONNXError) {
        guard let expected = Shapes.checkedCount(shape) else {
            throw .invalidTensor(
                "shape \(Shapes.describe(shape)) has a negative dimension or is too large (at most "
                    + "\(Shapes.maximumElements) elements, counting zero dimensions as one)")
        }
        guard expected == storage.count else {
            throw .invalidTensor("shape \(Shapes.describe(shape)) needs \(expected) elements, got \(storage.count)")
        }
        self.shape = shape
        self.storage = storage
    }

    /// For callers that have already checked the count.
    init(unchecked shape: [Int], _ storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    public init(shape: [Int], floats: [Float]) throws(ONNXError) { try self.init(shape: shape, storage: .float(floats)) }
    public init(shape: [Int], doubles: [Double]) throws(ONNXError) { try self.init(shape: shape, storage: .double(doubles)) }
    public init(shape: [Int], int64s: [Int64]) throws(ONNXError) { try self.init(shape: shape, storage: .int64(int64s)) }
    public init(shape: [Int], int32s: [Int32]) throws(ONNXError) { try self.init(shape: shape, storage: .int32(int32s)) }
    public init(shape: [Int], bools: [Bool]) throws(ONNXError) { try self.init(shape: shape, storage: .bool(bools)) }
    public init(shape: [Int], strings: [String]) throws(ONNXError) { try self.init(shape: shape, storage: .string(strings)) }

    public var elementType: ElementType { storage.elementType }
    public var count: Int { storage.count }

    public var floats: [Float]? { if case .float(let a) = storage { a } else { nil } }
    public var doubles: [Double]? { if case .double(let a) = storage { a } else { nil } }
    public var int64s: [Int64]? { if case .int64(let a) = storage { a } else { nil } }
    public var int32s: [Int32]? { if case .int32(let a) = storage { a } else { nil } }
    public var bools: [Bool]? { if case .bool(let a) = storage { a } else { nil } }
    public var strings: [String]? { if case .string(let a) = storage { a } else { nil } }

    /// The same elements under another shape with the same element count.
    func reshaped(_ newShape: [Int]) throws(ONNXError) -> ONNXTensor {
        guard try Shapes.count(newShape) == count else {
            throw .runtime("cannot view \(count) elements as shape \(Shapes.describe(newShape))")
        }
        return ONNXTensor(unchecked: newShape, storage)
    }

    /// An empty placeholder, used for slots that have not been written yet.
    static let empty = ONNXTensor(unchecked: [0], .float([]))
}

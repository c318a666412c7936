/// Name, element type and shape of a model input or output.
public struct TensorInfo: Sendable, Hashable {
    public var name: String
    public var elementType: ElementType
    /// Dimensions with -1 for dynamic ones (such as the batch axis); nil when the model does
    /// not declare a shape at all.
    public var shape: [Int]?
    /// For outputs produced by ZipMap: the labels of the probability columns. The output
    /// itself is the [N, C] float tensor (see `ZipMapKernel`).
    public var zipMapLabels: ZipMapLabels?

    public init(name: String, elementType: ElementType, shape: [Int]?, zipMapLabels: ZipMapLabels? = nil) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
        self.zipMapLabels = zipMapLabels
    }

    /// Checks a request tensor against this declaration.
    func check(_ tensor: ONNXTensor) throws(ONNXError) {
        guard tensor.elementType == elementType else {
            throw .invalidInput(name: name, detail: "expected element type \(elementType), got \(tensor.elementType)")
        }
        guard let shape else { return }
        let matches = tensor.shape.count == shape.count
            && zip(tensor.shape, shape).allSatisfy { actual, declared in declared < 0 || actual == declared }
        guard matches else {
            throw .invalidInput(
                name: name, detail: "expected shape \(Self.describe(shape)), got \(Self.describe(tensor.shape))")
        }
    }

    static func describe(_ shape: [Int]) -> String {
        "[" + shape.map { $0 < 0 ? "-1" : String($0) }.joined(separator: ", ") + "]"
    }
}

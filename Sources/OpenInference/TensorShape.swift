import MeshCore
/// Tensor shapes as clients send them, checked before anything is allocated for them (REST and
/// gRPC share this).
public enum TensorShape {
    /// The most elements one tensor may describe.
    public static let maxElements = 1 << 31

    /// The shape and element count of `dimensions`. Each dimension must lie in 0...Int32.max, and
    /// the product of the dimensions, with zeros counted as ones, must stay within
    /// ``maxElements``: a zero beside huge dimensions describes no data, but the strides a
    /// runtime computes from it would still overflow.
    public static func check(_ dimensions: [Int64], label: String) throws(MeshError) -> (shape: [Int], elements: Int) {
        var shape: [Int] = []
        shape.reserveCapacity(dimensions.count)
        var elements = 1
        var extent = 1
        for size in dimensions {
            guard size >= 0, size <= Int64(Int32.max) else {
                throw .invalidArgument("\(label) has an invalid shape \(describe(dimensions)); dimensions are integers from 0 to \(Int32.max)")
            }
            shape.append(Int(size))
            let (product, overflow) = extent.multipliedReportingOverflow(by: max(1, Int(size)))
            guard !overflow, product <= maxElements else {
                throw .invalidArgument("\(label) has too many elements for shape \(describe(dimensions)); a tensor may have at most \(maxElements)")
            }
            extent = product
            elements *= Int(size)
        }
        return (shape, elements)
    }

    static func describe(_ dimensions: [Int64]) -> String {
        let shown = dimensions.prefix(16).map(String.init).joined(separator: ", ")
        return "[" + shown + (dimensions.count > 16 ? ", …]" : "]")
    }
}

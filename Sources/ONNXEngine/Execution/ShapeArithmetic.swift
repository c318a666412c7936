/// Products of dimensions, checked in one place.
///
/// Every tensor the engine decodes, accepts or computes has an extent (the product of its
/// dimensions with zeros counted as one) of at most ``maximumElements``. A zero beside huge
/// dimensions describes no data, but the strides and partial products the kernels take of
/// such a shape would still overflow; bounding the extent bounds all of them.
extension Shapes {
    /// The most elements one tensor may have, and the largest extent its shape may have.
    static let maximumElements = 1 << 31

    /// The element count of `dimensions`, or nil when one is negative or their extent
    /// exceeds ``maximumElements``.
    static func checkedProduct(_ dimensions: some Sequence<Int>) -> Int? {
        var extent = 1
        var product = 1
        for d in dimensions {
            guard d >= 0 else { return nil }
            let (next, overflow) = extent.multipliedReportingOverflow(by: Swift.max(d, 1))
            guard !overflow, next <= maximumElements else { return nil }
            extent = next
            // Never above the extent just checked, so this cannot overflow.
            product *= d
        }
        return product
    }

    /// The element count of `shape`, or nil when it is negative or too large.
    static func checkedCount(_ shape: [Int]) -> Int? {
        checkedProduct(shape)
    }

    /// The element count of a shape a kernel is about to index or produce.
    static func count(_ shape: [Int]) throws(ONNXError) -> Int {
        try product(shape, axes: shape.indices)
    }

    /// The product of `shape[axes]` (the rows before an axis, the run after it).
    static func product(_ shape: [Int], axes: Range<Int>) throws(ONNXError) -> Int {
        guard axes.lowerBound >= 0, axes.upperBound <= shape.count, let product = checkedProduct(shape[axes]) else {
            throw tooLarge(shape)
        }
        return product
    }

    /// Row-major strides.
    static func strides(_ shape: [Int]) throws(ONNXError) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var extent = 1
        for axis in shape.indices.reversed() {
            strides[axis] = extent
            let (next, overflow) = extent.multipliedReportingOverflow(by: Swift.max(shape[axis], 1))
            guard shape[axis] >= 0, !overflow, next <= maximumElements else { throw tooLarge(shape) }
            extent = next
        }
        return strides
    }

    static func tooLarge(_ shape: [Int]) -> ONNXError {
        .runtime(
            "shape \(describe(shape)) is negative or too large (at most \(maximumElements) elements, "
                + "counting zero dimensions as one)")
    }

    /// A shape for a message, shortened when it has many dimensions.
    static func describe(_ shape: [Int]) -> String {
        let shown = shape.prefix(16).map(String.init).joined(separator: ", ")
        return "[" + shown + (shape.count > 16 ? ", … (\(shape.count) dimensions)]" : "]")
    }
}

/// Shape arithmetic shared by the kernels.
enum Shapes {
    /// numpy broadcasting of two shapes.
    static func broadcast(_ a: [Int], _ b: [Int]) throws(ONNXError) -> [Int] {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 {
                result[i] = da
            } else if da == 1 {
                result[i] = db
            } else {
                throw .runtime("shapes \(describe(a)) and \(describe(b)) cannot be broadcast together")
            }
        }
        return result
    }

    /// Strides for reading `shape` as if broadcast to `target` (0 along broadcast axes).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) throws(ONNXError) -> [Int] {
        let own = try strides(shape)
        let offset = target.count - shape.count
        return target.indices.map { axis in
            let i = axis - offset
            return i < 0 || shape[i] == 1 ? 0 : own[i]
        }
    }

    /// An axis attribute in [-rank, rank) turned into [0, rank).
    static func normalize(axis: Int, rank: Int, label: String) throws(ONNXError) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < rank else {
            throw .runtime("\(label): axis \(axis) is out of range for rank \(rank)")
        }
        return resolved
    }

    /// Reads an int64 (or int32) tensor as Ints, e.g. a Reshape target or Unsqueeze axes.
    static func intValues(_ tensor: ONNXTensor) throws(ONNXError) -> [Int] {
        switch tensor.storage {
        case .int64(let a): return a.map { Int($0) }
        case .int32(let a): return a.map { Int($0) }
        default: throw .runtime("expected an integer tensor, got \(tensor.elementType)")
        }
    }
}

/// Visits the elements of `shape` broadcast from two operands: calls `body(outIndex, aIndex,
/// bIndex, innerCount, aInnerStride, bInnerStride)` once per run of the innermost axis.
@inline(__always)
func forEachBroadcastRow(
    outShape: [Int], aStrides: [Int], bStrides: [Int],
    _ body: (Int, Int, Int, Int, Int, Int) -> Void
) throws(ONNXError) {
    let rank = outShape.count
    if rank == 0 {
        body(0, 0, 0, 1, 0, 0)
        return
    }
    // Checked as a whole, so no offset below (each less than the count) can overflow.
    guard try Shapes.count(outShape) > 0 else { return }
    let inner = outShape[rank - 1]
    let rows = try Shapes.product(outShape, axes: 0..<(rank - 1))
    var index = [Int](repeating: 0, count: max(rank - 1, 0))
    var aOffset = 0
    var bOffset = 0
    for row in 0..<rows {
        body(row * inner, aOffset, bOffset, inner, aStrides[rank - 1], bStrides[rank - 1])
        // Advance the odometer over the outer axes.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            aOffset += aStrides[axis]
            bOffset += bStrides[axis]
            if index[axis] < outShape[axis] { break }
            aOffset -= aStrides[axis] * outShape[axis]
            bOffset -= bStrides[axis] * outShape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

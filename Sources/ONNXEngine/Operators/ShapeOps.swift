/// Operators that only change a tensor's shape: the output shares the input's storage.
struct ReshapeKernel: Kernel {
    enum Form {
        case flatten(axis: Int)
        case reshape(fixed: [Int]?, allowZero: Bool)
        case squeeze(fixed: [Int]?)
        case unsqueeze(fixed: [Int]?)
        case identity
    }
    let form: Form

    static let flatten: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        let type = try context.inputType(0)
        let axis = try context.attributes.int("axis", default: 1)
        try context.checkAxis(axis, rank: context.inputRank(0), inclusive: true)
        return CompiledNode(ReshapeKernel(form: .flatten(axis: axis)), outputTypes: [type], outputRanks: [2])
    }

    static let identity: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        return CompiledNode(
            ReshapeKernel(form: .identity), outputTypes: [try context.inputType(0)], outputRanks: [context.inputRank(0)])
    }

    static let reshape: KernelFactory = { context throws(ONNXError) in
        let type = try context.inputType(0)
        if context.opset < 5 {
            try context.expectInputs(1...1)
            context.attributes.ignore("consumed_inputs")
            guard let shape = try context.attributes.ints("shape") else { throw context.invalid("needs a shape") }
            return CompiledNode(
                ReshapeKernel(form: .reshape(fixed: shape.map { Int($0) }, allowZero: false)),
                outputTypes: [type], outputRanks: [shape.count])
        }
        try context.expectInputs(2...2)
        try context.require(try context.inputType(1), in: [.int64], for: "shape")
        let allowZero = try context.attributes.int("allowzero", default: 0) != 0
        return CompiledNode(ReshapeKernel(form: .reshape(fixed: nil, allowZero: allowZero)), outputTypes: [type])
    }

    /// Squeeze and Unsqueeze take `axes` as an attribute before opset 13 and as an input after.
    static func axesForm(unsqueeze: Bool) -> KernelFactory {
        { context throws(ONNXError) in
            let type = try context.inputType(0)
            var fixed: [Int]?
            var outputRank: Int?
            if context.opset < 13 {
                try context.expectInputs(1...1)
                fixed = try context.attributes.ints("axes").map { $0.map { Int($0) } }
                if unsqueeze && fixed == nil { throw context.invalid("needs axes") }
                if let fixed, let rank = context.inputRank(0) {
                    // Unsqueeze's axes index the output, Squeeze's the input.
                    outputRank = unsqueeze ? rank + fixed.count : nil
                    for axis in fixed {
                        try context.checkAxis(
                            axis, rank: unsqueeze ? rank + fixed.count : rank, name: "axes entry",
                            of: unsqueeze ? "the output" : "an input")
                    }
                }
            } else {
                try context.expectInputs(unsqueeze ? 2...2 : 1...2)
                if context.inputTypes.count > 1, let axesType = context.inputTypes[1] {
                    try context.require(axesType, in: [.int64], for: "axes")
                }
            }
            let form: Form = unsqueeze ? .unsqueeze(fixed: fixed) : .squeeze(fixed: fixed)
            return CompiledNode(ReshapeKernel(form: form), outputTypes: [type], outputRanks: [outputRank])
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let shape = x.shape
        let newShape: [Int]
        switch form {
        case .identity:
            newShape = shape
        case .flatten(let axis):
            let resolved = axis < 0 ? axis + shape.count : axis
            guard resolved >= 0, resolved <= shape.count else {
                throw .runtime("Flatten: axis \(axis) is out of range for rank \(shape.count)")
            }
            newShape = [
                try Shapes.product(shape, axes: 0..<resolved), try Shapes.product(shape, axes: resolved..<shape.count),
            ]
        case .reshape(let fixed, let allowZero):
            var requested: [Int]
            if let fixed { requested = fixed } else { requested = try Shapes.intValues(inputs.required(1)) }
            newShape = try Self.resolveReshape(shape, requested, allowZero: allowZero)
        case .squeeze(let fixed):
            var axes = fixed
            if axes == nil, let tensor = inputs.optional(1) { axes = try Shapes.intValues(tensor) }
            newShape = try Self.squeeze(shape, axes)
        case .unsqueeze(let fixed):
            var axes: [Int]
            if let fixed { axes = fixed } else { axes = try Shapes.intValues(inputs.required(1)) }
            newShape = try Self.unsqueeze(shape, axes)
        }
        outputs[0] = try x.reshaped(newShape)
    }

    static func resolveReshape(_ shape: [Int], _ requested: [Int], allowZero: Bool) throws(ONNXError) -> [Int] {
        var result = requested
        var inferred: Int?
        for (i, d) in requested.enumerated() {
            if d == 0 && !allowZero {
                guard i < shape.count else { throw .runtime("Reshape: 0 at axis \(i) has no input axis to copy") }
                result[i] = shape[i]
            } else if d == -1 {
                guard inferred == nil else { throw .runtime("Reshape: more than one -1 in \(requested)") }
                inferred = i
            } else if d < 0 {
                throw .runtime("Reshape: invalid dimension \(d)")
            }
        }
        let total = try Shapes.count(shape)
        if let inferred {
            var others = result
            others[inferred] = 1
            guard let known = Shapes.checkedCount(others), known > 0, total % known == 0 else {
                throw .runtime("Reshape: cannot reshape \(shape) to \(requested)")
            }
            result[inferred] = total / known
        }
        guard Shapes.checkedCount(result) == total else {
            throw .runtime("Reshape: cannot reshape \(shape) to \(requested)")
        }
        return result
    }

    static func squeeze(_ shape: [Int], _ axes: [Int]?) throws(ONNXError) -> [Int] {
        guard let axes else { return shape.filter { $0 != 1 } }
        var drop = Set<Int>()
        for axis in axes {
            let resolved = try Shapes.normalize(axis: axis, rank: shape.count, label: "Squeeze")
            guard shape[resolved] == 1 else {
                throw .runtime("Squeeze: axis \(axis) of shape \(shape) is not 1")
            }
            drop.insert(resolved)
        }
        return shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
    }

    static func unsqueeze(_ shape: [Int], _ axes: [Int]) throws(ONNXError) -> [Int] {
        let rank = shape.count + axes.count
        var inserted = Set<Int>()
        for axis in axes {
            let resolved = try Shapes.normalize(axis: axis, rank: rank, label: "Unsqueeze")
            guard inserted.insert(resolved).inserted else { throw .runtime("Unsqueeze: axis \(axis) repeats") }
        }
        var result: [Int] = []
        result.reserveCapacity(rank)
        var next = 0
        for axis in 0..<rank {
            if inserted.contains(axis) {
                result.append(1)
            } else {
                // The axes are distinct and in range, so exactly shape.count positions land here.
                result.append(shape[next])
                next += 1
            }
        }
        return result
    }
}

/// Transpose: permutes axes (reversing them when `perm` is absent).
struct TransposeKernel: Kernel {
    let permutation: [Int]?

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        let perm = try context.attributes.ints("perm").map { $0.map { Int($0) } }
        let rank = context.inputRank(0)
        if let perm {
            try checkPermutation(perm, context)
            if let rank, perm.count != rank {
                throw context.invalid("perm has \(perm.count) entries for an input of rank \(rank)")
            }
        }
        return CompiledNode(
            TransposeKernel(permutation: perm), outputTypes: [try context.inputType(0)], outputRanks: [rank])
    }

    /// `perm` must name each of the axes 0..<perm.count exactly once.
    static func checkPermutation(_ perm: [Int], _ context: NodeContext) throws(ONNXError) {
        var seen = [Bool](repeating: false, count: perm.count)
        for axis in perm {
            guard axis >= 0, axis < perm.count else {
                throw context.invalid("perm entry \(axis) is out of range [0, \(perm.count))")
            }
            guard !seen[axis] else { throw context.invalid("perm names axis \(axis) twice") }
            seen[axis] = true
        }
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let rank = x.shape.count
        let perm = permutation ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw .runtime("Transpose: perm \(perm) does not match rank \(rank)")
        }
        switch x.storage {
        case .float(let a): try permute(a, x.shape, perm, &outputs[0])
        case .double(let a): try permute(a, x.shape, perm, &outputs[0])
        case .int64(let a): try permute(a, x.shape, perm, &outputs[0])
        case .int32(let a): try permute(a, x.shape, perm, &outputs[0])
        case .bool(let a): try permute(a, x.shape, perm, &outputs[0])
        case .string(let a): try permute(a, x.shape, perm, &outputs[0])
        }
    }

    @inline(__always)
    private func permute<T: TensorElement>(_ a: [T], _ shape: [Int], _ perm: [Int], _ out: inout ONNXTensor) throws(ONNXError) {
        let outShape = perm.map { shape[$0] }
        let inStrides = try Shapes.strides(shape)
        // Reading strides in output axis order.
        let strides = perm.map { inStrides[$0] }
        let zeros = [Int](repeating: 0, count: outShape.count)
        try out.overwrite(T.self, shape: outShape) { dst throws(ONNXError) in
            try a.withUnsafeBufferPointer { src throws(ONNXError) in
                try forEachBroadcastRow(outShape: outShape, aStrides: strides, bStrides: zeros) { o, i, _, n, d, _ in
                    for k in 0..<n { dst[o + k] = src[i + k * d] }
                }
            }
        }
    }
}

/// Concat along one axis.
struct ConcatKernel: Kernel {
    let axis: Int

    static let factory: KernelFactory = { context throws(ONNXError) in
        guard !context.inputTypes.isEmpty else { throw context.invalid("needs inputs") }
        let type = try context.inputType(0)
        for i in context.inputTypes.indices {
            guard try context.inputType(i) == type else { throw context.invalid("inputs must share one type") }
        }
        let axis = try context.attributes.int("axis", default: context.opset < 4 ? 1 : Int.min)
        guard axis != Int.min else { throw context.invalid("needs an axis") }
        let ranks = Set(context.inputRanks.compactMap { $0 })
        guard ranks.count <= 1 else { throw context.invalid("inputs have different ranks \(ranks.sorted())") }
        try context.checkAxis(axis, rank: ranks.first)
        return CompiledNode(ConcatKernel(axis: axis), outputTypes: [type], outputRanks: [ranks.first])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let parts = try inputs.indices.map { i throws(ONNXError) in try inputs.required(i) }
        guard let first = parts.first else { throw .runtime("Concat: no inputs") }
        let rank = first.shape.count
        let resolved = try Shapes.normalize(axis: axis, rank: rank, label: "Concat")
        var shape = first.shape
        shape[resolved] = 0
        for part in parts {
            guard part.shape.count == rank,
                part.shape.indices.allSatisfy({ $0 == resolved || part.shape[$0] == first.shape[$0] })
            else {
                throw .runtime(
                    "Concat: shapes \(Shapes.describe(first.shape)) and \(Shapes.describe(part.shape)) differ off axis \(axis)")
            }
            let (sum, overflow) = shape[resolved].addingReportingOverflow(part.shape[resolved])
            guard !overflow else { throw Shapes.tooLarge(shape) }
            shape[resolved] = sum
        }
        switch first.storage {
        case .float: try join(Float.self, parts, shape, resolved, &outputs[0])
        case .double: try join(Double.self, parts, shape, resolved, &outputs[0])
        case .int64: try join(Int64.self, parts, shape, resolved, &outputs[0])
        case .int32: try join(Int32.self, parts, shape, resolved, &outputs[0])
        case .bool: try join(Bool.self, parts, shape, resolved, &outputs[0])
        case .string: try join(String.self, parts, shape, resolved, &outputs[0])
        }
    }

    @inline(__always)
    private func join<T: TensorElement>(
        _: T.Type, _ parts: [ONNXTensor], _ shape: [Int], _ axis: Int, _ out: inout ONNXTensor
    ) throws(ONNXError) {
        let outer = try Shapes.product(shape, axes: 0..<axis)
        let inner = try Shapes.product(shape, axes: (axis + 1)..<shape.count)
        let arrays = try parts.map { p throws(ONNXError) in try p.elements(T.self) }
        try out.overwrite(T.self, shape: shape) { dst in
            var offset = 0
            for o in 0..<outer {
                for (p, part) in parts.enumerated() {
                    let block = part.shape[axis] * inner
                    let source = arrays[p]
                    for k in 0..<block { dst[offset + k] = source[o * block + k] }
                    offset += block
                }
            }
        }
    }
}

/// TreeEnsembleRegressor: leaf weights per target combined by SUM, AVERAGE, MIN or MAX.
struct TreeEnsembleRegressorKernel: Kernel {
    enum Aggregate: String { case sum = "SUM", average = "AVERAGE", min = "MIN", max = "MAX" }

    /// The most targets a model may ask for: unlike classes, which are listed, the count is a
    /// single attribute, and each run allocates a score per target and row.
    static let maximumTargets = 1 << 20

    let table: TreeTable
    let targets: Int
    let aggregate: Aggregate
    let baseValues: [Double]
    let transform: PostTransform

    var constantBytes: Int { table.byteSize }

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: numericFeatureTypes)
        let targets = try context.attributes.int("n_targets", default: 1)
        guard targets > 0, targets <= maximumTargets else {
            throw context.invalid("n_targets \(targets) is outside 1...\(maximumTargets)")
        }
        let name = try context.attributes.string("aggregate_function", default: "SUM")
        guard let aggregate = Aggregate(rawValue: name) else { throw context.unsupported("aggregate_function \(name)") }
        let base = try TreeTable.doubles(context, "base_values")
        guard base.isEmpty || base.count == targets || (targets == 1 && base.count == 1) else {
            throw context.invalid("base_values has \(base.count) entries for \(targets) targets")
        }
        let kernel = TreeEnsembleRegressorKernel(
            table: try TreeTable(context, weightPrefix: "target", outputs: targets),
            targets: targets, aggregate: aggregate, baseValues: base, transform: try PostTransform(context))
        return CompiledNode(kernel, outputTypes: [.float])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let rows = x.shape.count == 2 ? x.shape[0] : 1
        let targets = targets
        // Scratch rows through pointers: captured arrays would be uniqueness-checked per write.
        let scores = UnsafeMutableBufferPointer<Double>.allocate(capacity: targets)
        let has = UnsafeMutableBufferPointer<Bool>.allocate(capacity: targets)
        defer {
            scores.deallocate()
            has.deallocate()
        }
        let treeCount = Double(table.roots.count)
        try outputs[0].overwrite(Float.self, shape: [rows, targets]) { dst throws(ONNXError) in
            _ = try forEachFeatureRow(x, largestFeature: table.largestFeature) { row, feature in
                for t in 0..<targets {
                    scores[t] = 0
                    has[t] = false
                }
                for root in table.roots {
                    let leaf = table.leaf(from: root, feature)
                    for w in table.weightStart[leaf]..<table.weightStart[leaf + 1] {
                        let t = table.weightTargets[w]
                        let v = table.weightValues[w]
                        switch aggregate {
                        case .sum, .average: scores[t] = table.sum(scores[t], v)
                        case .min: scores[t] = has[t] ? Swift.min(scores[t], v) : v
                        case .max: scores[t] = has[t] ? Swift.max(scores[t], v) : v
                        }
                        has[t] = true
                    }
                }
                let out = UnsafeMutableBufferPointer(rebasing: dst[(row * targets)..<((row + 1) * targets)])
                for t in 0..<targets {
                    var value = aggregate == .average ? table.rounded(scores[t] / treeCount) : scores[t]
                    if baseValues.count == targets { value = table.sum(value, baseValues[t]) }
                    out[t] = Float(value)
                }
                // As in onnxruntime, a single target is only transformed by PROBIT.
                if targets > 1 || transform == .probit { transform.apply(out) }
            }
        }
    }
}

/// TreeEnsembleClassifier: leaf weights summed per class, then onnxruntime's rules for the
/// label and the scores, including its special handling of two-class models.
struct TreeEnsembleClassifierKernel: Kernel {
    let table: TreeTable
    let labels: ClassLabels
    let baseValues: [Double]
    let transform: PostTransform
    /// Two classes but weights for only one of them (one score per row).
    let binaryCase: Bool
    let weightsArePositive: Bool

    var constantBytes: Int { table.byteSize + labels.byteSize }

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: numericFeatureTypes)
        let labels = try ClassLabels.read(context, ints: "classlabels_int64s")
        guard labels.count > 0 else { throw context.invalid("needs class labels") }
        if labels.count == 1, case .strings = labels {
            // onnxruntime labels a positive one-class score with the second label, which a
            // one-class model does not have.
            throw context.unsupported("a single string class label (a positive score has no label)")
        }
        let base = try TreeTable.doubles(context, "base_values")
        let table = try TreeTable(context, weightPrefix: "class", outputs: labels.count)
        let kernel = TreeEnsembleClassifierKernel(
            table: table, labels: labels, baseValues: base, transform: try PostTransform(context),
            binaryCase: labels.count == 2 && Set(table.weightTargets).count == 1,
            weightsArePositive: table.weightValues.allSatisfy { $0 >= 0 })
        guard base.count <= labels.count else { throw context.invalid("more base_values than classes") }
        return CompiledNode(kernel, outputTypes: [labels.elementType, .float])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let rows = x.shape.count == 2 ? x.shape[0] : 1
        let classes = labels.count
        let scores = UnsafeMutableBufferPointer<Double>.allocate(capacity: classes)
        let has = UnsafeMutableBufferPointer<Bool>.allocate(capacity: classes)
        defer {
            scores.deallocate()
            has.deallocate()
        }
        var chosen = [Int](repeating: 0, count: rows)
        var literal = [Int64?](repeating: nil, count: rows)
        try outputs[1].overwrite(Float.self, shape: [rows, classes]) { dst throws(ONNXError) in
            _ = try forEachFeatureRow(x, largestFeature: table.largestFeature) { row, feature in
                for c in 0..<classes {
                    scores[c] = 0
                    has[c] = false
                }
                for root in table.roots {
                    let leaf = table.leaf(from: root, feature)
                    for w in table.weightStart[leaf]..<table.weightStart[leaf + 1] {
                        let c = table.weightTargets[w]
                        scores[c] = table.sum(scores[c], table.weightValues[w])
                        has[table.weightTargets[w]] = true
                    }
                }
                let out = UnsafeMutableBufferPointer(rebasing: dst[(row * classes)..<((row + 1) * classes)])
                if classes == 1 {
                    literal[row] = finishSingle(scores[0], out)
                } else if classes > 2 {
                    for k in baseValues.indices {
                        scores[k] = table.sum(scores[k], baseValues[k])
                        has[k] = true
                    }
                    var best = -1
                    for c in 0..<classes where has[c] && (best == -1 || scores[c] > scores[best]) { best = c }
                    chosen[row] = Swift.max(best, 0)
                    for c in 0..<classes { out[c] = Float(scores[c]) }
                    transform.apply(out)
                } else {
                    let (label, literalLabel) = finishBinary(scores, has, out)
                    chosen[row] = label
                    literal[row] = literalLabel
                }
            }
        }
        switch labels {
        case .ints(let l):
            outputs[0].assign(zip(chosen, literal).map { $1 ?? l[$0] }, shape: [rows])
        case .strings(let l):
            outputs[0].assign(zip(chosen, literal).map { l[$1.map { Int($0) } ?? $0] }, shape: [rows])
        }
    }

    /// One class: onnxruntime's one-score rule for models that are not binary. The score
    /// (plus the base value) is written as is, transformed only by PROBIT, and the label is the
    /// literal 1 when it is positive, else 0.
    private func finishSingle(_ score: Double, _ out: UnsafeMutableBufferPointer<Float>) -> Int64 {
        let total = baseValues.isEmpty ? score : table.sum(score, baseValues[0])
        out[0] = transform == .probit ? PostTransform.probit(Float(total)) : Float(total)
        return total > 0 ? 1 : 0
    }

    /// Two classes: returns the label index (or, when the model is not a one-score binary
    /// model, the literal label 1 or 0 that onnxruntime reports) and writes both scores.
    private func finishBinary(
        _ scores: UnsafeMutableBufferPointer<Double>, _ has: UnsafeMutableBufferPointer<Bool>,
        _ out: UnsafeMutableBufferPointer<Float>
    ) -> (Int, Int64?) {
        var single = false
        var mode = -1
        switch baseValues.count {
        case 2:
            if has[1] {
                // onnxruntime's reading: base_values[0] is unused and class 0 keeps its score.
                scores[1] = table.sum(baseValues[1], scores[0])
            } else {
                scores[1] = table.sum(scores[1], baseValues[1])
                scores[0] = table.sum(scores[0], baseValues[0])
            }
            has[1] = true
        case 1:
            scores[0] = table.sum(scores[0], baseValues[0])
            single = !has[1]
        default:
            mode = 3
            single = !has[1]
        }
        let positive = !single && has[1] ? scores[1] : (has[0] ? scores[0] : 0)
        var label: Int
        var literal: Int64?
        if binaryCase {
            if weightsArePositive {
                (mode, label) = positive > 0.5 ? (0, 1) : (1, 0)
            } else {
                (mode, label) = positive > 0 ? (2, 1) : (3, 0)
            }
        } else {
            label = positive > 0 ? 1 : 0
            literal = Int64(label)
        }
        if case .strings = labels { literal = nil }
        if !single {
            out[0] = Float(scores[0])
            out[1] = Float(scores[1])
            transform.apply(out)
            return (label, literal)
        }
        let s = Float(scores[0])
        if transform == .probit {
            out[0] = PostTransform.probit(s)
            out[1] = 0
            return (label, literal)
        }
        switch (mode, transform) {
        case (0, _), (1, _):
            (out[0], out[1]) = (1 - s, s)
        case (2, .logistic), (3, .logistic):
            (out[0], out[1]) = (PostTransform.logistic(-s), PostTransform.logistic(s))
        case (2, _):
            (out[0], out[1]) = (-s, s)
        case (3, _):
            (out[0], out[1]) = (s, -s)
        default:
            (out[0], out[1]) = (s, 0)
        }
        return (label, literal)
    }
}

/// LinearRegressor: `X · coefficientsᵀ + intercepts`, one column per target.
struct LinearRegressorKernel: Kernel {
    let coefficients: [Float]  // targets × features
    let intercepts: [Float]
    let targets: Int
    let transform: PostTransform

    var constantBytes: Int { (coefficients.count + intercepts.count) * 4 }

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: numericFeatureTypes)
        let a = context.attributes
        let coefficients = try a.floats("coefficients") ?? []
        let targets = try a.int("targets", default: 1)
        let given = try a.floats("intercepts")
        // Each target has an intercept or a row of coefficients, so the file bounds `targets`
        // before anything is allocated for it.
        guard targets > 0, targets <= max(coefficients.count, given?.count ?? 0, 1) else {
            throw context.invalid("targets \(targets) does not match \(coefficients.count) coefficients")
        }
        let intercepts = given ?? [Float](repeating: 0, count: targets)
        guard intercepts.count == targets, coefficients.count % targets == 0 else {
            throw context.invalid("coefficients, intercepts and targets disagree")
        }
        let kernel = LinearRegressorKernel(
            coefficients: coefficients, intercepts: intercepts, targets: targets, transform: try PostTransform(context))
        return CompiledNode(kernel, outputTypes: [.float])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let (rows, columns, x) = try featureRows(inputs.required(0))
        guard columns * targets == coefficients.count else {
            throw .runtime("LinearRegressor: expected \(coefficients.count / targets) features, got \(columns)")
        }
        let targets = targets
        try linearScores(x, rows: rows, columns: columns, coefficients, intercepts, &outputs[0])
        // onnxruntime transforms single-target scores only with PROBIT.
        guard transform != .none, targets > 1 || transform == .probit else { return }
        try outputs[0].overwrite(Float.self, shape: [rows, targets]) { dst in
            for r in 0..<rows {
                transform.apply(UnsafeMutableBufferPointer(rebasing: dst[(r * targets)..<((r + 1) * targets)]))
            }
        }
    }
}

/// `out[rows, k] = x · wᵀ + b`, through BLAS.
func linearScores(
    _ x: [Float], rows: Int, columns: Int, _ weights: [Float], _ bias: [Float], _ out: inout ONNXTensor
) throws(ONNXError) {
    let k = bias.count
    try out.overwrite(Float.self, shape: [rows, k]) { dst throws(ONNXError) in
        for r in 0..<rows {
            for j in 0..<k { dst[r * k + j] = bias[j] }
        }
        try x.withUnsafeBufferPointer { px throws(ONNXError) in
            try weights.withUnsafeBufferPointer { pw throws(ONNXError) in
                try matrixMultiply(
                    transA: false, transB: true, m: rows, n: k, k: columns, alpha: 1,
                    px.baseAddress, pw.baseAddress, beta: 1, dst.baseAddress)
            }
        }
    }
}

/// Class labels of a classifier: int64 or string.
enum ClassLabels: Sendable {
    case ints([Int64])
    case strings([String])

    var count: Int {
        switch self {
        case .ints(let a): a.count
        case .strings(let a): a.count
        }
    }

    var elementType: ElementType {
        switch self {
        case .ints: .int64
        case .strings: .string
        }
    }

    var byteSize: Int {
        switch self {
        case .ints(let a): a.count * 8
        case .strings(let a): a.reduce(0) { $0 + $1.utf8.count + 16 }
        }
    }

    static func read(_ context: NodeContext, ints: String = "classlabels_ints", strings: String = "classlabels_strings") throws(ONNXError) -> ClassLabels {
        let i = try context.attributes.ints(ints)
        let s = try context.attributes.strings(strings)
        if let s, !s.isEmpty {
            guard i?.isEmpty ?? true else { throw context.invalid("has both int and string class labels") }
            return .strings(s)
        }
        return .ints(i ?? [])
    }

    /// Writes labels chosen by index into `out` (int64 or string tensor of shape [N]).
    func write(_ indices: [Int], into out: inout ONNXTensor) throws(ONNXError) {
        switch self {
        case .ints(let labels): out.assign(indices.map { labels[$0] }, shape: [indices.count])
        case .strings(let labels): out.assign(indices.map { labels[$0] }, shape: [indices.count])
        }
    }
}



/// LinearClassifier: linear scores per class, the top class's label, and transformed scores.
struct LinearClassifierKernel: Kernel {
    let coefficients: [Float]  // classes × features
    let intercepts: [Float]
    let labels: ClassLabels
    let transform: PostTransform

    var constantBytes: Int { (coefficients.count + intercepts.count) * 4 + labels.byteSize }

    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: numericFeatureTypes)
        let a = context.attributes
        _ = try a.int("multi_class")  // onnxruntime ignores it too
        guard let coefficients = try a.floats("coefficients"), !coefficients.isEmpty else {
            throw context.invalid("needs coefficients")
        }
        let intercepts = try a.floats("intercepts") ?? []
        let labels = try ClassLabels.read(context)
        guard !intercepts.isEmpty, coefficients.count % intercepts.count == 0 else {
            throw context.invalid("coefficients and intercepts disagree")
        }
        guard intercepts.count == 1 || labels.count >= intercepts.count else {
            throw context.invalid("has \(intercepts.count) classes but \(labels.count) labels")
        }
        let kernel = LinearClassifierKernel(
            coefficients: coefficients, intercepts: intercepts, labels: labels, transform: try PostTransform(context))
        return CompiledNode(kernel, outputTypes: [labels.elementType, .float])
    }

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let (rows, columns, x) = try featureRows(inputs.required(0))
        let classes = intercepts.count
        guard columns * classes == coefficients.count else {
            throw .runtime("LinearClassifier: expected \(coefficients.count / classes) features, got \(columns)")
        }
        try linearScores(x, rows: rows, columns: columns, coefficients, intercepts, &outputs[1])
        let scores = try outputs[1].elements(Float.self)
        var winners = [Int](repeating: 0, count: rows)
        if classes == 1 {
            // One score: positive means the second label (or 1), as onnxruntime decides.
            switch labels {
            case .ints(let l) where l.count == 2:
                try map(scores, [rows], &outputs[0]) { $0 > 0 ? l[1] : l[0] }
            case .strings(let l):
                let (p, n) = l.count == 2 ? (l[1], l[0]) : ("1", "0")
                outputs[0].assign(scores.map { $0 > 0 ? p : n }, shape: [rows])
            case .ints:
                try map(scores, [rows], &outputs[0]) { $0 > 0 ? Int64(1) : 0 }
            }
        } else {
            for r in 0..<rows {
                var best = 0
                for j in 1..<classes where scores[r * classes + j] > scores[r * classes + best] { best = j }
                winners[r] = best
            }
            try labels.write(winners, into: &outputs[0])
        }
        try finishScores(scores, rows: rows, classes: classes, &outputs[1])
    }

    private func finishScores(_ scores: [Float], rows: Int, classes: Int, _ out: inout ONNXTensor) throws(ONNXError) {
        let transform = transform
        if classes == 1 && labels.count == 2 {
            // Binary with one weight row: report [1 - s, s] (raw scores, as onnxruntime does).
            let probit = transform == .probit
            try out.overwrite(Float.self, shape: [rows, probit ? 1 : 2]) { dst in
                for r in 0..<rows {
                    if probit {
                        dst[r] = PostTransform.probit(scores[r])
                    } else {
                        dst[2 * r] = 1 - scores[r]
                        dst[2 * r + 1] = scores[r]
                    }
                }
            }
            return
        }
        guard transform != .none, classes > 1 || transform == .probit else { return }
        try out.overwrite(Float.self, shape: [rows, classes]) { dst in
            for r in 0..<rows {
                transform.apply(UnsafeMutableBufferPointer(rebasing: dst[(r * classes)..<((r + 1) * classes)]))
            }
        }
    }
}

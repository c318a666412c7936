/// The labels that name the columns of a ZipMap output.
public enum ZipMapLabels: Sendable, Hashable {
    case ints([Int64])
    case strings([String])

    public var count: Int {
        switch self {
        case .ints(let a): a.count
        case .strings(let a): a.count
        }
    }
}

/// ZipMap, in tensor form.
///
/// ONNX's ZipMap turns an [N, C] probability tensor into a sequence of N maps
/// `{label_j: probability}`. The engine keeps the probabilities as the float [N, C] tensor
/// itself and reports the C labels once, in the output's ``TensorInfo/zipMapLabels``: row i,
/// column j of the tensor is the probability of label j for input row i. This is the same
/// information without building N dictionaries per request, and it maps directly onto the
/// Open Inference Protocol's tensors.
struct ZipMapKernel: Kernel {
    static let factory: KernelFactory = { context throws(ONNXError) in
        try context.expectInputs(1...1)
        try context.require(try context.inputType(0), in: [.float])
        let labels: ZipMapLabels
        switch try ClassLabels.read(context, ints: "classlabels_int64s", strings: "classlabels_strings") {
        case .ints(let a): labels = .ints(a)
        case .strings(let a): labels = .strings(a)
        }
        guard labels.count > 0 else { throw context.invalid("needs class labels") }
        var compiled = CompiledNode(ZipMapKernel(columns: labels.count), outputTypes: [.float])
        compiled.zipMapLabels[0] = labels
        return compiled
    }

    let columns: Int

    func run(_ inputs: [ONNXTensor?], _ outputs: inout [ONNXTensor]) throws(ONNXError) {
        let x = try inputs.required(0)
        let shape = x.shape.count == 1 ? [1, x.shape[0]] : x.shape
        guard shape.count == 2, shape[1] == columns else {
            throw .runtime("ZipMap: expected [N, \(columns)] probabilities, got \(x.shape)")
        }
        outputs[0] = try x.reshaped(shape)
    }
}

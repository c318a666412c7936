/// The supported operators, by domain and type.
enum OperatorRegistry {
    static let standardDomain = "ai.onnx"
    static let mlDomain = "ai.onnx.ml"

    /// ONNX spells the default domain both "" and "ai.onnx".
    static func canonicalDomain(_ domain: String) -> String {
        domain.isEmpty ? standardDomain : domain
    }

    static let factories: [String: [String: KernelFactory]] = [
        standardDomain: [
            "Add": BinaryArithmeticKernel.factory(.add),
            "Sub": BinaryArithmeticKernel.factory(.sub),
            "Mul": BinaryArithmeticKernel.factory(.mul),
            "Div": BinaryArithmeticKernel.factory(.div),
            "Relu": UnaryKernel.factory(.relu),
            "LeakyRelu": UnaryKernel.factory(.leakyRelu),
            "Sigmoid": UnaryKernel.factory(.sigmoid),
            "Tanh": UnaryKernel.factory(.tanh),
            "Gemm": GemmKernel.factory,
            "MatMul": MatMulKernel.factory,
            "Softmax": SoftmaxKernel.factory(logarithm: false),
            "LogSoftmax": SoftmaxKernel.factory(logarithm: true),
            "Flatten": ReshapeKernel.flatten,
            "Reshape": ReshapeKernel.reshape,
            "Identity": ReshapeKernel.identity,
            "Squeeze": ReshapeKernel.axesForm(unsqueeze: false),
            "Unsqueeze": ReshapeKernel.axesForm(unsqueeze: true),
            "Transpose": TransposeKernel.factory,
            "Concat": ConcatKernel.factory,
            "Cast": CastKernel.factory,
            "ArgMax": ArgMaxKernel.factory,
            // Constant is evaluated at load time; see ConstantFolding.
        ],
        mlDomain: [
            "LinearClassifier": LinearClassifierKernel.factory,
            "LinearRegressor": LinearRegressorKernel.factory,
            "TreeEnsembleClassifier": TreeEnsembleClassifierKernel.factory,
            "TreeEnsembleRegressor": TreeEnsembleRegressorKernel.factory,
            "Scaler": ScalerKernel.factory,
            "Normalizer": NormalizerKernel.factory,
            "ArrayFeatureExtractor": ArrayFeatureExtractorKernel.factory,
            "LabelEncoder": LabelEncoderKernel.factory,
            "ZipMap": ZipMapKernel.factory,
        ],
    ]

    static func isSupported(domain: String, opType: String) -> Bool {
        let domain = canonicalDomain(domain)
        return (domain == standardDomain && opType == "Constant") || factories[domain]?[opType] != nil
    }

    /// Every supported operator as `domain:OpType`, for documentation and error messages.
    static var supportedOperators: [String] {
        var names = factories.flatMap { domain, ops in ops.keys.map { "\(domain):\($0)" } }
        names.append("\(standardDomain):Constant")
        return names.sorted()
    }
}

/// Constant nodes become load-time tensors.
enum ConstantFolding {
    static func value(of context: NodeContext) throws(ONNXError) -> ONNXTensor {
        guard context.inputTypes.isEmpty, context.node.output.count == 1 else {
            throw context.invalid("Constant takes no inputs and has one output")
        }
        let a = context.attributes
        if a.has("sparse_value") {
            a.touch("sparse_value")
            throw context.unsupported("sparse constants")
        }
        var found: [ONNXTensor] = []
        if let t = try a.tensor("value") { found.append(t) }
        if context.opset >= 12 {
            if let f = try a.float("value_float") { found.append(ONNXTensor(unchecked: [], .float([f]))) }
            if let f = try a.floats("value_floats") { found.append(ONNXTensor(unchecked: [f.count], .float(f))) }
            if let i = try a.int("value_int") { found.append(ONNXTensor(unchecked: [], .int64([Int64(i)]))) }
            if let i = try a.ints("value_ints") { found.append(ONNXTensor(unchecked: [i.count], .int64(i))) }
            if let s = try a.string("value_string") { found.append(ONNXTensor(unchecked: [], .string([s]))) }
            if let s = try a.strings("value_strings") { found.append(ONNXTensor(unchecked: [s.count], .string(s))) }
        }
        guard found.count == 1 else { throw context.invalid("needs exactly one value attribute") }
        return found[0]
    }
}

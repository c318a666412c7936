import MeshCore
/// An inference request (`$inference_request`).
public struct InferenceRequest: Sendable, Hashable {
    public struct RequestedOutput: Sendable, Hashable {
        public var name: String
        public var parameters: Parameters
        public init(name: String, parameters: Parameters = Parameters()) {
            self.name = name
            self.parameters = parameters
        }
    }

    public var id: String?
    public var parameters: Parameters
    public var inputs: [Tensor]
    /// Empty: return every output.
    public var outputs: [RequestedOutput]

    public init(id: String? = nil, parameters: Parameters = Parameters(), inputs: [Tensor], outputs: [RequestedOutput] = []) {
        self.id = id
        self.parameters = parameters
        self.inputs = inputs
        self.outputs = outputs
    }

    public func input(named name: String) -> Tensor? { inputs.first { $0.name == name } }
}

/// An inference response (`$inference_response`).
public struct InferenceResponse: Sendable, Hashable {
    public var modelName: String
    public var modelVersion: String?
    public var id: String?
    public var parameters: Parameters
    public var outputs: [Tensor]

    public init(modelName: String, modelVersion: String? = nil, id: String? = nil, parameters: Parameters = Parameters(), outputs: [Tensor]) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.outputs = outputs
    }

    /// Keeps only the requested outputs (all when none were named), in the requested order.
    public func selecting(_ requested: [InferenceRequest.RequestedOutput]) throws(MeshError) -> InferenceResponse {
        guard !requested.isEmpty else { return self }
        var copy = self
        copy.outputs = try requested.map { want throws(MeshError) in
            guard let output = outputs.first(where: { $0.name == want.name }) else {
                throw .invalidArgument("requested output '\(want.name)' does not exist; the model has \(outputs.map { "'\($0.name)'" }.joined(separator: ", "))")
            }
            return output
        }
        return copy
    }
}

/// One input or output in model metadata. `-1` marks a variable dimension.
public struct TensorMetadata: Sendable, Hashable {
    public var name: String
    public var datatype: DataType
    public var shape: [Int]

    public init(name: String, datatype: DataType, shape: [Int]) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
    }

    /// Whether `shape` fits this declaration (same rank; fixed dimensions equal).
    public func accepts(shape actual: [Int]) -> Bool {
        actual.count == shape.count && zip(shape, actual).allSatisfy { $0 < 0 || $0 == $1 }
    }
}

/// `GET /v2/models/{m}`.
public struct ModelMetadata: Sendable, Hashable {
    public var name: String
    public var versions: [String]
    public var platform: String
    public var inputs: [TensorMetadata]
    public var outputs: [TensorMetadata]

    public init(name: String, versions: [String] = [], platform: String, inputs: [TensorMetadata], outputs: [TensorMetadata]) {
        self.name = name
        self.versions = versions
        self.platform = platform
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Checks the request's inputs against the declared ones: every declared input present, no
    /// unknown input, datatypes equal and shapes compatible. Errors name the input and what was
    /// expected.
    public func validate(_ request: InferenceRequest) throws(MeshError) {
        guard !inputs.isEmpty else { return }
        for tensor in request.inputs {
            guard let declared = inputs.first(where: { $0.name == tensor.name }) else {
                throw .invalidArgument("unexpected input '\(tensor.name)'; \(name) takes \(inputs.map { "'\($0.name)'" }.joined(separator: ", "))")
            }
            guard declared.datatype == tensor.datatype else {
                throw .invalidArgument("input '\(tensor.name)' has datatype \(tensor.datatype.rawValue) but \(name) expects \(declared.datatype.rawValue)")
            }
            guard declared.accepts(shape: tensor.shape) else {
                throw .invalidArgument("input '\(tensor.name)' has shape \(tensor.shape) but \(name) expects \(declared.shape) (-1: any size)")
            }
        }
        for declared in inputs where request.input(named: declared.name) == nil {
            throw .invalidArgument("missing input '\(declared.name)' (\(declared.datatype.rawValue) \(declared.shape))")
        }
    }
}

/// `GET /v2`.
public struct ServerMetadata: Sendable, Hashable {
    public var name: String
    public var version: String
    public var extensions: [String]

    public init(name: String, version: String, extensions: [String]) {
        self.name = name
        self.version = version
        self.extensions = extensions
    }
}

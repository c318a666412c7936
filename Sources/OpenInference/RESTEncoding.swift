/// Writes Open Inference Protocol REST bodies.
public enum RESTEncoding {
    /// An encoded body and, when it has a binary section, the length of its JSON part
    /// (for the `Inference-Header-Content-Length` header).
    public struct Body: Sendable {
        public var bytes: [UInt8]
        public var jsonLength: Int?
    }

    /// Encodes a response. Outputs go to the binary section when the request asked for it
    /// (`binary_data_output`, or `binary_data` on a requested output), or when they have no JSON
    /// form (FP16, BF16).
    public static func response(_ response: InferenceResponse, for request: InferenceRequest? = nil) -> Body {
        let allBinary = request.map(asksForAllOutputsInBinary) ?? false
        func wantsBinary(_ tensor: Tensor) -> Bool {
            if !tensor.datatype.hasJSONForm { return true }
            if let asked = request?.outputs.first(where: { $0.name == tensor.name })?.parameters["binary_data"]?.boolValue { return asked }
            return allBinary
        }
        var writer = JSONWriter(reservingCapacity: 256)
        var binary: [UInt8] = []
        writer.raw("{\"model_name\":")
        writer.write(response.modelName)
        if let version = response.modelVersion {
            writer.raw(",\"model_version\":")
            writer.write(version)
        }
        if let id = response.id {
            writer.raw(",\"id\":")
            writer.write(id)
        }
        if !response.parameters.isEmpty {
            writer.raw(",\"parameters\":")
            writeParameters(response.parameters, into: &writer)
        }
        writer.raw(",\"outputs\":[")
        for (index, output) in response.outputs.enumerated() {
            if index > 0 { writer.raw(UInt8(ascii: ",")) }
            var parameters = output.parameters
            let binaryData = wantsBinary(output) ? TensorBinary.encode(output.data) : nil
            if let binaryData { parameters["binary_data_size"] = .int(Int64(binaryData.count)) }
            writeTensorHeader(output, parameters: parameters, into: &writer)
            if let binaryData {
                binary.append(contentsOf: binaryData)
            } else {
                writer.raw(",\"data\":")
                TensorJSON.write(output, into: &writer)
            }
            writer.raw(UInt8(ascii: "}"))
        }
        writer.raw("]}")
        guard !binary.isEmpty || response.outputs.contains(where: wantsBinary) else { return Body(bytes: writer.bytes, jsonLength: nil) }
        let jsonLength = writer.bytes.count
        return Body(bytes: writer.bytes + binary, jsonLength: jsonLength)
    }

    /// Whether the request asks for every output in the binary section (`binary_data_output`).
    static func asksForAllOutputsInBinary(_ request: InferenceRequest) -> Bool {
        request.parameters["binary_data_output"]?.boolValue ?? false
    }

    /// Whether the request asks for any output in the binary section, which a JSON answer cannot give.
    public static func asksForBinaryOutput(_ request: InferenceRequest) -> Bool {
        asksForAllOutputsInBinary(request) || request.outputs.contains { $0.parameters["binary_data"]?.boolValue == true }
    }

    /// Encodes a request (clients, tests, the load generator). With `binary`, input data goes to
    /// the binary section.
    public static func request(_ request: InferenceRequest, binary useBinary: Bool = false) -> Body {
        var writer = JSONWriter(reservingCapacity: 256)
        var binary: [UInt8] = []
        writer.raw(UInt8(ascii: "{"))
        if let id = request.id {
            writer.raw("\"id\":")
            writer.write(id)
            writer.raw(UInt8(ascii: ","))
        }
        if !request.parameters.isEmpty {
            writer.raw("\"parameters\":")
            writeParameters(request.parameters, into: &writer)
            writer.raw(UInt8(ascii: ","))
        }
        writer.raw("\"inputs\":[")
        for (index, input) in request.inputs.enumerated() {
            if index > 0 { writer.raw(UInt8(ascii: ",")) }
            var parameters = input.parameters
            let inBinary = useBinary || !input.datatype.hasJSONForm
            let data = inBinary ? TensorBinary.encode(input.data) : nil
            if let data { parameters["binary_data_size"] = .int(Int64(data.count)) }
            writeTensorHeader(input, parameters: parameters, into: &writer)
            if let data {
                binary.append(contentsOf: data)
            } else {
                writer.raw(",\"data\":")
                TensorJSON.write(input, into: &writer)
            }
            writer.raw(UInt8(ascii: "}"))
        }
        writer.raw(UInt8(ascii: "]"))
        if !request.outputs.isEmpty {
            writer.raw(",\"outputs\":[")
            for (index, output) in request.outputs.enumerated() {
                if index > 0 { writer.raw(UInt8(ascii: ",")) }
                writer.raw("{\"name\":")
                writer.write(output.name)
                if !output.parameters.isEmpty {
                    writer.raw(",\"parameters\":")
                    writeParameters(output.parameters, into: &writer)
                }
                writer.raw(UInt8(ascii: "}"))
            }
            writer.raw(UInt8(ascii: "]"))
        }
        writer.raw(UInt8(ascii: "}"))
        guard !binary.isEmpty else { return Body(bytes: writer.bytes, jsonLength: nil) }
        let jsonLength = writer.bytes.count
        return Body(bytes: writer.bytes + binary, jsonLength: jsonLength)
    }

    public static func modelMetadata(_ metadata: ModelMetadata) -> [UInt8] {
        func tensors(_ list: [TensorMetadata]) -> JSONValue {
            .array(list.map { .object([("name", .string($0.name)), ("datatype", .string($0.datatype.rawValue)), ("shape", .array($0.shape.map { .int(Int64($0)) }))]) })
        }
        var writer = JSONWriter()
        writer.write(.object([
            ("name", .string(metadata.name)),
            ("versions", .array(metadata.versions.map(JSONValue.string))),
            ("platform", .string(metadata.platform)),
            ("inputs", tensors(metadata.inputs)),
            ("outputs", tensors(metadata.outputs)),
        ]))
        return writer.bytes
    }

    public static func serverMetadata(_ metadata: ServerMetadata) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(.object([
            ("name", .string(metadata.name)),
            ("version", .string(metadata.version)),
            ("extensions", .array(metadata.extensions.map(JSONValue.string))),
        ]))
        return writer.bytes
    }

    static func writeParameters(_ parameters: Parameters, into writer: inout JSONWriter) {
        writer.write(.object(parameters.entries.map { ($0.0, $0.1.json) }))
    }

    static func writeTensorHeader(_ tensor: Tensor, parameters: Parameters, into writer: inout JSONWriter) {
        writer.raw("{\"name\":")
        writer.write(tensor.name)
        writer.raw(",\"datatype\":\"")
        writer.appendUnescaped(tensor.datatype.rawValue)
        writer.raw("\",\"shape\":[")
        for (index, dimension) in tensor.shape.enumerated() {
            if index > 0 { writer.raw(UInt8(ascii: ",")) }
            writer.write(Int64(dimension))
        }
        writer.raw(UInt8(ascii: "]"))
        if !parameters.isEmpty {
            writer.raw(",\"parameters\":")
            writeParameters(parameters, into: &writer)
        }
    }
}

extension JSONWriter {
    /// Appends text known to need no escaping.
    mutating func appendUnescaped(_ text: String) {
        for byte in text.utf8 { raw(byte) }
    }
}

import MeshCore
/// Reads Open Inference Protocol REST bodies: JSON, optionally followed by the binary tensor
/// extension's raw section (`Inference-Header-Content-Length` gives the JSON part's length).
public enum RESTDecoding {
    /// Decodes an inference request body.
    public static func request(_ body: [UInt8], jsonLength: Int? = nil) throws(MeshError) -> InferenceRequest {
        let (json, binary) = try split(body, jsonLength: jsonLength)
        guard case .object = json else { throw .invalidArgument("the request body must be a JSON object") }
        var reader = BinarySection(bytes: binary)
        let id = try optionalString(json["id"], field: "id")
        let parameters = try decodeParameters(json["parameters"], field: "parameters")
        guard let rawInputs = json["inputs"] else { throw .invalidArgument("the request has no \"inputs\"") }
        guard let inputList = rawInputs.arrayValue else { throw .invalidArgument("\"inputs\" must be an array") }
        guard !inputList.isEmpty else { throw .invalidArgument("\"inputs\" is empty; a request needs at least one input") }
        var inputs: [Tensor] = []
        inputs.reserveCapacity(inputList.count)
        var names = Set<String>()
        for (index, element) in inputList.enumerated() {
            let tensor = try decodeTensor(element, role: "input", index: index, binary: &reader)
            guard names.insert(tensor.name).inserted else { throw .invalidArgument("input '\(tensor.name)' appears twice") }
            inputs.append(tensor)
        }
        guard reader.remaining == 0 else {
            throw .invalidArgument("the binary section has \(reader.remaining) bytes that no input claims (check binary_data_size)")
        }
        var outputs: [InferenceRequest.RequestedOutput] = []
        if let rawOutputs = json["outputs"] {
            guard let list = rawOutputs.arrayValue else { throw .invalidArgument("\"outputs\" must be an array") }
            for (index, element) in list.enumerated() {
                guard case .object = element, let name = element["name"]?.stringValue else {
                    throw .invalidArgument("outputs[\(index)] must be an object with a \"name\"")
                }
                outputs.append(.init(name: name, parameters: try decodeParameters(element["parameters"], field: "outputs[\(index)].parameters")))
            }
        }
        return InferenceRequest(id: id, parameters: parameters, inputs: inputs, outputs: outputs)
    }

    /// Decodes an inference response body (for clients and tests).
    public static func response(_ body: [UInt8], jsonLength: Int? = nil) throws(MeshError) -> InferenceResponse {
        let (json, binary) = try split(body, jsonLength: jsonLength)
        if let error = json["error"]?.stringValue { throw .internalError(error) }
        guard let modelName = json["model_name"]?.stringValue else { throw .invalidArgument("the response has no \"model_name\"") }
        var reader = BinarySection(bytes: binary)
        var outputs: [Tensor] = []
        for (index, element) in (json["outputs"]?.arrayValue ?? []).enumerated() {
            outputs.append(try decodeTensor(element, role: "output", index: index, binary: &reader))
        }
        return InferenceResponse(
            modelName: modelName, modelVersion: json["model_version"]?.stringValue, id: json["id"]?.stringValue,
            parameters: try decodeParameters(json["parameters"], field: "parameters"), outputs: outputs
        )
    }

    /// Parses a JSON body that carries no tensors (management and repository requests).
    public static func json(_ body: [UInt8]) throws(MeshError) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw .invalidArgument("the body is not valid JSON: \(error.description)")
        }
    }

    static func split(_ body: [UInt8], jsonLength: Int?) throws(MeshError) -> (JSONValue, ArraySlice<UInt8>) {
        let length = jsonLength ?? body.count
        guard length >= 0, length <= body.count else {
            throw .invalidArgument("Inference-Header-Content-Length is \(length) but the body has only \(body.count) bytes")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(body[0..<length])
        } catch {
            throw .invalidArgument("the body is not valid JSON: \(error.description)")
        }
        return (json, body[length...])
    }

    static func optionalString(_ value: JSONValue?, field: String) throws(MeshError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue else { throw .invalidArgument("\"\(field)\" must be a string, not \(value.kindName)") }
        return text
    }

    static func decodeParameters(_ value: JSONValue?, field: String) throws(MeshError) -> Parameters {
        guard let value, value != .null else { return Parameters() }
        guard let members = value.objectValue else { throw .invalidArgument("\"\(field)\" must be an object") }
        var parameters = Parameters()
        for (name, member) in members {
            switch member {
            case .string(let text): parameters[name] = .string(text)
            case .int(let number): parameters[name] = .int(number)
            case .double(let number): parameters[name] = .double(number)
            case .bool(let flag): parameters[name] = .bool(flag)
            default: throw .invalidArgument("parameter \"\(name)\" in \"\(field)\" must be a string, number or boolean")
            }
        }
        return parameters
    }

    static func decodeTensor(_ value: JSONValue, role: String, index: Int, binary: inout BinarySection) throws(MeshError) -> Tensor {
        guard case .object = value else { throw .invalidArgument("\(role)s[\(index)] must be an object") }
        guard let name = value["name"]?.stringValue, !name.isEmpty else {
            throw .invalidArgument("\(role)s[\(index)] has no \"name\"")
        }
        let label = "\(role) '\(TextLimit.clip(name))'"
        guard let typeName = value["datatype"]?.stringValue else { throw .invalidArgument("\(label) has no \"datatype\"") }
        guard let datatype = DataType(rawValue: typeName) else {
            throw .invalidArgument("\(label) has unknown datatype \"\(TextLimit.clip(typeName))\"; use one of \(DataType.allNames)")
        }
        guard let shapeValues = value["shape"]?.arrayValue else { throw .invalidArgument("\(label) has no \"shape\" array") }
        var dimensions: [Int64] = []
        dimensions.reserveCapacity(shapeValues.count)
        for dimension in shapeValues {
            guard let size = dimension.int64Value else {
                throw .invalidArgument("\(label) has an invalid shape \(shapeValues.prefix(16).map(describe)); dimensions are non-negative integers")
            }
            dimensions.append(size)
        }
        let (shape, elements) = try TensorShape.check(dimensions, label: label)
        let parameters = try decodeParameters(value["parameters"], field: "\(role)s[\(index)].parameters")
        if let binarySize = parameters["binary_data_size"] {
            guard let size = binarySize.int64Value, size >= 0 else { throw .invalidArgument("\(label) has an invalid binary_data_size") }
            var cleaned = parameters
            cleaned["binary_data_size"] = nil
            let bytes = try binary.take(Int(size), for: label)
            let data = try TensorBinary.decode(bytes, datatype: datatype, elements: elements, label: label)
            return Tensor(name: name, datatype: datatype, shape: shape, parameters: cleaned, data: data)
        }
        guard let data = value["data"] else { throw .invalidArgument("\(label) has no \"data\" (and no binary_data_size)") }
        guard datatype.hasJSONForm else {
            throw .invalidArgument("\(label) is \(datatype.rawValue), which has no JSON form; send it with the binary tensor extension")
        }
        // Count before allocating: the shape is only a claim, the data is what was received.
        let count = leafCount(data)
        guard count == elements else {
            throw .invalidArgument("\(label) has shape \(shape) (\(elements) elements) but its data has \(count)")
        }
        var flat: [JSONValue] = []
        flat.reserveCapacity(count)
        flatten(data, into: &flat)
        return Tensor(name: name, datatype: datatype, shape: shape, parameters: parameters, data: try TensorJSON.decode(flat, datatype: datatype, label: label))
    }

    static func leafCount(_ value: JSONValue) -> Int {
        guard case .array(let values) = value else { return 1 }
        return values.reduce(0) { $0 + leafCount($1) }
    }

    static func flatten(_ value: JSONValue, into flat: inout [JSONValue]) {
        if case .array(let values) = value {
            for element in values { flatten(element, into: &flat) }
        } else {
            flat.append(value)
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .string(let text): return "\"\(TextLimit.clip(text, to: 20))\""
        default: return value.kindName
        }
    }
}

/// The binary section of a body, consumed input by input.
struct BinarySection {
    let bytes: ArraySlice<UInt8>
    var offset: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.offset = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - offset }

    mutating func take(_ count: Int, for label: String) throws(MeshError) -> ArraySlice<UInt8> {
        guard count <= remaining else {
            throw .invalidArgument("\(label) claims \(count) binary bytes but only \(remaining) remain in the body")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }
}

import Foundation
import OpenInference
import MeshCore

// ModelInfer messages to and from the protocol-neutral OpenInference types.

extension InferenceRequest {
    /// Decodes a request whose tensors come either all in `raw_input_contents` or all in typed
    /// `contents` (the protocol forbids mixing the two).
    public init(protobuf message: Inference_ModelInferRequest) throws(MeshError) {
        guard !message.inputs.isEmpty else { throw .invalidArgument("the request has no inputs; it needs at least one") }
        let raw = message.rawInputContents
        if !raw.isEmpty {
            if let typed = message.inputs.first(where: \.hasContents) {
                throw .invalidArgument("input '\(TextLimit.clip(typed.name))' has typed contents but the request also uses raw_input_contents; use one or the other")
            }
            guard raw.count == message.inputs.count else {
                throw .invalidArgument("the request has \(message.inputs.count) inputs but \(raw.count) raw_input_contents entries; give one per input, in order")
            }
        }
        var names = Set<String>()
        var inputs: [Tensor] = []
        inputs.reserveCapacity(message.inputs.count)
        for (index, input) in message.inputs.enumerated() {
            guard !input.name.isEmpty else { throw .invalidArgument("inputs[\(index)] has no name") }
            guard names.insert(input.name).inserted else { throw .invalidArgument("input '\(TextLimit.clip(input.name))' appears twice") }
            let label = "input '\(TextLimit.clip(input.name))'"
            let (datatype, shape, elements) = try TensorHeader.check(name: label, datatype: input.datatype, shape: input.shape)
            let data: Tensor.Data
            if raw.isEmpty {
                if input.hasContents {
                    data = try TypedContents.decode(input.contents, datatype: datatype, elements: elements, label: label)
                } else if elements == 0 {
                    data = datatype == .bytes ? .bytes([]) : .raw([])
                } else {
                    throw .invalidArgument("\(label) has no contents and the request has no raw_input_contents")
                }
            } else {
                data = try TensorBinary.data(from: [UInt8](raw[index]), datatype: datatype, elements: elements, label: label)
            }
            inputs.append(Tensor(name: input.name, datatype: datatype, shape: shape, parameters: Parameters(input.parameters), data: data))
        }
        self.init(
            id: message.id.isEmpty ? nil : message.id,
            parameters: Parameters(message.parameters),
            inputs: inputs,
            outputs: message.outputs.map { RequestedOutput(name: $0.name, parameters: Parameters($0.parameters)) }
        )
    }
}

extension Inference_ModelInferResponse {
    /// Encodes a response. With `raw`, every output goes to `raw_output_contents`; without it,
    /// outputs use typed contents unless one has no typed form (FP16, BF16), in which case all
    /// go raw, since a response must not mix the two.
    public init(_ response: InferenceResponse, raw: Bool) {
        self.init()
        modelName = response.modelName
        modelVersion = response.modelVersion ?? ""
        id = response.id ?? ""
        parameters = response.parameters.protobuf
        let typed = raw ? nil : response.outputs.map(TypedContents.encode)
        let useTyped = typed.map { $0.allSatisfy { $0 != nil } } ?? false
        for (index, output) in response.outputs.enumerated() {
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = output.name
            tensor.datatype = output.datatype.rawValue
            tensor.shape = output.shape.map(Int64.init)
            tensor.parameters = output.parameters.protobuf
            if useTyped, let contents = typed?[index] {
                tensor.contents = contents
            } else {
                rawOutputContents.append(Data(TensorBinary.encode(output.data)))
            }
            outputs.append(tensor)
        }
    }
}

extension Inference_ModelInferRequest {
    /// Encodes a request, with raw or typed contents (clients and tests).
    public init(_ request: InferenceRequest, modelName: String, raw: Bool = true) {
        self.init()
        self.modelName = modelName
        id = request.id ?? ""
        parameters = request.parameters.protobuf
        for input in request.inputs {
            var tensor = Inference_ModelInferRequest.InferInputTensor()
            tensor.name = input.name
            tensor.datatype = input.datatype.rawValue
            tensor.shape = input.shape.map(Int64.init)
            tensor.parameters = input.parameters.protobuf
            if !raw, let contents = TypedContents.encode(input) {
                tensor.contents = contents
            } else {
                rawInputContents.append(Data(TensorBinary.encode(input.data)))
            }
            inputs.append(tensor)
        }
        outputs = request.outputs.map { output in
            var requested = Inference_ModelInferRequest.InferRequestedOutputTensor()
            requested.name = output.name
            requested.parameters = output.parameters.protobuf
            return requested
        }
    }
}

extension InferenceResponse {
    /// Decodes a response (clients and tests).
    public init(protobuf message: Inference_ModelInferResponse) throws(MeshError) {
        let raw = message.rawOutputContents
        if !raw.isEmpty && raw.count != message.outputs.count {
            throw .invalidArgument("the response has \(message.outputs.count) outputs but \(raw.count) raw_output_contents entries")
        }
        var outputs: [Tensor] = []
        for (index, output) in message.outputs.enumerated() {
            let label = "output '\(TextLimit.clip(output.name))'"
            let (datatype, shape, elements) = try TensorHeader.check(name: label, datatype: output.datatype, shape: output.shape)
            let data: Tensor.Data
            if raw.isEmpty {
                data = try TypedContents.decode(output.contents, datatype: datatype, elements: elements, label: label)
            } else {
                data = try TensorBinary.data(from: [UInt8](raw[index]), datatype: datatype, elements: elements, label: label)
            }
            outputs.append(Tensor(name: output.name, datatype: datatype, shape: shape, parameters: Parameters(output.parameters), data: data))
        }
        self.init(
            modelName: message.modelName, modelVersion: message.modelVersion.isEmpty ? nil : message.modelVersion,
            id: message.id.isEmpty ? nil : message.id, parameters: Parameters(message.parameters), outputs: outputs
        )
    }
}

/// Checks a tensor's datatype and shape the way the REST codec does.
enum TensorHeader {
    static func check(name label: String, datatype text: String, shape dimensions: [Int64]) throws(MeshError) -> (DataType, [Int], Int) {
        guard let datatype = DataType(rawValue: text) else {
            throw .invalidArgument("\(label) has unknown datatype \"\(TextLimit.clip(text))\"; use one of \(DataType.allNames)")
        }
        let (shape, elements) = try TensorShape.check(dimensions, label: label)
        return (datatype, shape, elements)
    }
}

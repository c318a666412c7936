import OpenInference
import Testing
import MeshCore

@Suite struct RESTCodecTests {
    func decode(_ json: String) throws(MeshError) -> InferenceRequest {
        try RESTDecoding.request(Array(json.utf8))
    }

    @Test func decodesNestedAndFlatData() throws {
        let request = try decode("""
        {"id": "42", "parameters": {"p": 1}, "inputs": [
          {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3.5, 4]]},
          {"name": "y", "shape": [3], "datatype": "INT64", "data": [1, -2, 9007199254740993]},
          {"name": "s", "shape": [2], "datatype": "BYTES", "data": ["a", "é"]},
          {"name": "b", "shape": [1], "datatype": "BOOL", "data": [true]}
        ], "outputs": [{"name": "out"}]}
        """)
        #expect(request.id == "42")
        #expect(request.parameters["p"] == .int(1))
        #expect(request.input(named: "x")?.floatValues() == [1, 2, 3.5, 4])
        #expect(request.input(named: "y")?.int64Values() == [1, -2, 9_007_199_254_740_993])
        #expect(request.input(named: "s")?.stringValues() == ["a", "é"])
        #expect(request.input(named: "b")?.data == .raw([1]))
        #expect(request.outputs.map(\.name) == ["out"])
    }

    @Test func unknownMembersAreIgnored() throws {
        let request = try decode(#"{"model_name": "m", "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1], "extra": 1}]}"#)
        #expect(request.inputs.count == 1)
    }

    @Test(arguments: [
        ("not json", "the body is not valid JSON"),
        ("[]", "the request body must be a JSON object"),
        ("{}", "the request has no \"inputs\""),
        (#"{"inputs": []}"#, "\"inputs\" is empty"),
        (#"{"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]}"#, "inputs[0] has no \"name\""),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}]}"#, "input 'x' has unknown datatype \"FLOAT\""),
        (#"{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}]}"#, "input 'x' has shape [2, 2] (4 elements) but its data has 3"),
        (#"{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}"#, "input 'x' has an invalid shape"),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [300]}]}"#, "input 'x' (INT8) element 0 is 300; expected an integer in -128...127"),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": ["7"]}]}"#, "input 'x' (INT32) element 0 is \"7\"; expected an integer"),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}]}"#, "input 'x' (BOOL) element 0 is 1; expected true or false"),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP16", "data": [1]}]}"#, "input 'x' is FP16, which has no JSON form"),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}"#, "input 'x' has no \"data\""),
        (#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#, "input 'x' appears twice"),
        (#"{"id": 5, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#, "\"id\" must be a string"),
        (#"{"inputs": [{"name": "x", "shape": [100000, 100000], "datatype": "FP32", "data": [1]}]}"#, "too many elements"),
    ])
    func badRequestsGetPreciseMessages(_ body: String, _ expected: String) {
        do {
            _ = try decode(body)
            Issue.record("accepted: \(body)")
        } catch {
            #expect(error.httpStatus == 400)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func binaryExtensionRoundTrip() throws {
        let request = InferenceRequest(id: "r1", parameters: ["binary_data_output": .bool(true)], inputs: [
            Tensor(name: "f", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
            Tensor(name: "s", shape: [2], strings: ["hello", ""]),
            Tensor(name: "h", datatype: .fp16, shape: [2], data: .raw([0, 0x3C, 0, 0x40])),
        ])
        let body = RESTEncoding.request(request, binary: true)
        let jsonLength = try #require(body.jsonLength)
        let decoded = try RESTDecoding.request(body.bytes, jsonLength: jsonLength)
        #expect(decoded.inputs.map(\.data) == request.inputs.map(\.data))
        #expect(decoded.inputs.map(\.shape) == [[2, 3], [2], [2]])
        #expect(decoded.inputs.allSatisfy { $0.parameters.isEmpty })

        let response = InferenceResponse(modelName: "m", id: "r1", outputs: decoded.inputs)
        let encoded = RESTEncoding.response(response, for: decoded)
        let encodedLength = try #require(encoded.jsonLength)
        let back = try RESTDecoding.response(encoded.bytes, jsonLength: encodedLength)
        #expect(back.outputs.map(\.data) == request.inputs.map(\.data))
    }

    @Test func binarySizesMustAddUp() {
        let json = #"{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}]}"#
        let body = Array(json.utf8) + [0, 0, 128, 63]
        #expect(throws: MeshError.invalidArgument("input 'x' claims 8 binary bytes but only 4 remain in the body")) {
            try RESTDecoding.request(body, jsonLength: json.utf8.count)
        }
        #expect(throws: MeshError.invalidArgument("Inference-Header-Content-Length is 999 but the body has only \(body.count) bytes")) {
            try RESTDecoding.request(body, jsonLength: 999)
        }
        let extra = Array(#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}}]}"#.utf8)
        #expect(throws: MeshError.self) { try RESTDecoding.request(extra + [0, 0, 128, 63, 1], jsonLength: extra.count) }
    }

    @Test func responseWritesJSONUnlessBinaryIsAsked() throws {
        let response = InferenceResponse(modelName: "m", modelVersion: "1", id: "a", parameters: ["peer": .string("p")], outputs: [
            Tensor(name: "o", shape: [3], floats: [0.5, -1, 2]),
            Tensor(name: "i", shape: [1], int64s: [Int64.max]),
        ])
        let body = RESTEncoding.response(response)
        #expect(body.jsonLength == nil)
        let text = String(decoding: body.bytes, as: UTF8.self)
        #expect(text == #"{"model_name":"m","model_version":"1","id":"a","parameters":{"peer":"p"},"outputs":[{"name":"o","datatype":"FP32","shape":[3],"data":[0.5,-1,2]},{"name":"i","datatype":"INT64","shape":[1],"data":[9223372036854775807]}]}"#)
        let asked = InferenceRequest(inputs: [], outputs: [.init(name: "o", parameters: ["binary_data": .bool(true)])])
        let mixed = RESTEncoding.response(response, for: asked)
        let length = try #require(mixed.jsonLength)
        #expect(mixed.bytes.count == length + 12)
        #expect(try RESTDecoding.response(mixed.bytes, jsonLength: length).outputs == response.outputs)
    }

    /// What decides whether a runtime server's JSON answer can be passed on as it came.
    @Test(arguments: [
        (#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]}"#, false),
        (#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "parameters": {"binary_data_output": false}}"#, false),
        (#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "parameters": {"binary_data_output": true}}"#, true),
        (#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "outputs": [{"name": "a"}, {"name": "b", "parameters": {"binary_data": false}}]}"#, false),
        (#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "outputs": [{"name": "a"}, {"name": "b", "parameters": {"binary_data": true}}]}"#, true),
    ])
    func asksForBinaryOutput(json: String, asks: Bool) throws {
        #expect(RESTEncoding.asksForBinaryOutput(try RESTDecoding.request(Array(json.utf8))) == asks)
    }

    @Test func selectingOutputs() throws {
        let response = InferenceResponse(modelName: "m", outputs: [Tensor(name: "a", shape: [1], floats: [1]), Tensor(name: "b", shape: [1], floats: [2])])
        #expect(try response.selecting([.init(name: "b")]).outputs.map(\.name) == ["b"])
        #expect(throws: MeshError.invalidArgument("requested output 'c' does not exist; the model has 'a', 'b'")) {
            try response.selecting([.init(name: "c")])
        }
    }

    @Test func metadataValidation() throws {
        let metadata = ModelMetadata(name: "iris", platform: "onnx_onnxv1",
                                     inputs: [TensorMetadata(name: "x", datatype: .fp32, shape: [-1, 4])], outputs: [])
        try metadata.validate(InferenceRequest(inputs: [Tensor(name: "x", shape: [3, 4], floats: Array(repeating: 0, count: 12))]))
        #expect(throws: MeshError.invalidArgument("input 'x' has shape [3, 5] but iris expects [-1, 4] (-1: any size)")) {
            try metadata.validate(InferenceRequest(inputs: [Tensor(name: "x", shape: [3, 5], floats: Array(repeating: 0, count: 15))]))
        }
        #expect(throws: MeshError.invalidArgument("input 'x' has datatype FP64 but iris expects FP32")) {
            try metadata.validate(InferenceRequest(inputs: [Tensor(name: "x", shape: [1, 4], doubles: [0, 0, 0, 0])]))
        }
        #expect(throws: MeshError.invalidArgument("missing input 'x' (FP32 [-1, 4])")) {
            try metadata.validate(InferenceRequest(inputs: []))
        }
    }
}

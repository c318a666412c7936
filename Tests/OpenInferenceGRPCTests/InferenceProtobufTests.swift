import Foundation
import OpenInference
import OpenInferenceGRPC
import Testing
import MeshCore

@Suite struct InferenceProtobufTests {
    static let tensors: [Tensor] = [
        Tensor(name: "f32", shape: [2, 2], floats: [1, -2.5, 3, 4]),
        Tensor(name: "f64", shape: [2], doubles: [0.5, 1e300]),
        Tensor(name: "i64", shape: [3], int64s: [-1, 0, Int64.max]),
        Tensor(name: "i32", shape: [1], int32s: [-7]),
        Tensor(name: "i8", datatype: .int8, shape: [2], data: .raw([0xFF, 0x7F])),
        Tensor(name: "u16", datatype: .uint16, shape: [1], data: .raw(Tensor.pack([UInt16(65535)]))),
        Tensor(name: "flag", shape: [2], bools: [true, false]),
        Tensor(name: "text", shape: [2], strings: ["héllo", ""]),
    ]

    @Test(arguments: [true, false])
    func requestsRoundTripWithRawAndTypedContents(raw: Bool) throws {
        let original = InferenceRequest(id: "req-7", parameters: ["priority": .int(2), "tag": .string("x")], inputs: Self.tensors,
                                         outputs: [.init(name: "out", parameters: ["binary_data": .bool(true)])])
        let message = Inference_ModelInferRequest(original, modelName: "m", raw: raw)
        #expect(message.rawInputContents.isEmpty == !raw)
        let decoded = try InferenceRequest(protobuf: try Inference_ModelInferRequest(serializedBytes: try message.serializedBytes() as [UInt8]))
        #expect(decoded == original)
    }

    @Test func fp16TravelsRawEvenInATypedResponse() throws {
        let response = InferenceResponse(modelName: "m", id: "1", outputs: [
            Tensor(name: "half", datatype: .fp16, shape: [1], data: .raw([0x00, 0x3C])),
            Tensor(name: "f", shape: [1], floats: [2]),
        ])
        let message = Inference_ModelInferResponse(response, raw: false)
        #expect(message.rawOutputContents.count == 2)
        #expect(message.outputs.allSatisfy { !$0.hasContents })
        #expect(try InferenceResponse(protobuf: message) == response)
    }

    @Test func typedResponsesUseTypedContents() throws {
        let response = InferenceResponse(modelName: "m", outputs: [Tensor(name: "f", shape: [2], floats: [1, 2])])
        let message = Inference_ModelInferResponse(response, raw: false)
        #expect(message.rawOutputContents.isEmpty)
        #expect(message.outputs[0].contents.fp32Contents == [1, 2])
        #expect(try InferenceResponse(protobuf: message) == response)
    }

    @Test func mixingRawAndTypedContentsIsRefused() throws {
        var message = Inference_ModelInferRequest(InferenceRequest(inputs: [Tensor(name: "a", shape: [1], floats: [1])]), modelName: "m", raw: true)
        message.inputs[0].contents.fp32Contents = [1]
        #expect(throws: MeshError.invalidArgument("input 'a' has typed contents but the request also uses raw_input_contents; use one or the other")) {
            try InferenceRequest(protobuf: message)
        }
    }

    @Test func badTensorsGetPreciseErrors() throws {
        func request(_ edit: (inout Inference_ModelInferRequest) -> Void) -> Inference_ModelInferRequest {
            var message = Inference_ModelInferRequest(InferenceRequest(inputs: [Tensor(name: "a", shape: [2], floats: [1, 2])]), modelName: "m", raw: false)
            edit(&message)
            return message
        }
        let cases: [(Inference_ModelInferRequest, String)] = [
            (request { $0.inputs[0].shape = [3] }, "input 'a' has 3 elements by its shape but 2 values in contents.fp32_contents"),
            (request { $0.inputs[0].datatype = "FLOAT" }, "input 'a' has unknown datatype \"FLOAT\""),
            (request { $0.inputs[0].shape = [-1] }, "input 'a' has an invalid shape [-1]"),
            (request { $0.inputs[0].datatype = "FP16" }, "input 'a' is FP16, which has no typed contents; send it in raw_input_contents"),
            (request { $0.inputs[0].datatype = "INT8"; $0.inputs[0].contents = .with { $0.intContents = [1, 300] } },
             "input 'a' value 300 at index 1 does not fit INT8"),
            (request { $0.inputs = [] }, "the request has no inputs"),
            (request { $0.inputs.append($0.inputs[0]) }, "input 'a' appears twice"),
            (request { $0.rawInputContents = [Data([1, 2, 3, 4])]; $0.inputs[0].clearContents() },
             "input 'a' has 4 binary bytes but shape and FP32 need 8"),
            (request { $0.inputs[0].clearContents() }, "input 'a' has no contents and the request has no raw_input_contents"),
        ]
        for (message, expected) in cases {
            do {
                _ = try InferenceRequest(protobuf: message)
                Issue.record("accepted: \(expected)")
            } catch {
                #expect(error.message.hasPrefix(expected), "\(error.message)")
                #expect(error.grpcStatusCode == 3)
            }
        }
    }
}

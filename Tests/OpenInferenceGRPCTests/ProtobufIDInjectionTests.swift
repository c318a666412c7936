import Foundation
import OpenInferenceGRPC
import SwiftProtobuf
import Testing

/// The model id written where a ModelMesh runtime's `idInjectionPath` says, the rest unchanged.
@Suite struct ProtobufIDInjectionTests {
    func request(modelName: String) -> Inference_ModelInferRequest {
        var request = Inference_ModelInferRequest()
        request.modelName = modelName
        request.id = "req-1"
        var input = Inference_ModelInferRequest.InferInputTensor()
        input.name = "INPUT0"
        input.datatype = "FP32"
        input.shape = [1, 2]
        request.inputs = [input]
        request.rawInputContents = [Data([0, 0, 128, 63, 0, 0, 0, 64])]
        return request
    }

    @Test func replacesATopLevelStringField() throws {
        let bytes: [UInt8] = try request(modelName: "vmodel-name").serializedBytes()
        let injected = try ProtobufIDInjection.inject("concrete-id", path: [1], into: bytes)
        let decoded = try Inference_ModelInferRequest(serializedBytes: injected)
        #expect(decoded.modelName == "concrete-id")
        var expected = request(modelName: "concrete-id")
        expected.modelName = "concrete-id"
        #expect(decoded == expected)
    }

    @Test func addsTheFieldWhenAbsentAndWalksIntoEmbeddedMessages() throws {
        let bytes: [UInt8] = try request(modelName: "").serializedBytes()
        #expect(try Inference_ModelInferRequest(serializedBytes: ProtobufIDInjection.inject("m", path: [1], into: bytes)).modelName == "m")
        // inputs (5) → name (1): the id lands in the (last) input's name.
        let nested = try Inference_ModelInferRequest(serializedBytes: ProtobufIDInjection.inject("m", path: [5, 1], into: bytes))
        #expect(nested.inputs.last?.name == "m")
        #expect(nested.inputs.last?.datatype == "FP32")
        // An embedded message that is not there yet is created.
        let created = try Inference_ModelInferRequest(serializedBytes: ProtobufIDInjection.inject("m", path: [6, 1], into: bytes))
        #expect(created.outputs.map(\.name) == ["m"])
    }

    @Test func refusesPathsThroughNumbersAndGarbledMessages() throws {
        let bytes: [UInt8] = [0x08, 0x96, 0x01]  // field 1 as a varint
        #expect(throws: ProtobufFieldScanner.Malformed.self) { try ProtobufIDInjection.inject("m", path: [1], into: bytes) }
        #expect(throws: ProtobufFieldScanner.Malformed.self) { try ProtobufIDInjection.inject("m", path: [2], into: [0x0A, 0x05, 0x61]) }
        #expect(throws: ProtobufFieldScanner.Malformed.self) { try ProtobufIDInjection.inject("m", path: [0], into: []) }
    }
}

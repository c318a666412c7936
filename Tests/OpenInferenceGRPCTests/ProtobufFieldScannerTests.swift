import Foundation
import OpenInference
import OpenInferenceGRPC
import SwiftProtobuf
import Testing

@Suite struct ProtobufFieldScannerTests {
    @Test func findsTheModelNameWithoutDecodingTheTensors() throws {
        var request = Inference_ModelInferRequest(
            InferenceRequest(id: "r1", inputs: [Tensor(name: "INPUT0", shape: [4], floats: [1, 2, 3, 4])]), modelName: "iris"
        )
        request.modelVersion = "3"
        let bytes: [UInt8] = try request.serializedBytes()
        #expect(try ProtobufFieldScanner.string(field: 1, in: bytes) == "iris")
        #expect(try ProtobufFieldScanner.string(field: 2, in: bytes) == "3")
        #expect(try ProtobufFieldScanner.string(field: 3, in: bytes) == "r1")
    }

    @Test func anAbsentFieldIsNil() throws {
        let bytes: [UInt8] = try Inference_ModelInferRequest(
            InferenceRequest(inputs: [Tensor(name: "x", shape: [1], floats: [1])]), modelName: ""
        ).serializedBytes()
        #expect(try ProtobufFieldScanner.string(field: 1, in: bytes) == nil)
        #expect(try ProtobufFieldScanner.string(field: 1, in: [UInt8]()) == nil)
    }

    @Test func theLastOccurrenceWins() throws {
        // Two model_name fields: protobuf keeps the last.
        let bytes: [UInt8] = [0x0A, 0x01, UInt8(ascii: "a"), 0x0A, 0x02, UInt8(ascii: "b"), UInt8(ascii: "c")]
        #expect(try ProtobufFieldScanner.string(field: 1, in: bytes) == "bc")
    }

    @Test(arguments: [
        ([0x0A, 0x05, 0x61], "field 1 claims 5 bytes but only 1 remain"),
        ([0x0A], "truncated varint at offset 1"),
        ([0x0B], "unsupported wire type 3 for field 1"),
        ([0x00, 0x01], "field number 0 at offset 1"),
        ([0x0A, 0x02, 0xC3, 0x28], "field 1 is not valid UTF-8"),
        ([0x11, 0x01, 0x02], "truncated field at offset 1"),
    ] as [([UInt8], String)])
    func malformedMessagesAreRefused(bytes: [UInt8], problem: String) {
        #expect(throws: ProtobufFieldScanner.Malformed.self) { try ProtobufFieldScanner.string(field: 1, in: bytes) }
        do {
            _ = try ProtobufFieldScanner.string(field: 1, in: bytes)
        } catch {
            #expect(error.description == problem)
        }
    }

    @Test func skipsEveryWireTypeOfOtherFields() throws {
        var bytes: [UInt8] = [0x10, 0x96, 0x01]  // field 2, varint 150
        bytes += [0x19] + [UInt8](repeating: 7, count: 8)  // field 3, fixed64
        bytes += [0x25, 1, 2, 3, 4]  // field 4, fixed32
        bytes += [0x0A, 0x03] + Array("m-1".utf8)  // field 1
        #expect(try ProtobufFieldScanner.string(field: 1, in: bytes) == "m-1")
    }
}

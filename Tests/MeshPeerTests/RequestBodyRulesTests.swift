import MeshCore
@testable import MeshPeer
import OpenInference
import Foundation
import Testing

/// Body rules docs/openapi.yaml states that a plain JSON decode would not enforce.
@Suite struct RequestBodyRulesTests {
    @Test func knownFieldsMayBeLeftOutButNotNull() throws {
        let parse = { (text: String) throws -> JSONValue in try JSONParser.parse(Array(text.utf8)) }
        #expect(UpdateModelBody.nullField(in: try parse(#"{"minCopies": 1}"#)) == nil)
        #expect(UpdateModelBody.nullField(in: try parse(#"{"minCopies": null}"#)) == "minCopies")
        #expect(SetVModelBody.nullField(in: try parse(#"{"targetModel": "m", "updateOnly": null}"#)) == "updateOnly")
        #expect(SetVModelBody.nullField(in: try parse(#"{"targetModel": "m", "model": {"type": "onnx", "storage": {"uri": "x", "key": null}}}"#)) == "model.storage.key")
        #expect(RegisterModelBody.nullField(in: try parse(#"{"id": "m", "storage": {"uri": "x", "key": null}}"#)) == "storage.key")
        // Fields the body does not know are free, whatever their value.
        #expect(RegisterModelBody.nullField(in: try parse(#"{"id": "m", "extra": null, "storage": {"uri": "x", "other": null}}"#)) == nil)
    }

    @Test func nullInAnUpdateRemovesTheLimitAndAbsenceKeepsIt() throws {
        let decode = { (text: String) throws -> UpdateModelBody in try JSONDecoder().decode(UpdateModelBody.self, from: Data(text.utf8)) }
        #expect(UpdateModelBody.nullField(in: try JSONParser.parse(Array(#"{"maxCopies": null, "scaleUpRequestsPerSecond": null}"#.utf8))) == nil)
        #expect(try decode(#"{"maxCopies": null, "scaleUpRequestsPerSecond": null}"#).change.clearing == [.maxCopies, .scaleUpRequestsPerSecond])
        #expect(try decode(#"{"minCopies": 2}"#).change == ModelRegistration.Update(minCopies: 2))
        #expect(try decode(#"{"maxCopies": 4, "tags": {"team": "a"}}"#).change == ModelRegistration.Update(maxCopies: 4, tags: ["team": "a"]))
    }

    @Test func aVModelsModelNeedsNoIDButMustNotNameAnother() throws {
        let body = try JSONDecoder().decode(RegisterModelBody.self, from: Data(#"{"type": "onnx", "storageUri": "m.onnx"}"#.utf8))
        #expect(try body.registration(defaultID: "m-1").id == "m-1")
        #expect(throws: MeshError.self) { try body.registration() }
        let named = try JSONDecoder().decode(RegisterModelBody.self, from: Data(#"{"id": "other", "type": "onnx", "storageUri": "m.onnx"}"#.utf8))
        #expect(throws: MeshError.self) { try named.registration(defaultID: "m-1") }
    }

    @Test func tagsSurviveTheRecordsJSONAndAreLeftOutWhenEmpty() throws {
        let tagged = ModelRecord(type: "onnx", storage: .uri("m.onnx"), created: .epoch, tags: ["team": "a"])
        let bytes = try RecordCoding.encode(tagged)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""tags":{"team":"a"}"#))
        #expect(try RecordCoding.decode(ModelRecord.self, from: bytes) == tagged)
        let plain = try RecordCoding.encode(ModelRecord(type: "onnx", storage: .uri("m.onnx"), created: .epoch))
        #expect(!String(decoding: plain, as: UTF8.self).contains("tags"))
        let vmodel = VModelRecord(activeModel: try ModelID("a"), targetModel: try ModelID("a"), updated: .epoch, tags: [:])
        #expect(vmodel.tags == nil)
        #expect(!String(decoding: try RecordCoding.encode(vmodel), as: UTF8.self).contains("tags"))
    }

    @Test func theRepositoryIndexTakesNoBodyOrAnObjectWithABooleanReady() throws {
        #expect(try DataPlaneRoutes.indexReadyOnly([]) == false)
        #expect(try DataPlaneRoutes.indexReadyOnly(Array(#"{"ready": true}"#.utf8)) == true)
        #expect(try DataPlaneRoutes.indexReadyOnly(Array(#"{"other": 1}"#.utf8)) == false)
        #expect(throws: MeshError.self) { try DataPlaneRoutes.indexReadyOnly(Array("[]".utf8)) }
        #expect(throws: MeshError.self) { try DataPlaneRoutes.indexReadyOnly(Array(#"{"ready": "yes"}"#.utf8)) }
    }
}

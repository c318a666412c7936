import MeshCore
@testable import MeshPeer
import OpenInference
import Testing

/// Body rules docs/openapi.yaml states that a plain JSON decode would not enforce.
@Suite struct RequestBodyRulesTests {
    @Test func knownFieldsMayBeLeftOutButNotNull() throws {
        let parse = { (text: String) throws -> JSONValue in try JSONParser.parse(Array(text.utf8)) }
        #expect(UpdateModelBody.nullField(in: try parse(#"{"minCopies": 1}"#)) == nil)
        #expect(UpdateModelBody.nullField(in: try parse(#"{"minCopies": null}"#)) == "minCopies")
        #expect(SetVModelBody.nullField(in: try parse(#"{"targetModel": "m", "updateOnly": null}"#)) == "updateOnly")
        #expect(RegisterModelBody.nullField(in: try parse(#"{"id": "m", "storage": {"uri": "x", "key": null}}"#)) == "storage.key")
        // Fields the body does not know are free, whatever their value.
        #expect(RegisterModelBody.nullField(in: try parse(#"{"id": "m", "extra": null, "storage": {"uri": "x", "other": null}}"#)) == nil)
    }

    @Test func theRepositoryIndexTakesNoBodyOrAnObjectWithABooleanReady() throws {
        #expect(try DataPlaneRoutes.indexReadyOnly([]) == false)
        #expect(try DataPlaneRoutes.indexReadyOnly(Array(#"{"ready": true}"#.utf8)) == true)
        #expect(try DataPlaneRoutes.indexReadyOnly(Array(#"{"other": 1}"#.utf8)) == false)
        #expect(throws: MeshError.self) { try DataPlaneRoutes.indexReadyOnly(Array("[]".utf8)) }
        #expect(throws: MeshError.self) { try DataPlaneRoutes.indexReadyOnly(Array(#"{"ready": "yes"}"#.utf8)) }
    }
}

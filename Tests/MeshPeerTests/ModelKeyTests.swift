import Foundation
import MeshCore
@testable import MeshPeer
import Testing

/// The `modelKey` a ModelMesh runtime receives: what ModelMesh's puller writes.
@Suite struct ModelKeyTests {
    func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func keyedStorageBecomesStorageKeyBucketAndParameters() throws {
        let key = try object(ModelKey.json(.keyed(key: "localMinIO", path: "m/model.bst", parameters: ["bucket": "models", "region": "eu"]), diskBytes: 1234))
        #expect(key["storage_key"] as? String == "localMinIO")
        #expect(key["bucket"] as? String == "models")
        #expect(key["storage_params"] as? [String: String] == ["region": "eu"])
        #expect(key["disk_size_bytes"] as? Int == 1234)
    }

    @Test func aURIGivesOnlyTheDiskSizeAndItsKey() throws {
        #expect(try object(ModelKey.json(.uri("file:///models/m.json"), diskBytes: 7)).keys.sorted() == ["disk_size_bytes"])
        #expect(try object(ModelKey.json(.uri("s3://b/m", key: "s3"), diskBytes: 7))["storage_key"] as? String == "s3")
    }
}

import Foundation
import MeshCore
import Testing

@Suite struct StorageLocationTests {
    @Test func validLocations() throws {
        for location: StorageLocation in [
            .uri("s3://models/sklearn/iris.onnx"),
            .uri("https://host:8443/path/model.onnx?sig=abc"),
            .uri("file:///mnt/models/x"),
            .uri("team/model/", key: "pvc"),
            .keyed(key: "localMinIO", path: "sklearn/iris.onnx", parameters: ["bucket": "models"]),
            .keyed(key: nil, path: "dir/with space/", parameters: [:]),
        ] {
            try location.validate()
        }
    }

    @Test func refusalsSayWhatToChange() {
        let cases: [(StorageLocation, String)] = [
            (.uri(""), "uri must not be empty"),
            (.uri("s3://b/a/../../x"), "'..' segment"),
            (.uri("https://h/a/%2E%2e/x"), "'..' segment"),
            (.uri("s3://b/a/./x"), "'.' segment"),
            (.uri("s3://b/a\u{7}b"), "control character at offset 8"),
            (.uri("https://user:pw@host/x"), "carries credentials"),
            (.keyed(key: "k", path: "/etc/passwd"), "drop the leading '/'"),
            (.keyed(key: "k", path: "a//b"), "empty segment"),
            (.keyed(key: "k", path: ""), "path must not be empty"),
            (.keyed(key: "..data", path: "x"), "must not start with '.'"),
            (.keyed(key: "a/b", path: "x"), "file name in the storage-config Secret"),
            (.keyed(key: "k", path: "x", parameters: ["bad name": "v"]), "parameter name 'bad name'"),
            (.keyed(key: "k", path: "x", parameters: ["bucket": "a\nb"]), "parameter 'bucket' contains a control character"),
            (.uri(String(repeating: "a", count: 3_000)), "limit is 2048"),
        ]
        for (location, expected) in cases {
            do {
                try location.validate()
                Issue.record("\(location) was accepted")
            } catch {
                #expect(error.description.contains(expected), "\(location): \(error)")
            }
        }
    }

    /// Lengths count characters (Unicode scalars), as JSON Schema's maxLength does.
    @Test func lengthsCountCharactersNotBytes() throws {
        try StorageLocation.uri(String(repeating: "é", count: 2048)).validate()
        #expect(throws: StorageLocation.Problem.tooLong(field: "uri", length: 2049, limit: 2048)) {
            try StorageLocation.uri(String(repeating: "é", count: 2049)).validate()
        }
        let registration = { (label: String) in
            ModelRegistration(id: "m", type: "synthetic", storage: .uri("m.json"), labels: [label])
        }
        _ = try registration(String(repeating: "é", count: 128)).validated(types: ["synthetic"], now: .epoch)
        #expect(throws: MeshError.self) { try registration(String(repeating: "é", count: 129)).validated(types: ["synthetic"], now: .epoch) }
        #expect(throws: MeshError.self) { try registration("a,b").validated(types: ["synthetic"], now: .epoch) }
    }

    @Test func bothJSONForms() throws {
        let uri = try decode(#"{"uri":"s3://models/iris","key":"minio"}"#)
        #expect(uri == .uri("s3://models/iris", key: "minio"))
        let keyed = try decode(#"{"key":"localMinIO","path":"sklearn/iris.onnx","parameters":{"bucket":"models"}}"#)
        #expect(keyed == .keyed(key: "localMinIO", path: "sklearn/iris.onnx", parameters: ["bucket": "models"]))
        #expect(keyed.storageKey == "localMinIO")
        #expect(throws: DecodingError.self) { try decode(#"{"uri":"s3://a/b","path":"x"}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"key":"k"}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"uri":"s3://a/b","parameters":{"bucket":"x"}}"#) }
        #expect(try decode(encode(keyed)) == keyed)
        #expect(try decode(encode(uri)) == uri)
    }

    @Test func descriptionMasksUserInfo() {
        #expect(StorageLocation.uri("https://user:pw@host/x").description == "https://***@host/x")
        #expect(StorageLocation.uri("https://user:pw@host/x").displayText == "https://***@host/x")
        #expect(StorageLocation.keyed(key: "k", path: "p", parameters: ["bucket": "b"]).description == "storage key 'k', path 'p', bucket=b")
    }
}

private func decode(_ json: String) throws -> StorageLocation {
    try JSONDecoder().decode(StorageLocation.self, from: Data(json.utf8))
}

private func encode(_ location: StorageLocation) throws -> String {
    String(decoding: try JSONEncoder().encode(location), as: UTF8.self)
}

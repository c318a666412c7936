import Foundation
import MeshTestSupport
@testable import ModelStorage
import Testing

@Suite(.timeLimit(.minutes(5))) struct StorageConfigurationTests {
    let secret = "s3cr3t/K7MDENG+bPxRfiCYEXAMPLEKEY"

    @Test func parsesModelMeshEntries() throws {
        let configuration = StorageConfiguration.parse(files: [
            "localMinIO": Array(#"{"type":"s3","access_key_id":"minio","secret_access_key":"\#(secret)","endpoint_url":"http://minio:9000/","default_bucket":"models","region":"us-south"}"#.utf8),
            "aws": Array(#"{"type":"s3","access_key_id":"AKIA","secret_access_key":"x","bucket":"b-1","default_bucket":"ignored"}"#.utf8),
            "public": Array(#"{"type":"s3","endpoint_url":"https://s3.example.com","bucket":"open-models"}"#.utf8),
            "web": Array(#"{"type":"https","url":"https://host/models","headers":{"Authorization":"Bearer t","X-Multi":["a","b"]}}"#.utf8),
        ])
        #expect(configuration.problems.isEmpty)
        guard case .s3(let minio)? = configuration.entries["localMinIO"] else { Issue.record("no s3 entry"); return }
        #expect(minio.endpointURL == "http://minio:9000")
        #expect(minio.bucket == "models")
        #expect(minio.region == "us-south")
        #expect(minio.addressing == .path)
        guard case .s3(let aws)? = configuration.entries["aws"] else { Issue.record("no aws entry"); return }
        #expect(aws.bucket == "b-1")
        #expect(aws.endpointURL == "https://s3.us-east-1.amazonaws.com")
        #expect(aws.addressing == .virtualHosted)
        guard case .s3(let open)? = configuration.entries["public"] else { Issue.record("no public entry"); return }
        #expect(open.credentials == nil)
        guard case .http(let web)? = configuration.entries["web"] else { Issue.record("no http entry"); return }
        #expect(web.headerNames == ["Authorization", "X-Multi", "X-Multi"])
        #expect(web.baseURLString == "https://host/models")
    }

    @Test func secretsNeverShowInDescriptionsDumpsOrProblems() throws {
        let configuration = StorageConfiguration.parse(files: [
            "ok": Array(#"{"type":"s3","access_key_id":"id","secret_access_key":"\#(secret)","endpoint_url":"http://h:1"}"#.utf8),
            "half": Array(#"{"type":"s3","access_key_id":"\#(secret)"}"#.utf8),
            "web": Array(#"{"type":"http","headers":{"Authorization":"\#(secret)"}}"#.utf8),
            "badType": Array(#"{"type":"s3","secret_access_key":42, "access_key_id":"a"}"#.utf8),
        ])
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.description, dumped, String(reflecting: configuration), "\(configuration.entries)", "\(configuration.problems)"] {
            #expect(!text.contains(secret), "leaked in: \(text)")
        }
        #expect(configuration.problems["half"]?.contains("no \"secret_access_key\"") == true)
        #expect(configuration.problems["badType"]?.contains("must be a string, found a number") == true)
        let error = try #require(throws: StorageError.self) { try configuration.entry("half") }
        #expect(error.reason == .invalidConfiguration)
        #expect(!error.message.contains(secret))
    }

    @Test func invalidEntriesAreReportedPerKey() throws {
        let configuration = StorageConfiguration.parse(files: [
            "gcs": Array(#"{"type":"gcs"}"#.utf8),
            "broken": Array("{not json".utf8),
            "badEndpoint": Array(#"{"type":"s3","endpoint_url":"minio:9000"}"#.utf8),
            "badCA": Array(#"{"type":"s3","certificate":"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}"#.utf8),
            "good": Array(#"{"type":"http"}"#.utf8),
        ])
        #expect(configuration.entries.keys.sorted() == ["good"])
        #expect(configuration.problems["gcs"]?.contains("does not support") == true)
        #expect(configuration.problems["broken"] == "is not valid JSON")
        #expect(configuration.problems["badEndpoint"]?.contains("endpoint_url") == true)
        #expect(configuration.problems["badCA"]?.contains("certificate") == true)
        let unknown = try #require(throws: StorageError.self) { try configuration.entry("nope") }
        #expect(unknown.reason == .unknownStorageKey)
        #expect(unknown.message.contains("good"))
    }

    @Test func singleFileFormAcceptsObjectsAndStrings() throws {
        let configuration = try StorageConfiguration.parse(singleFile: Array(#"""
            {"a": {"type":"s3","bucket":"bkt"}, "b": "{\"type\":\"http\",\"url\":\"http://x/y\"}"}
            """#.utf8))
        #expect(configuration.entries.keys.sorted() == ["a", "b"])
        #expect(throws: StorageError.self) { try StorageConfiguration.parse(singleFile: Array("[1]".utf8)) }
    }

    @Test func storeReloadsChangedFilesAndSkipsSecretMetadata() async throws {
        let directory = try TemporaryDirectory(prefix: "mesh-config")
        defer { directory.remove() }
        // A Secret volume: entries are symlinks into a hidden, atomically swapped data directory.
        let data1 = directory.appending("..2024_01")
        try FileManager.default.createDirectory(atPath: data1, withIntermediateDirectories: true)
        try Data(#"{"type":"s3","bucket":"first"}"#.utf8).write(to: URL(fileURLWithPath: "\(data1)/models"))
        try FileManager.default.createSymbolicLink(atPath: directory.appending("..data"), withDestinationPath: "..2024_01")
        try FileManager.default.createSymbolicLink(atPath: directory.appending("models"), withDestinationPath: "..data/models")

        let store = try await StorageConfigurationStore(source: .directory(directory.path))
        #expect(store.current.keys == ["models"])
        guard case .s3(let first)? = store.current.entries["models"] else { Issue.record("no entry"); return }
        #expect(first.bucket == "first")
        #expect(try await store.reload() == false)

        let data2 = directory.appending("..2024_02")
        try FileManager.default.createDirectory(atPath: data2, withIntermediateDirectories: true)
        try Data(#"{"type":"s3","bucket":"second"}"#.utf8).write(to: URL(fileURLWithPath: "\(data2)/models"))
        try FileManager.default.removeItem(atPath: directory.appending("..data"))
        try FileManager.default.createSymbolicLink(atPath: directory.appending("..data"), withDestinationPath: "..2024_02")
        #expect(try await store.reload() == true)
        guard case .s3(let second)? = store.current.entries["models"] else { Issue.record("no entry"); return }
        #expect(second.bucket == "second")
    }

    @Test func missingSourceIsAnError() async throws {
        let error = try await #require(throws: StorageError.self) {
            _ = try await StorageConfigurationStore(source: .directory("/nonexistent/storage-config"))
        }
        #expect(error.reason == .localIO)
        #expect(error.message.contains("/nonexistent/storage-config"))
    }
}

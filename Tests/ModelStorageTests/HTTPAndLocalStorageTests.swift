import Foundation
import MeshCore
import MeshTestSupport
@testable import ModelStorage
import MetricsTestKit
import Testing

@Suite(.timeLimit(.minutes(5))) struct HTTPStorageTests {
    @Test func downloadsOverHTTPAndRevalidatesWithIfModifiedSince() async throws {
        let server = try await HTTPFileServer.start()
        let cache = try TemporaryDirectory(prefix: "mesh-http-cache")
        defer { cache.remove() }
        let contents = testBytes(250_000, seed: 21)
        try FileManager.default.createDirectory(atPath: server.root.appending("models"), withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: server.root.appending("models/mnist.onnx")))
        let configuration = StorageConfiguration.parse(files: [
            "web": Array(#"{"type":"http","url":"\#(server.baseURL)/models","headers":{"Authorization":"Bearer not-for-logs"}}"#.utf8),
        ])
        let logs = LogRecorder()
        let storage = ModelStorage(
            configuration: StorageConfigurationStore(configuration), cacheDirectory: cache.path,
            // The URI form is a registration's URL: loopback must be allowed for it explicitly.
            limits: StorageLimits(allowedHTTPHosts: ["127.0.0.1"], egress: try EgressPolicy(allowing: ["127.0.0.1"])),
            logger: logs.logger("storage"), metricsFactory: TestMetrics()
        )

        let uri = try await storage.fetch(.uri("\(server.baseURL)/models/mnist.onnx"), for: modelID("mnist"))
        #expect(!uri.fromCache)
        #expect(uri.path.hasSuffix("/mnist.onnx"))
        #expect(try readFile(uri.path) == contents)

        // Same URL through the keyed form and the entry's base URL: a 304, served from disk.
        storage.release(modelID("mnist"))
        let keyed = try await storage.fetch(.keyed(key: "web", path: "mnist.onnx"), for: modelID("mnist"))
        #expect(keyed.fromCache)
        #expect(keyed.path == uri.path)
        #expect(storage.statistics.downloads == 1)
        #expect(storage.statistics.cacheHits == 1)
        #expect(!logs.contains("not-for-logs"))

        let missing = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("\(server.baseURL)/models/none.onnx"), for: modelID("none"))
        }
        #expect(missing.reason == .notFound)
        #expect(missing.message.contains("/models/none.onnx"))
        await server.stop()
    }

    @Test func hostsOutsideTheAllowListAndEntryHeadersElsewhereAreRefused() async throws {
        let configuration = StorageConfiguration.parse(files: [
            "web": Array(#"{"type":"http","url":"https://models.example.com/base","headers":{"X-Token":"t0ken"}}"#.utf8),
        ])
        let cache = try TemporaryDirectory(prefix: "mesh-http-cache")
        defer { cache.remove() }
        let storage = ModelStorage(
            configuration: StorageConfigurationStore(configuration), cacheDirectory: cache.path,
            limits: StorageLimits(allowedHTTPHosts: ["*.example.com"]), metricsFactory: TestMetrics()
        )
        let host = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("https://evil.test/model.onnx"), for: modelID("m"))
        }
        #expect(host.reason == .hostNotAllowed)
        #expect(host.message.contains("evil.test"))

        let elsewhere = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("https://other.example.com/model.onnx", key: "web"), for: modelID("m"))
        }
        #expect(elsewhere.reason == .invalidLocation)
        #expect(elsewhere.message.contains("headers are only sent there"))
        #expect(!elsewhere.message.contains("t0ken"))
    }
}

@Suite(.timeLimit(.minutes(5))) struct LocalStorageTests {
    struct Volume {
        let root: TemporaryDirectory
        let outside: TemporaryDirectory
        let storage: ModelStorage
        let cache: TemporaryDirectory

        static func make() throws -> Volume {
            let root = try TemporaryDirectory(prefix: "mesh-pvc")
            let outside = try TemporaryDirectory(prefix: "mesh-outside")
            let cache = try TemporaryDirectory(prefix: "mesh-local-cache")
            let storage = ModelStorage(
                configuration: StorageConfigurationStore(), cacheDirectory: cache.path,
                limits: StorageLimits(maxModelBytes: 1_000_000, localRoots: [root.path]), metricsFactory: TestMetrics()
            )
            return Volume(root: root, outside: outside, storage: storage, cache: cache)
        }

        func write(_ relative: String, _ bytes: [UInt8]) throws {
            let path = root.appending(relative)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }

        func remove() {
            root.remove()
            outside.remove()
            cache.remove()
        }
    }

    @Test func relativeAndFileURIPathsAreReadInPlace() async throws {
        let volume = try Volume.make()
        defer { volume.remove() }
        try volume.write("sklearn/iris/model.onnx", testBytes(1_000))
        try volume.write("sklearn/iris/meta/schema.json", Array("{}".utf8))
        try FileManager.default.createSymbolicLink(atPath: volume.root.appending("sklearn/iris/alias.json"), withDestinationPath: volume.root.appending("sklearn/iris/meta/schema.json"))

        let relative = try await volume.storage.fetch(.uri("sklearn/iris"), for: modelID("iris"))
        #expect(relative.isDirectory)
        #expect(relative.fileCount == 3)
        #expect(relative.byteCount == 1_004)
        #expect(!relative.fromCache)
        #expect(try await relative.singleFile(withExtension: "onnx").hasSuffix("sklearn/iris/model.onnx"))

        let file = try await volume.storage.fetch(.uri("file://\(volume.root.path)/sklearn/iris/model.onnx"), for: modelID("iris-file"))
        #expect(!file.isDirectory)
        #expect(try readFile(file.path) == testBytes(1_000))
        #expect(volume.storage.statistics.localReads == 2)
        #expect(volume.storage.statistics.downloads == 0)
    }

    @Test func pathsAndSymlinksOutOfTheRootAreRefused() async throws {
        let volume = try Volume.make()
        defer { volume.remove() }
        try Data("secret".utf8).write(to: URL(fileURLWithPath: volume.outside.appending("passwd")))
        try volume.write("model/model.onnx", testBytes(10))
        try FileManager.default.createSymbolicLink(atPath: volume.root.appending("model/weights"), withDestinationPath: volume.outside.path)
        try FileManager.default.createSymbolicLink(atPath: volume.root.appending("link.onnx"), withDestinationPath: volume.outside.appending("passwd"))

        let inside = try await #require(throws: StorageError.self) {
            try await volume.storage.fetch(.uri("model"), for: modelID("m"))
        }
        #expect(inside.reason == .pathEscapes)
        #expect(inside.message.contains("points outside the model root"))

        let direct = try await #require(throws: StorageError.self) {
            try await volume.storage.fetch(.uri("link.onnx"), for: modelID("m"))
        }
        #expect(direct.reason == .pathEscapes)

        let fileURI = try await #require(throws: StorageError.self) {
            try await volume.storage.fetch(.uri("file://\(volume.outside.path)/passwd"), for: modelID("m"))
        }
        #expect(fileURI.reason == .pathEscapes)

        let dotDot = try await #require(throws: StorageError.self) {
            try await volume.storage.fetch(.uri("model/../../etc/passwd"), for: modelID("m"))
        }
        #expect(dotDot.reason == .invalidLocation)
        let encoded = try await #require(throws: StorageError.self) {
            try await volume.storage.fetch(.uri("file://\(volume.root.path)/%2e%2e/x"), for: modelID("m"))
        }
        #expect(encoded.reason == .invalidLocation)
    }

    @Test func oversizedLocalModelsAndAmbiguousSingleFilesAreRefused() async throws {
        let volume = try Volume.make()
        defer { volume.remove() }
        try volume.write("huge/a.bin", testBytes(600_000))
        try volume.write("huge/b.bin", testBytes(600_000))
        try volume.write("two/a.onnx", [1])
        try volume.write("two/sub/b.onnx", [2])

        let huge = try await #require(throws: StorageError.self) { try await volume.storage.fetch(.uri("huge"), for: modelID("h")) }
        #expect(huge.reason == .tooLarge)

        let two = try await volume.storage.fetch(.uri("two"), for: modelID("t"))
        let ambiguous = try await #require(throws: StorageError.self) { try await two.singleFile(withExtension: "onnx") }
        #expect(ambiguous.message.contains("a.onnx"))
        #expect(ambiguous.message.contains("sub/b.onnx"))
        let none = try await #require(throws: StorageError.self) { try await two.singleFile(withExtension: ".pt") }
        #expect(none.message.contains("no .pt file"))
    }
}

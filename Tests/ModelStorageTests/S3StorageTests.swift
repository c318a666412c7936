import AsyncHTTPClient
import Foundation
import MeshCore
import MeshTestSupport
@testable import ModelStorage
import MetricsTestKit
import Testing

/// Fetching models from a real S3 API (moto_server with signature checking on).
@Suite(.timeLimit(.minutes(5))) struct S3StorageTests {
    @Test func singleFileThroughBothLocationForms() async throws {
        let fixture = try await S3Fixture.make("single")
        defer { fixture.cleanUp() }
        let contents = testBytes(300_000, seed: 3)
        try await fixture.put("sklearn/iris.onnx", contents)
        let storage = try await fixture.storage()

        let keyed = try await storage.fetch(
            .keyed(key: "localMinIO", path: "sklearn/iris.onnx", parameters: ["bucket": fixture.bucket]),
            for: modelID("iris-keyed")
        )
        #expect(!keyed.isDirectory)
        #expect(keyed.path.hasSuffix("/iris.onnx"))
        #expect(keyed.byteCount == Int64(contents.count))
        #expect(!keyed.fromCache)
        #expect(try readFile(keyed.path) == contents)

        // The URI form reaches the same object and version: the second fetch is a cache hit.
        let uri = try await storage.fetch(.uri("s3://\(fixture.bucket)/sklearn/iris.onnx", key: "localMinIO"), for: modelID("iris-uri"))
        #expect(uri.fromCache)
        #expect(uri.path == keyed.path)
        #expect(try readFile(uri.path) == contents)
        #expect(try await uri.singleFile(withExtension: "onnx") == uri.path)

        let statistics = storage.statistics
        #expect(statistics.downloads == 1)
        #expect(statistics.cacheHits == 1)
        #expect(statistics.downloadedBytes == Int64(contents.count))
        #expect(fixture.metrics.counters.contains { $0.label == "modelmesh_storage_downloads_total" && $0.totalValue == 1 })
        #expect(fixture.metrics.counters.contains { $0.label == "modelmesh_storage_cache_hits_total" && $0.totalValue == 1 })
    }

    @Test func directoryModelThroughBothLocationForms() async throws {
        let fixture = try await S3Fixture.make("dir")
        defer { fixture.cleanUp() }
        let files: [String: [UInt8]] = [
            "config.pbtxt": Array("name: \"resnet\"\n".utf8),
            "1/model.onnx": testBytes(200_000, seed: 5),
            "1/weights/part 1.bin": testBytes(70_000, seed: 6),
            "labels.txt": [],
        ]
        for (name, contents) in files { try await fixture.put("triton/resnet/\(name)", contents) }
        // A sibling whose name starts with the same letters is not part of the model.
        try await fixture.put("triton/resnet-old/model.onnx", testBytes(10, seed: 7))
        // Locations without a key use ModelMesh's default entry.
        try fixture.writeEntry("default", fixture.entryJSON())
        let storage = try await fixture.storage()

        let fetched = try await storage.fetch(.uri("s3://\(fixture.bucket)/triton/resnet", key: "localMinIO"), for: modelID("resnet"))
        #expect(fetched.isDirectory)
        #expect(fetched.path.hasSuffix("/resnet"))
        #expect(fetched.fileCount == files.count)
        #expect(fetched.byteCount == Int64(files.values.map(\.count).reduce(0, +)))
        for (name, contents) in files {
            #expect(try readFile("\(fetched.path)/\(name)") == contents, "\(name) differs")
        }
        #expect(try await fetched.singleFile(withExtension: "onnx") == "\(fetched.path)/1/model.onnx")

        let keyed = try await storage.fetch(.keyed(key: nil, path: "triton/resnet/", parameters: ["type": "s3"]), for: modelID("resnet-2"))
        #expect(keyed.fromCache)
        #expect(keyed.path == fetched.path)
    }

    @Test func directoryListingFollowsContinuationTokens() async throws {
        let fixture = try await S3Fixture.make("pages")
        defer { fixture.cleanUp() }
        // More objects than one ListObjectsV2 page holds (1000).
        let count = 1_010
        try await ParallelDownloads.run(Array(0..<count), concurrency: 16) { index throws(StorageError) in
            try await fixture.admin.putObject(bucket: fixture.bucket, key: "many/part-\(index)", contents: Array("\(index)".utf8))
        }
        let listed = try await fixture.admin.listObjects(bucket: fixture.bucket, prefix: "many/", maxObjects: 5_000)
        #expect(listed.count == count)
        #expect(Set(listed.map(\.key)).count == count)
    }

    @Test func virtualHostedAddressing() async throws {
        let fixture = try await S3Fixture.make("vhost")
        defer { fixture.cleanUp() }
        let contents = testBytes(5_000, seed: 9)
        try await fixture.put("model.bin", contents)
        // bucket.s3.mesh.test resolves to the loopback server through the client's DNS override.
        var configuration = HTTPClient.Configuration()
        configuration.dnsOverride = ["\(fixture.bucket).s3.mesh.test": "127.0.0.1"]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        try fixture.writeEntry("vhost", fixture.entryJSON(endpoint: "http://s3.mesh.test:\(fixture.moto.port)", extra: #","addressing_style":"virtual""#))
        let storage = try await fixture.storage(httpClient: client)

        let fetched = try await storage.fetch(.keyed(key: "vhost", path: "model.bin"), for: modelID("vhost"))
        #expect(try readFile(fetched.path) == contents)
        let s3 = try #require(S3Fixture.entry(endpoint: "http://s3.mesh.test:\(fixture.moto.port)", keyID: "k", secret: "s", extra: #","addressing_style":"virtual""#))
        let address = S3Client(entry: s3).address(bucket: fixture.bucket, key: "a b/c")
        #expect(address.url.host == "\(fixture.bucket).s3.mesh.test")
        #expect(address.canonicalURI == "/a%20b/c")
    }

    @Test func privateCertificateAuthorityFromTheEntry() async throws {
        let moto = try await MotoServer.start(tls: true)
        let directory = try TemporaryDirectory(prefix: "mesh-storage-tls")
        defer { directory.remove() }
        let pem = String(decoding: try JSONEncoder().encode(try #require(moto.certificatePEM)), as: UTF8.self)
        let entry = #"{"type":"s3","access_key_id":"\#(moto.accessKeyID)","secret_access_key":"\#(moto.secretAccessKey)","endpoint_url":"\#(moto.endpointURL)","bucket":"secure-models""#
        let configuration = StorageConfiguration.parse(files: [
            "trusted": Array((entry + #","certificate":\#(pem)}"#).utf8),
            "untrusted": Array((entry + "}").utf8),
        ])
        guard case .s3(let trusted)? = configuration.entries["trusted"] else { Issue.record("\(configuration.problems)"); return }
        #expect(trusted.hasCustomCertificate)
        let admin = S3Client(entry: trusted)
        try await admin.createBucket("secure-models")
        let contents = testBytes(10_000, seed: 17)
        try await admin.putObject(bucket: "secure-models", key: "model.onnx", contents: contents)
        let storage = ModelStorage(
            configuration: StorageConfigurationStore(configuration), cacheDirectory: directory.appending("cache"),
            // AsyncHTTPClient retries failed connections until the request deadline: keep it short.
            limits: StorageLimits(requestTimeout: .seconds(2), retry: RetryPolicy(maxAttempts: 1)), metricsFactory: TestMetrics()
        )

        let fetched = try await storage.fetch(.keyed(key: "trusted", path: "model.onnx"), for: modelID("secure"))
        #expect(try readFile(fetched.path) == contents)
        let refused = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "untrusted", path: "model.onnx"), for: modelID("insecure"))
        }
        #expect(refused.reason == .transport)
        #expect(refused.message.contains("https://127.0.0.1:\(moto.port)"))
        #expect(refused.message.contains("TLS certificate is not trusted"))
        await moto.stop()
    }

    // MARK: - Errors

    @Test func wrongSecretIsNamedWithoutLeakingIt() async throws {
        let fixture = try await S3Fixture.make("badsecret")
        defer { fixture.cleanUp() }
        try await fixture.put("m.onnx", [1, 2, 3])
        let wrongSecret = "WRONG-secret-\(UUID().uuidString)"
        try fixture.writeEntry("broken", fixture.entryJSON(secret: wrongSecret))
        let storage = try await fixture.storage()

        let error = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "broken", path: "m.onnx"), for: modelID("m"))
        }
        #expect(error.reason == .invalidCredentials)
        #expect(error.s3ErrorCode == "SignatureDoesNotMatch")
        #expect(error.message.contains("SignatureDoesNotMatch"))
        #expect(error.message.contains("s3://\(fixture.bucket)/m.onnx"))
        #expect(error.message.contains("'broken'"))
        #expect(!error.message.contains(wrongSecret))
        #expect(!fixture.logs.contains(wrongSecret))
        #expect(!fixture.logs.contains(fixture.moto.secretAccessKey))
        #expect(fixture.metrics.counters.contains { $0.label == "modelmesh_storage_failures_total" && $0.dimensions.contains { $0 == ("reason", "invalid_credentials") } })
    }

    @Test func unknownAccessKeyIsNamed() async throws {
        let fixture = try await S3Fixture.make("badkey")
        defer { fixture.cleanUp() }
        try fixture.writeEntry("unknown", fixture.entryJSON(keyID: "AKIAUNKNOWNKEY000000", secret: "some-secret-value"))
        let storage = try await fixture.storage()
        let error = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "unknown", path: "m.onnx"), for: modelID("m"))
        }
        #expect(error.s3ErrorCode == "InvalidAccessKeyId")
        #expect(error.reason == .invalidCredentials)
        #expect(error.message.contains("access_key_id"))
        #expect(!error.message.contains("some-secret-value"))
    }

    @Test func userWithoutPermissionGetsAccessDenied() async throws {
        let fixture = try await S3Fixture.make("denied")
        defer { fixture.cleanUp() }
        try await fixture.put("m.onnx", [1])
        try fixture.writeEntry("reader", fixture.entryJSON(keyID: fixture.moto.deniedAccessKeyID, secret: fixture.moto.deniedSecretAccessKey))
        let storage = try await fixture.storage()
        let error = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "reader", path: "m.onnx"), for: modelID("m"))
        }
        #expect(error.reason == .accessDenied)
        #expect(error.s3ErrorCode == "AccessDenied")
        #expect(error.message.contains(fixture.bucket))
        #expect(!error.message.contains(fixture.moto.deniedSecretAccessKey))
    }

    @Test func credentialsThatCannotListStillLoadSingleFiles() async throws {
        let fixture = try await S3Fixture.make("getonly")
        defer { fixture.cleanUp() }
        let contents = testBytes(20_000, seed: 13)
        try await fixture.put("models/one.onnx", contents)
        try await fixture.put("models/dir/a.bin", [1])
        try fixture.writeEntry("getter", fixture.entryJSON(keyID: fixture.moto.getOnlyAccessKeyID, secret: fixture.moto.getOnlySecretAccessKey))
        let storage = try await fixture.storage()

        let file = try await storage.fetch(.keyed(key: "getter", path: "models/one.onnx"), for: modelID("one"))
        #expect(try readFile(file.path) == contents)
        storage.release(modelID("one"))
        #expect(try await storage.fetch(.keyed(key: "getter", path: "models/one.onnx"), for: modelID("one")).fromCache)

        let directory = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "getter", path: "models/dir"), for: modelID("dir"))
        }
        #expect(directory.reason == .accessDenied)
        #expect(directory.message.contains("ListObjectsV2"))
    }

    @Test func missingKeyAndMissingBucketAreNamed() async throws {
        let fixture = try await S3Fixture.make("missing")
        defer { fixture.cleanUp() }
        let storage = try await fixture.storage()

        let missingKey = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("s3://\(fixture.bucket)/models/nothing-here.onnx", key: "localMinIO"), for: modelID("m"))
        }
        #expect(missingKey.reason == .notFound)
        #expect(missingKey.s3ErrorCode == "NoSuchKey")
        #expect(missingKey.message.contains("s3://\(fixture.bucket)/models/nothing-here.onnx"))

        let missingBucket = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "localMinIO", path: "m.onnx", parameters: ["bucket": "no-such-bucket-\(fixture.bucket)"]), for: modelID("m"))
        }
        #expect(missingBucket.reason == .notFound)
        #expect(missingBucket.s3ErrorCode == "NoSuchBucket")
        #expect(missingBucket.message.contains("no-such-bucket-\(fixture.bucket)"))
        #expect(!missingBucket.message.contains(fixture.moto.secretAccessKey))
        #expect(storage.statistics.failures == 2)
    }

    @Test func objectKeysThatEscapeTheModelDirectoryAreRefused() async throws {
        let fixture = try await S3Fixture.make("escape")
        defer { fixture.cleanUp() }
        try await fixture.put("evil/model.onnx", [1])
        try await fixture.put("evil/../../../etc/cron.d/job", [2])
        try await fixture.put("leading//absolute", [3])
        try await fixture.put("leading/ok.onnx", [4])
        let storage = try await fixture.storage()

        let dotDot = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("s3://\(fixture.bucket)/evil", key: "localMinIO"), for: modelID("evil"))
        }
        #expect(dotDot.reason == .pathEscapes)
        #expect(dotDot.message.contains("evil/../../../etc/cron.d/job"))

        let absolute = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("s3://\(fixture.bucket)/leading", key: "localMinIO"), for: modelID("abs"))
        }
        #expect(absolute.reason == .pathEscapes)

        // A location with `..` never reaches S3.
        let location = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "localMinIO", path: "models/../../secrets"), for: modelID("loc"))
        }
        #expect(location.reason == .invalidLocation)
        let absolutePath = try await #require(throws: StorageError.self) {
            try await storage.fetch(.keyed(key: "localMinIO", path: "/etc/passwd"), for: modelID("loc"))
        }
        #expect(absolutePath.reason == .invalidLocation)
        #expect(storage.statistics.downloads == 0)
        let staging = try FileManager.default.contentsOfDirectory(atPath: "\(fixture.cacheDirectory)/staging")
        #expect(staging.isEmpty)
    }

    @Test func maximumModelSizeStopsTheDownload() async throws {
        let fixture = try await S3Fixture.make("toolarge")
        defer { fixture.cleanUp() }
        try await fixture.put("big/a.bin", testBytes(600_000, seed: 1))
        try await fixture.put("big/b.bin", testBytes(600_000, seed: 2))
        try await fixture.put("big.bin", testBytes(600_000, seed: 3))
        var limits = StorageLimits(maxModelBytes: 1_000_000)
        limits.retry = RetryPolicy(maxAttempts: 1)
        let storage = try await fixture.storage(limits: limits)

        // The listing already shows the directory is too big: nothing is downloaded.
        let listed = try await #require(throws: StorageError.self) {
            try await storage.fetch(.uri("s3://\(fixture.bucket)/big", key: "localMinIO"), for: modelID("big"))
        }
        #expect(listed.reason == .tooLarge)
        #expect(listed.message.contains("1000000"))

        // The budget also stops a stream as soon as it is crossed.
        let budget = ByteBudget(limit: 100_000, modelDescription: "s3://\(fixture.bucket)/big.bin")
        let destination = fixture.directory.appending("partial.bin")
        let download = ResumableDownload(
            destination: destination, source: "s3://\(fixture.bucket)/big.bin", expectedSize: 600_000, expectedMD5: nil,
            budget: budget, retry: RetryPolicy(maxAttempts: 1), logger: fixture.logs.logger("download")
        )
        let streamed = try await #require(throws: StorageError.self) {
            try await download.run { offset throws(StorageError) in
                try await fixture.admin.openObject(bucket: fixture.bucket, key: "big.bin", etag: nil, from: offset)
            }
        }
        #expect(streamed.reason == .tooLarge)
        #expect(budget.total > 100_000)
        #expect(budget.total < 600_000)
        // The file was opened transactionally: the aborted download left no file behind.
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(storage.statistics.cachedModels == 0)
    }

    // MARK: - Cache

    @Test func unchangedModelComesFromDiskAndChangedModelIsDownloadedAgain() async throws {
        let fixture = try await S3Fixture.make("etag")
        defer { fixture.cleanUp() }
        let first = testBytes(100_000, seed: 1)
        try await fixture.put("m/model.onnx", first)
        let storage = try await fixture.storage()
        let location = StorageLocation.keyed(key: "localMinIO", path: "m/model.onnx")

        let loaded = try await storage.fetch(location, for: modelID("m"))
        storage.release(modelID("m"))  // the peer evicted the model from memory
        let reloaded = try await storage.fetch(location, for: modelID("m"))
        #expect(reloaded.fromCache)
        #expect(reloaded.path == loaded.path)
        #expect(storage.statistics.downloads == 1)

        let second = testBytes(120_000, seed: 2)
        try await fixture.put("m/model.onnx", second)
        storage.release(modelID("m"))
        let changed = try await storage.fetch(location, for: modelID("m"))
        #expect(!changed.fromCache)
        #expect(changed.version != loaded.version)
        #expect(try readFile(changed.path) == second)
        #expect(storage.statistics.downloads == 2)
        // The old version was not in use, so it was removed at once.
        #expect(storage.statistics.cachedModels == 1)
        #expect(!FileManager.default.fileExists(atPath: loaded.path))
    }

    @Test func leastRecentlyUsedModelsAreEvictedButNeverOnesInUse() async throws {
        let fixture = try await S3Fixture.make("lru")
        defer { fixture.cleanUp() }
        for name in ["a", "b", "c"] { try await fixture.put("\(name).bin", testBytes(40_000, seed: UInt8(name.utf8.first!))) }
        let storage = try await fixture.storage(limits: StorageLimits(maxCacheBytes: 100_000))
        func location(_ name: String) -> StorageLocation { .keyed(key: "localMinIO", path: "\(name).bin") }

        let a = try await storage.fetch(location("a"), for: modelID("a"))
        _ = try await storage.fetch(location("b"), for: modelID("b"))
        // a and b are in use and fill 80 of 100 KB: c does not fit.
        let full = try await #require(throws: StorageError.self) {
            try await storage.fetch(location("c"), for: modelID("c"))
        }
        #expect(full.reason == .cacheFull)
        #expect(FileManager.default.fileExists(atPath: a.path))

        storage.release(modelID("a"))
        storage.release(modelID("b"))
        _ = try await storage.fetch(location("b"), for: modelID("b"))  // b is now more recent than a
        storage.release(modelID("b"))
        _ = try await storage.fetch(location("c"), for: modelID("c"))
        #expect(!FileManager.default.fileExists(atPath: a.path), "a was the least recently used")
        #expect(storage.statistics.cachedModels == 2)
        #expect(storage.statistics.evictions == 1)

        let again = try await storage.fetch(location("a"), for: modelID("a"))
        #expect(!again.fromCache)
        #expect(storage.statistics.downloads == 4)
    }

    @Test func concurrentFetchesShareOneDownload() async throws {
        let fixture = try await S3Fixture.make("flight")
        defer { fixture.cleanUp() }
        let contents = testBytes(2_000_000, seed: 4)
        try await fixture.put("shared.onnx", contents)
        let storage = try await fixture.storage()

        let results = try await withThrowingTaskGroup(of: FetchedModel.self) { group in
            for index in 0..<8 {
                group.addTask { try await storage.fetch(.keyed(key: "localMinIO", path: "shared.onnx"), for: modelID("copy-\(index)")) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8)
        #expect(Set(results.map(\.path)).count == 1)
        #expect(storage.statistics.downloads == 1)
        #expect(storage.statistics.entriesInUse == 1)
        #expect(try readFile(results[0].path) == contents)
    }

    @Test func cacheSurvivesARestartAndCleansInterruptedDownloads() async throws {
        let fixture = try await S3Fixture.make("restart")
        defer { fixture.cleanUp() }
        let contents = testBytes(50_000, seed: 8)
        try await fixture.put("persist.onnx", contents)
        let location = StorageLocation.keyed(key: "localMinIO", path: "persist.onnx")
        let first = try await fixture.storage()
        let fetched = try await first.fetch(location, for: modelID("p"))

        // Leftovers of a crash: a half-written download, and an entry directory without manifest.
        let leftover = "\(fixture.cacheDirectory)/staging/crashed-download"
        try FileManager.default.createDirectory(atPath: "\(leftover)/content", withIntermediateDirectories: true)
        try Data(testBytes(1_000)).write(to: URL(fileURLWithPath: "\(leftover)/content/persist.onnx"))
        let broken = "\(fixture.cacheDirectory)/entries/deadbeef.1234"
        try FileManager.default.createDirectory(atPath: "\(broken)/content", withIntermediateDirectories: true)

        let restarted = try await fixture.storage()
        try await restarted.prepare()
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(!FileManager.default.fileExists(atPath: broken))
        #expect(restarted.statistics.cachedModels == 1)
        let again = try await restarted.fetch(location, for: modelID("p"))
        #expect(again.fromCache)
        #expect(again.path == fetched.path)
        #expect(restarted.statistics.downloads == 0)
        #expect(try readFile(again.path) == contents)
    }

    // MARK: - Configuration

    @Test func changedCredentialsArePickedUpWithoutARestart() async throws {
        let fixture = try await S3Fixture.make("reload")
        defer { fixture.cleanUp() }
        try await fixture.put("m.onnx", testBytes(1_000))
        try fixture.writeEntry("rotating", fixture.entryJSON(secret: "stale-secret-value"))
        let store = try await fixture.configurationStore()
        let storage = try await fixture.storage(store)
        let location = StorageLocation.keyed(key: "rotating", path: "m.onnx")

        let before = try await #require(throws: StorageError.self) { try await storage.fetch(location, for: modelID("m")) }
        #expect(before.s3ErrorCode == "SignatureDoesNotMatch")

        try fixture.writeEntry("rotating", fixture.entryJSON())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.watchForChanges(every: .milliseconds(50)) }
            let deadline = ContinuousClock.now + .seconds(10)
            var fetched: FetchedModel?
            while fetched == nil, ContinuousClock.now < deadline {
                fetched = try? await storage.fetch(location, for: modelID("m"))
                if fetched == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            group.cancelAll()
            #expect(fetched?.byteCount == 1_000)
        }
        #expect(fixture.logs.contains("storage-config changed"))
        #expect(!fixture.logs.contains("stale-secret-value"))
    }
}

import Foundation
import MeshCore
import MeshTestSupport
@testable import ModelStorage
import Testing

/// Downloads whose connection is cut in the middle by a proxy in front of moto.
@Suite(.timeLimit(.minutes(5))) struct InterruptedDownloadTests {
    @Test func droppedConnectionIsResumedAndTheModelIsComplete() async throws {
        let fixture = try await S3Fixture.make("resume")
        defer { fixture.cleanUp() }
        let contents = testBytes(3_000_000, seed: 11)
        let etag = try await fixture.put("big/model.onnx", contents)
        #expect(!etag.contains("-"), "a single-part upload, so the MD5 is checked")
        let proxy = try await DroppingProxy.start(upstreamPort: fixture.moto.port, dropAfterBodyBytes: 1_000_000, drops: 1)
        try fixture.writeEntry("proxied", fixture.entryJSON(endpoint: proxy.endpointURL))
        let storage = try await fixture.storage()

        let fetched = try await storage.fetch(.keyed(key: "proxied", path: "big/model.onnx"), for: modelID("big"))
        #expect(proxy.droppedConnections == 1)
        #expect(try readFile(fetched.path) == contents)
        #expect(storage.statistics.downloads == 1)
        #expect(fixture.logs.contains("download interrupted; resuming"))
        await proxy.stop()
    }

    @Test func connectionDroppedEveryTimeFailsCleanlyAndALaterFetchIsWhole() async throws {
        let fixture = try await S3Fixture.make("drop")
        defer { fixture.cleanUp() }
        let contents = testBytes(2_000_000, seed: 12)
        try await fixture.put("dir/weights.bin", contents)
        try await fixture.put("dir/config.json", Array("{}".utf8))
        let proxy = try await DroppingProxy.start(upstreamPort: fixture.moto.port, dropAfterBodyBytes: 300_000, drops: 1_000)
        try fixture.writeEntry("proxied", fixture.entryJSON(endpoint: proxy.endpointURL))
        let storage = try await fixture.storage()
        let location = StorageLocation.uri("s3://\(fixture.bucket)/dir", key: "proxied")

        let error = try await #require(throws: StorageError.self) {
            try await storage.fetch(location, for: modelID("dir"))
        }
        #expect(error.reason == .transport)
        #expect(error.message.contains("s3://\(fixture.bucket)/dir/weights.bin"))
        #expect(proxy.droppedConnections == 3, "every attempt was cut")
        // Nothing partial is visible: no cache entry, no staging leftovers.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(fixture.cacheDirectory)/entries").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(fixture.cacheDirectory)/staging").isEmpty)
        #expect(storage.statistics.cachedModels == 0)

        proxy.setDrops(0)
        let fetched = try await storage.fetch(location, for: modelID("dir"))
        #expect(!fetched.fromCache)
        #expect(try readFile("\(fetched.path)/weights.bin") == contents)
        #expect(try readFile("\(fetched.path)/config.json") == Array("{}".utf8))
        await proxy.stop()
    }
}

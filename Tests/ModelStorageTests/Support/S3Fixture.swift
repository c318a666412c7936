import AsyncHTTPClient
import Foundation
import Logging
import MeshCore
import MeshTestSupport
import MetricsTestKit
@testable import ModelStorage
import Testing

/// One test's view of the shared moto server: its own bucket, a storage-config directory with
/// entries pointing at moto, a cache directory, and a `ModelStorage` over them.
struct S3Fixture {
    let moto: MotoServer
    let bucket: String
    let directory: TemporaryDirectory
    let admin: S3Client
    let logs: LogRecorder
    let metrics: TestMetrics

    var configDirectory: String { directory.appending("storage-config") }
    var cacheDirectory: String { directory.appending("cache") }

    static func make(_ name: String = "t") async throws -> S3Fixture {
        let moto = try await MotoServer.shared()
        let directory = try TemporaryDirectory(prefix: "mesh-storage-test")
        let bucket = "\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        let entry = try #require(S3Fixture.entry(endpoint: moto.endpointURL, keyID: moto.accessKeyID, secret: moto.secretAccessKey))
        let admin = S3Client(entry: entry, storageKey: "admin")
        try await admin.createBucket(bucket)
        let fixture = S3Fixture(moto: moto, bucket: bucket, directory: directory, admin: admin, logs: LogRecorder(), metrics: TestMetrics())
        try FileManager.default.createDirectory(atPath: fixture.configDirectory, withIntermediateDirectories: true)
        try fixture.writeEntry("localMinIO", fixture.entryJSON())
        return fixture
    }

    static func entry(endpoint: String, keyID: String, secret: String, extra: String = "") -> S3StorageEntry? {
        let json = #"{"type":"s3","access_key_id":"\#(keyID)","secret_access_key":"\#(secret)","endpoint_url":"\#(endpoint)","region":"us-east-1"\#(extra)}"#
        guard case .s3(let entry)? = StorageConfiguration.parse(files: ["e": Array(json.utf8)]).entries["e"] else { return nil }
        return entry
    }

    /// A storage-config entry for moto; credentials and endpoint can be swapped for failure tests.
    func entryJSON(
        keyID: String? = nil, secret: String? = nil, endpoint: String? = nil,
        bucket: String? = nil, extra: String = ""
    ) -> String {
        #"{"type":"s3","access_key_id":"\#(keyID ?? moto.accessKeyID)","secret_access_key":"\#(secret ?? moto.secretAccessKey)","endpoint_url":"\#(endpoint ?? moto.endpointURL)","region":"us-east-1","default_bucket":"\#(bucket ?? self.bucket)"\#(extra)}"#
    }

    func writeEntry(_ key: String, _ json: String) throws {
        try Data(json.utf8).write(to: URL(fileURLWithPath: "\(configDirectory)/\(key)"))
    }

    func configurationStore() async throws -> StorageConfigurationStore {
        try await StorageConfigurationStore(source: .directory(configDirectory), logger: logs.logger("config"))
    }

    func storage(
        _ store: StorageConfigurationStore? = nil,
        limits: StorageLimits = StorageLimits(retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(20))),
        httpClient: HTTPClient = .shared
    ) async throws -> ModelStorage {
        let configuration: StorageConfigurationStore
        if let store { configuration = store } else { configuration = try await configurationStore() }
        return ModelStorage(
            configuration: configuration, cacheDirectory: cacheDirectory, limits: limits,
            httpClient: httpClient, logger: logs.logger("storage"), metricsFactory: metrics
        )
    }

    @discardableResult
    func put(_ key: String, _ contents: [UInt8]) async throws -> String {
        try await admin.putObject(bucket: bucket, key: key, contents: contents)
    }

    func cleanUp() {
        directory.remove()
    }
}

/// Deterministic test content: `count` bytes that differ with `seed`.
func testBytes(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    var state = UInt32(seed) &* 2_654_435_761 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return UInt8(truncatingIfNeeded: state)
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func modelID(_ name: String) -> ModelID {
    ModelID(trusted: name)
}

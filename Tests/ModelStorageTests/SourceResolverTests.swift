import MeshCore
@testable import ModelStorage
import Testing

@Suite(.timeLimit(.minutes(5))) struct SourceResolverTests {
    let configuration = StorageConfiguration.parse(files: [
        "localMinIO": Array(#"{"type":"s3","access_key_id":"a","secret_access_key":"b","endpoint_url":"http://minio:9000","default_bucket":"models"}"#.utf8),
        "default_s3": Array(#"{"type":"s3","endpoint_url":"http://default:9000"}"#.utf8),
        "web": Array(#"{"type":"http","url":"https://files.example.com/repo/"}"#.utf8),
    ])

    func resolve(_ location: StorageLocation, limits: StorageLimits = StorageLimits(localRoots: ["/models"])) throws(StorageError) -> ResolvedSource {
        try SourceResolver(configuration: configuration, limits: limits).resolve(location)
    }

    @Test func keyedS3UsesTheEntryBucketUnlessAParameterOverridesIt() throws {
        guard case .s3(let source) = try resolve(.keyed(key: "localMinIO", path: "sklearn/iris.onnx")) else { Issue.record("not s3"); return }
        #expect(source.bucket == "models")
        #expect(source.path == "sklearn/iris.onnx")
        #expect(source.storageKey == "localMinIO")
        guard case .s3(let other) = try resolve(.keyed(key: "localMinIO", path: "x", parameters: ["bucket": "other", "region": "eu-west-1"])) else { Issue.record("not s3"); return }
        #expect(other.bucket == "other")
        #expect(other.entry.region == "eu-west-1")
    }

    @Test func s3URIsWithoutKeyUseTheDefaultEntry() throws {
        guard case .s3(let source) = try resolve(.uri("s3://bkt/path/to/model")) else { Issue.record("not s3"); return }
        #expect(source.storageKey == "default_s3")
        #expect(source.bucket == "bkt")
        #expect(source.path == "path/to/model")
        #expect(ResolvedSource.s3(source).flightKey.contains("http://default:9000"))
    }

    @Test func parametersCannotRedirectCredentials() {
        for name in ["endpoint_url", "access_key_id", "url", "headers"] {
            let error = #expect(throws: StorageError.self) { try resolve(.keyed(key: "localMinIO", path: "x", parameters: [name: "http://evil"])) }
            #expect(error?.message.contains("cannot be set per model") == true)
        }
        let mismatch = #expect(throws: StorageError.self) { try resolve(.keyed(key: "localMinIO", path: "x", parameters: ["type": "http"])) }
        #expect(mismatch?.message.contains("does not match") == true)
    }

    @Test func httpKeyedPathsJoinTheBaseURL() throws {
        guard case .http(let source) = try resolve(.keyed(key: "web", path: "mnist/model v1.onnx")) else { Issue.record("not http"); return }
        #expect(source.url.description == "https://files.example.com/repo/mnist/model%20v1.onnx")
    }

    @Test func refusals() {
        let cases: [(StorageLocation, StorageError.Reason)] = [
            (.uri("gs://bucket/model"), .unsupported),
            (.uri("s3://bucket"), .invalidLocation),
            (.uri("s3://Bad_Bucket!/x"), .invalidLocation),
            (.uri("s3://bkt/x", key: "web"), .invalidLocation),
            (.uri("s3://bkt/x", key: "missing"), .unknownStorageKey),
            (.uri("file://host/models/x"), .invalidLocation),
            (.uri("file:///etc/passwd"), .pathEscapes),
            (.uri("/etc/passwd"), .pathEscapes),
            (.uri("https://user:pw@host/x"), .invalidLocation),
            (.keyed(key: "localMinIO", path: "a/../b"), .invalidLocation),
            (.keyed(key: "../etc", path: "a"), .invalidLocation),
        ]
        for (location, reason) in cases {
            let error = #expect(throws: StorageError.self, "\(location)") { try resolve(location) }
            #expect(error?.reason == reason, "\(location): \(error?.message ?? "")")
        }
        let noRoot = #expect(throws: StorageError.self) { try resolve(.uri("relative/model"), limits: StorageLimits()) }
        #expect(noRoot?.message.contains("no local model root") == true)
    }

    @Test func localPathsResolveUnderTheRoots() throws {
        guard case .local(let relative) = try resolve(.uri("team/model/")) else { Issue.record("not local"); return }
        #expect(relative.absolutePath == "/models/team/model")
        guard case .local(let absolute) = try resolve(.uri("file:///models/a%20b")) else { Issue.record("not local"); return }
        #expect(absolute.absolutePath == "/models/a b")
        #expect(throws: StorageError.self) { try resolve(.uri("file:///modelsX/a")) }
    }

    @Test func allowedHostPatterns() {
        let limits = StorageLimits(allowedHTTPHosts: ["models.example.com", "*.cdn.example.org"])
        #expect(limits.isHTTPHostAllowed("MODELS.example.com"))
        #expect(limits.isHTTPHostAllowed("eu.cdn.example.org"))
        #expect(!limits.isHTTPHostAllowed("cdn.example.org.evil.com"))
        #expect(!limits.isHTTPHostAllowed("example.com"))
        #expect(StorageLimits().isHTTPHostAllowed("anything"))
    }
}

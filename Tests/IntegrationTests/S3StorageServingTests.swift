import Foundation
import MeshCore
import MeshTestSupport
import ModelStorage
import OpenInference
import Testing

extension Integration {
    /// Models served from a real S3 API (moto_server, signatures enforced) through real peers.
    @Suite struct S3Serving {
        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ONNXEngineTests/Fixtures").path

        struct Setup {
            let moto: MotoServer
            let bucket: String
            let config: TemporaryDirectory
            let admin: S3Client
        }

        /// A bucket with the iris model (one file) and a synthetic directory model, and a
        /// storage-config directory with a good and a bad entry.
        static func setUp() async throws -> Setup {
            let moto = try await MotoServer.shared()
            let bucket = "mesh-\(UUID().uuidString.prefix(8).lowercased())"
            let config = try TemporaryDirectory(prefix: "mesh-storage-config")
            func entry(secret: String) -> String {
                #"{"type":"s3","access_key_id":"\#(moto.accessKeyID)","secret_access_key":"\#(secret)","endpoint_url":"\#(moto.endpointURL)","region":"us-east-1","default_bucket":"\#(bucket)"}"#
            }
            try Data(entry(secret: moto.secretAccessKey).utf8).write(to: URL(fileURLWithPath: config.appending("localS3")))
            try Data(entry(secret: "not-the-secret-0123456789").utf8).write(to: URL(fileURLWithPath: config.appending("wrongS3")))
            guard case .s3(let admin)? = StorageConfiguration.parse(files: ["a": Array(entry(secret: moto.secretAccessKey).utf8)]).entries["a"] else {
                throw TestSupportError("cannot build the admin S3 entry")
            }
            let client = S3Client(entry: admin, storageKey: "admin")
            try await client.createBucket(bucket)
            let iris = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/iris-classifier.onnx"))
            _ = try await client.putObject(bucket: bucket, key: "sklearn/iris.onnx", contents: Array(iris))
            _ = try await client.putObject(bucket: bucket, key: "synthetic/doubler/model.json", contents: Array(#"{"scale": 2, "offset": 0}"#.utf8))
            _ = try await client.putObject(bucket: bucket, key: "synthetic/doubler/README", contents: Array("a directory model".utf8))
            return Setup(moto: moto, bucket: bucket, config: config, admin: client)
        }

        static func irisRequest() -> [UInt8] {
            RESTEncoding.request(InferenceRequest(inputs: [Tensor(name: "float_input", shape: [1, 4], floats: [6.7, 3.0, 5.2, 2.3])])).bytes
        }

        @Test func bothLocationFormsLoadAndServeThroughTheMesh() async throws {
            let setup = try await Self.setUp()
            defer { setup.config.remove() }
            try await withMesh(peers: 3, arguments: ["--storage-config", setup.config.path]) { mesh in
                let uriForm = #"{"id": "iris", "type": "onnx", "storage": {"uri": "s3://\#(setup.bucket)/sklearn/iris.onnx", "key": "localS3"}}"#
                let keyedForm = #"{"id": "doubler", "type": "synthetic", "storage": {"key": "localS3", "path": "synthetic/doubler/", "parameters": {"bucket": "\#(setup.bucket)"}}}"#
                #expect(try await TestHTTP.post(mesh.peers[0].url + "/v1/models", json: uriForm).status == 201)
                #expect(try await TestHTTP.post(mesh.peers[0].url + "/v1/models", json: keyedForm).status == 201)

                let iris = try await TestHTTP.send(.POST, mesh.peers[1].url + "/v2/models/iris/infer", body: Self.irisRequest())
                #expect(iris.status == 200, "\(iris.text)")
                #expect(try RESTDecoding.response(iris.body).outputs.first?.int64Values() == [2])

                for peer in mesh.peers {
                    let result = try await peer.infer("doubler", [1, 2, 3])
                    #expect(result.output == [2, 4, 6], "\(result.error ?? "")")
                }
                // Status shows the location, never credentials, and what the download cost.
                let status = try await mesh.peers[2].json("/v1/models/iris")
                #expect(status["model"]?["storage"]?["uri"]?.stringValue == "s3://\(setup.bucket)/sklearn/iris.onnx")
                let download = status["copies"]?.arrayValue?.first?["download"]
                #expect(download?["bytes"]?.int64Value == 690)
                #expect(download?["fromCache"]?.boolValue == false)
                let text = try await TestHTTP.get(mesh.peers[2].url + "/v1/models/iris").text
                #expect(!text.contains(setup.moto.secretAccessKey))
            }
        }

        @Test func wrongCredentialsAndMissingObjectsGiveClearErrorsAndOthersKeepServing() async throws {
            let setup = try await Self.setUp()
            defer { setup.config.remove() }
            try await withMesh(peers: 2, arguments: ["--storage-config", setup.config.path]) { mesh in
                let peer = mesh.peers[0]
                let cases: [(String, String, String)] = [
                    ("badcreds", #"{"key": "wrongS3", "path": "sklearn/iris.onnx"}"#, "SignatureDoesNotMatch"),
                    ("nokey", #"{"key": "localS3", "path": "sklearn/missing.onnx"}"#, "NoSuchKey"),
                    ("nobucket", #"{"key": "localS3", "path": "x.onnx", "parameters": {"bucket": "no-such-bucket-\#(setup.bucket)"}}"#, "NoSuchBucket"),
                    ("noentry", #"{"key": "nowhere", "path": "x.onnx"}"#, "nowhere"),
                ]
                #expect(try await TestHTTP.post(peer.url + "/v1/models", json: #"{"id": "iris", "type": "onnx", "storage": {"key": "localS3", "path": "sklearn/iris.onnx"}}"#).status == 201)
                for (id, storage, expected) in cases {
                    #expect(try await TestHTTP.post(peer.url + "/v1/models", json: #"{"id": "\#(id)", "type": "onnx", "storage": \#(storage)}"#).status == 201)
                    let reply = try await TestHTTP.send(.POST, peer.url + "/v2/models/\(id)/infer", body: Self.irisRequest())
                    #expect(reply.status == 503, "\(id): \(reply.text)")
                    #expect(reply.text.contains(expected), "\(id): \(reply.text)")
                    #expect(!reply.text.contains(setup.moto.secretAccessKey) && !reply.text.contains("not-the-secret"))
                    let healthy = try await TestHTTP.send(.POST, mesh.peers[1].url + "/v2/models/iris/infer", body: Self.irisRequest())
                    #expect(healthy.status == 200)
                }
            }
        }

        @Test func reloadingAnUnchangedModelUsesTheDiskCacheAndAChangedOneDownloadsAgain() async throws {
            let setup = try await Self.setUp()
            defer { setup.config.remove() }
            try await withMesh(peers: 1, arguments: ["--storage-config", setup.config.path]) { mesh in
                let peer = mesh.peers[0]
                #expect(try await TestHTTP.post(peer.url + "/v1/models", json: #"{"id": "doubler", "type": "synthetic", "storage": {"key": "localS3", "path": "synthetic/doubler/"}}"#).status == 201)
                #expect(try await peer.infer("doubler", [1]).output == [2])
                #expect(try await peer.metric("modelmesh_storage_downloads_total") == 1)

                func unloadAndServe(_ expected: [Float]) async throws {
                    let unloaded = try await TestHTTP.send(.POST, peer.url + "/v2/repository/models/doubler/unload")
                    #expect(unloaded.status == 200)
                    let gone = try await eventually { try await peer.placement(of: "doubler").isEmpty }
                    #expect(gone)
                    #expect(try await peer.infer("doubler", [1]).output == expected)
                }
                try await unloadAndServe([2])
                #expect(try await peer.metric("modelmesh_storage_downloads_total") == 1)
                #expect(try await peer.metric("modelmesh_storage_cache_hits_total") == 1)
                let status = try await peer.json("/v1/models/doubler")
                #expect(status["copies"]?.arrayValue?.first?["download"]?["fromCache"]?.boolValue == true)

                // A new version of the object (new ETag) is downloaded again.
                _ = try await setup.admin.putObject(bucket: setup.bucket, key: "synthetic/doubler/model.json", contents: Array(#"{"scale": 3, "offset": 0}"#.utf8))
                try await unloadAndServe([3])
                #expect(try await peer.metric("modelmesh_storage_downloads_total") == 2)
            }
        }
    }
}

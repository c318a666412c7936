import Foundation
import MeshCore
import MeshTestSupport
import ModelStorage
import OpenInference
import Synchronization
import Testing

/// Tells a background loop to finish its current request and stop.
private final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

extension Integration {
    /// `meshctl apply`, `diff` and `get` against a real mesh, with KServe's and the mesh's own
    /// manifests from cluster/examples and models in a real S3 API (moto_server).
    @Suite struct Apply {
        static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cluster/examples").path
        /// The bucket the examples name.
        static let bucket = "modelmesh-example-models"

        /// A storage-config directory with the examples' key, `localMinIO`, and the iris model
        /// at onnx/iris.onnx and onnx/iris-v2.onnx.
        static func storage() async throws -> TemporaryDirectory {
            let moto = try await MotoServer.shared()
            let config = try TemporaryDirectory(prefix: "mesh-apply-storage")
            let entry = #"{"type":"s3","access_key_id":"\#(moto.accessKeyID)","secret_access_key":"\#(moto.secretAccessKey)","endpoint_url":"\#(moto.endpointURL)","region":"us-east-1","default_bucket":"\#(bucket)"}"#
            try Data(entry.utf8).write(to: URL(fileURLWithPath: config.appending("localMinIO")))
            guard case .s3(let admin)? = StorageConfiguration.parse(files: ["a": Array(entry.utf8)]).entries["a"] else {
                throw TestSupportError("cannot build the admin S3 entry")
            }
            let client = S3Client(entry: admin, storageKey: "admin")
            // Every test of the suite shares the bucket (moto runs once per test process).
            try? await client.createBucket(bucket)
            let iris = Array(try Data(contentsOf: URL(fileURLWithPath: "\(S3Serving.fixtures)/iris-classifier.onnx")))
            _ = try await client.putObject(bucket: bucket, key: "onnx/iris.onnx", contents: iris)
            _ = try await client.putObject(bucket: bucket, key: "onnx/iris-v2.onnx", contents: iris)
            return config
        }

        func meshctl(_ mesh: LocalMesh, _ arguments: [String], input: String? = nil) throws -> String {
            try runCommand(try MeshPeerProcess.executable("meshctl"), arguments + ["--endpoint", mesh.peers[0].url], input: input)
        }

        /// meshctl's output and exit status, whether it failed or not.
        func meshctlResult(_ mesh: LocalMesh, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, errors: String) {
            do {
                return (0, try meshctl(mesh, arguments, input: input), "")
            } catch let failure as CommandFailure {
                return (failure.status, failure.output, failure.errors)
            }
        }

        func infer(_ peer: MeshPeerProcess, _ model: String) async throws -> Int {
            try await TestHTTP.send(.POST, peer.url + "/v2/models/\(model)/infer", body: S3Serving.irisRequest()).status
        }

        @Test func kserveExamplesApplyServeAndApplyAgainAsNoChange() async throws {
            let storage = try await Self.storage()
            defer { storage.remove() }
            try await withMesh(peers: 2, arguments: ["--storage-config", storage.path]) { mesh in
                let files = ["-f", "\(Self.examples)/onnx-isvc.yaml", "-f", "\(Self.examples)/predictor.yaml"]
                let first = try meshctl(mesh, ["apply"] + files)
                #expect(first.contains("vmodel/example-onnx-iris created"), "\(first)")
                #expect(first.contains("vmodel/example-onnx-iris-uri created"), "\(first)")
                #expect(first.contains("vmodel/example-onnx-predictor created"), "\(first)")
                #expect(first.contains("3 created, 0 configured, 0 unchanged, 0 pruned"), "\(first)")
                // Clients call the InferenceService's name, through any peer.
                for name in ["example-onnx-iris", "example-onnx-iris-uri", "example-onnx-predictor"] {
                    #expect(try await infer(mesh.peers[1], name) == 200, "\(name)")
                }
                // The concrete models are named as ModelMesh names them and live in etcd.
                let keys = try mesh.etcdctlGet("/models/", keysOnly: true)
                #expect(keys.contains("example-onnx-iris__isvc-"), "\(keys)")
                let again = try meshctl(mesh, ["apply"] + files)
                #expect(again.contains("0 created, 0 configured, 3 unchanged, 0 pruned"), "\(again)")
                #expect(try meshctl(mesh, ["diff"] + files).contains("no differences"))

                let ready = try meshctl(mesh, ["get", "vmodels", "-o", "wide"])
                #expect(ready.contains("READY") && ready.contains("example-onnx-iris "), "\(ready)")
                let row = ready.split(separator: "\n").first { $0.hasPrefix("example-onnx-predictor ") } ?? ""
                #expect(row.contains("True") && row.contains("Loaded") && row.contains("isvc") && row.contains("team=examples"), "\(ready)")

                // What get writes, apply takes back as no change.
                let yaml = try meshctl(mesh, ["get", "vmodels", "-o", "yaml"])
                #expect(try meshctl(mesh, ["apply", "-f", "-"], input: yaml).contains("0 created, 0 configured, 3 unchanged"))

                // A model type no peer runs is refused with what the mesh runs; the rest goes on.
                let sklearn = try meshctlResult(mesh, ["apply", "-f", "\(Self.examples)/sklearn-isvc.yaml", "-f", "\(Self.examples)/mesh-models.yaml"])
                #expect(sklearn.status == 1)
                #expect(sklearn.errors.contains("error: vmodel/example-sklearn-isvc: HTTP 400: unknown model type \"sklearn\"; no live peer runs it; this mesh runs onnx, synthetic"), "\(sklearn.errors)")
                #expect(sklearn.output.contains("model/iris-v1 created") && sklearn.output.contains("vmodel/iris created"), "\(sklearn.output)")
                #expect(try await infer(mesh.peers[0], "iris") == 200)

                // A manifest with a typo is refused before anything is sent.
                let typo = try meshctlResult(mesh, ["apply", "-f", "-"], input: "apiVersion: swift-model-mesh/v1\nkind: Model\nmetadata: {name: typo}\nspec:\n  type: onnx\n  storageUri: x.onnx\n  maxCopy: 2\n")
                #expect(typo.status != 0)
                #expect(typo.errors.contains("<stdin>:7: unknown field spec.maxCopy"), "\(typo.errors)")
                #expect(!(try mesh.etcdctlGet("/models/", keysOnly: true).contains("typo")))
            }
        }

        @Test func aChangedStorageMovesTheInferenceServiceWithoutAFailedRequest() async throws {
            let storage = try await Self.storage()
            defer { storage.remove() }
            try await withMesh(peers: 2, arguments: ["--storage-config", storage.path]) { mesh in
                func manifest(_ path: String) -> String {
                    """
                    apiVersion: serving.kserve.io/v1beta1
                    kind: InferenceService
                    metadata:
                      name: moving-iris
                      annotations: {serving.kserve.io/deploymentMode: ModelMesh, serving.kserve.io/secretKey: localMinIO}
                    spec:
                      predictor:
                        model:
                          modelFormat: {name: onnx}
                          storageUri: s3://\(Self.bucket)/\(path)
                    """
                }
                _ = try meshctl(mesh, ["apply", "-f", "-"], input: manifest("onnx/iris.onnx"))
                #expect(try await infer(mesh.peers[1], "moving-iris") == 200)
                func vmodel() async throws -> [String: Any] { try await TestHTTP.get(mesh.peers[0].url + "/v1/vmodels/moving-iris").json }
                let before = try await vmodel()["activeModel"] as? String ?? ""

                // Requests through both peers the whole time the vmodel moves.
                let urls = mesh.peers.map(\.url)
                // Stopped by a flag, not by cancelling, so no request is cut off mid-flight.
                let stop = StopFlag()
                let load = Task {
                    var statuses: [Int] = []
                    var failures: [String] = []
                    while !stop.isSet {
                        for url in urls {
                            let reply = try? await TestHTTP.send(.POST, url + "/v2/models/moving-iris/infer", body: S3Serving.irisRequest())
                            statuses.append(reply?.status ?? -1)
                            if let reply, reply.status != 200 { failures.append("\(url): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))") }
                        }
                    }
                    return (statuses, failures)
                }
                let diff = try meshctlResult(mesh, ["diff", "-f", "-"], input: manifest("onnx/iris-v2.onnx"))
                #expect(diff.status == 1)
                #expect(diff.output.contains("~ vmodel/moving-iris") && diff.output.contains("requests move once it is loaded"), "\(diff.output)")
                let applied = try meshctl(mesh, ["apply", "-f", "-"], input: manifest("onnx/iris-v2.onnx"))
                #expect(applied.contains("vmodel/moving-iris configured"), "\(applied)")
                let target = try await vmodel()["targetModel"] as? String ?? ""
                #expect(target != before && target.hasPrefix("moving-iris__isvc-"))
                let moved = try await eventually(timeout: .seconds(60)) {
                    let state = try await vmodel()
                    return state["activeModel"] as? String == target && state["status"] as? String == "DEFINED"
                }
                #expect(moved)
                try await Task.sleep(for: .milliseconds(300))
                stop.set()
                let (statuses, failures) = await load.value
                #expect(statuses.count > 10)
                #expect(statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count)): \(failures.prefix(3))")
                // The model it moved off was created for it, so it is unregistered.
                let retired = try await eventually { !(try mesh.etcdctlGet("/models/", keysOnly: true).contains(before)) }
                #expect(retired)
                #expect(try meshctl(mesh, ["diff", "-f", "-"], input: manifest("onnx/iris-v2.onnx")).contains("no differences"))
            }
        }

        @Test func pruneRemovesOnlyTaggedObjectsTheFilesNoLongerDeclare() async throws {
            let storage = try await Self.storage()
            defer { storage.remove() }
            try await withMesh(peers: 1, arguments: ["--storage-config", storage.path]) { mesh in
                let all = ["-f", "\(Self.examples)/mesh-models.yaml", "-f", "\(Self.examples)/onnx-isvc.yaml"]
                #expect(try meshctl(mesh, ["apply"] + all).contains("4 created"))
                let other = #"{"id": "other-team", "type": "onnx", "storageUri": "s3://\#(Self.bucket)/onnx/iris.onnx", "tags": {"team": "other"}}"#
                #expect(try await TestHTTP.post(mesh.peers[0].url + "/v1/models", json: other).status == 201)
                let untagged = #"{"id": "untagged", "type": "onnx", "storageUri": "s3://\#(Self.bucket)/onnx/iris.onnx"}"#
                #expect(try await TestHTTP.post(mesh.peers[0].url + "/v1/models", json: untagged).status == 201)

                let diff = try meshctlResult(mesh, ["diff", "--prune", "-l", "team=examples", "-f", "\(Self.examples)/mesh-models.yaml"])
                #expect(diff.output.contains("- vmodel/example-onnx-iris\n") && diff.output.contains("- vmodel/example-onnx-iris-uri"), "\(diff.output)")
                let pruned = try meshctl(mesh, ["apply", "--prune", "-l", "team=examples", "-f", "\(Self.examples)/mesh-models.yaml"])
                #expect(pruned.contains("vmodel/example-onnx-iris pruned") && pruned.contains("vmodel/example-onnx-iris-uri pruned"), "\(pruned)")
                #expect(pruned.contains("0 created, 0 configured, 2 unchanged, 2 pruned"), "\(pruned)")
                let models = try mesh.etcdctlGet("/models/", keysOnly: true)
                // The InferenceServices' models went with their vmodels; the rest stays.
                #expect(!models.contains("example-onnx-iris"), "\(models)")
                #expect(models.contains("iris-v1") && models.contains("other-team") && models.contains("untagged"), "\(models)")
                #expect(try await infer(mesh.peers[0], "iris") == 200)
                let listed = try meshctl(mesh, ["get", "models", "-l", "team=other"])
                #expect(listed.contains("other-team") && !listed.contains("iris-v1"), "\(listed)")
            }
        }
    }
}

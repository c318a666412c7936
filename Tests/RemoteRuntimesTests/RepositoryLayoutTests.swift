import Foundation
import MeshCore
@testable import RemoteRuntimes
import Testing

@Suite struct RepositoryLayoutTests {
    func temporaryRepository() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func mlserverEntriesNameTheImplementationAndPointAtTheFiles() throws {
        let repository = try temporaryRepository()
        defer { try? FileManager.default.removeItem(atPath: repository) }
        let layout = RepositoryLayout(server: .mlserver, repository: repository, implementations: ["custom": "pkg.Custom"])
        try layout.write(ModelID("iris"), type: "sklearn:1", path: "/cache/iris/model.joblib")
        let settings = try #require(FileManager.default.contents(atPath: "\(repository)/iris/model-settings.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: settings) as? [String: Any])
        #expect(json["name"] as? String == "iris")
        #expect(json["implementation"] as? String == "mlserver_sklearn.SKLearnModel")
        #expect((json["parameters"] as? [String: String])?["uri"] == "/cache/iris/model.joblib")
        try layout.write(ModelID("mine"), type: "custom", path: "/cache/mine")
        #expect(FileManager.default.fileExists(atPath: "\(repository)/mine/model-settings.json"))
        #expect(throws: MeshError.self) { try layout.write(ModelID("tf"), type: "tensorflow", path: "/x") }
        #expect(!FileManager.default.fileExists(atPath: "\(repository)/tf"))

        // A purge removes the entries the peer wrote and nothing else.
        try FileManager.default.createDirectory(atPath: "\(repository)/someone-else", withIntermediateDirectories: true)
        #expect(layout.purge() == ["iris", "mine"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository) == ["someone-else"])
    }

    @Test func tritonEntriesLinkTheModelAsVersionOne() throws {
        let repository = try temporaryRepository()
        defer { try? FileManager.default.removeItem(atPath: repository) }
        let layout = RepositoryLayout(server: .triton, repository: repository, implementations: [:])
        try layout.write(ModelID("net"), type: "onnx", path: "/cache/net.onnx")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(repository)/net/1/model.onnx") == "/cache/net.onnx")
        let config = try #require(FileManager.default.contents(atPath: "\(repository)/net/config.pbtxt"))
        #expect(String(decoding: config, as: UTF8.self) == "platform: \"onnxruntime_onnx\"\n")
    }

    @Test func sizesAreTheFilesTimesTheMultiplier() {
        #expect(OpenInferenceServerRuntime.size(diskBytes: 1000, multiplier: 1.25) == 1250)
        #expect(OpenInferenceServerRuntime.size(diskBytes: Int64.max / 2, multiplier: 100) == Int64.max)
    }
}

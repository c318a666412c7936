import Foundation
import Testing
@testable import ONNXEngine

/// Initializers whose bytes live in a file next to the model (`data_location = EXTERNAL`).
@Suite struct ExternalDataTests {
    static func model(location: String) throws -> Data {
        var weights = Onnx_TensorProto()
        weights.name = "w"
        weights.dataType = ElementType.float.rawValue
        weights.dims = [2, 2]
        weights.dataLocation = .external
        weights.externalData = [("location", location), ("offset", "8"), ("length", "16")].map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return try ModelBuilder.model(
            nodes: [ModelBuilder.node("MatMul", ["x", "w"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [-1, 2])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1, 2])],
            initializers: [weights])
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-external-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func weightsAreReadFromTheFileBesideTheModel() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // 8 bytes of padding, then the 2x2 matrix [[1, 2], [3, 4]].
        let floats: [Float] = [0, 0, 1, 2, 3, 4]
        let bytes = floats.withUnsafeBytes { Data($0) }
        try bytes.write(to: directory.appendingPathComponent("weights.bin"))
        let modelURL = directory.appendingPathComponent("model.onnx")
        try Self.model(location: "weights.bin").write(to: modelURL)

        let model = try ONNXModel(contentsOf: modelURL)
        let out = try model.run(["x": try ONNXTensor(shape: [1, 2], floats: [1, 1])])
        #expect(out["y"]?.floats == [4, 6])
        #expect(model.weightBytes >= 16)
    }

    @Test func externalDataNeedsAFileAndAStayInsideItsDirectory() throws {
        #expect(throws: ONNXError.self) { try ONNXModel(data: try Self.model(location: "weights.bin")) }
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for location in ["../weights.bin", "/etc/passwd", "missing.bin"] {
            let url = directory.appendingPathComponent("model.onnx")
            try Self.model(location: location).write(to: url)
            do {
                _ = try ONNXModel(contentsOf: url)
                Issue.record("loaded external data from \(location)")
            } catch {
                guard case .malformedModel = error else { Issue.record("wrong error \(error)"); continue }
            }
        }
    }
}

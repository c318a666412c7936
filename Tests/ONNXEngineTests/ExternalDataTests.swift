import Foundation
import Testing
@testable import ONNXEngine

/// Initializers whose bytes live in a file next to the model (`data_location = EXTERNAL`).
@Suite struct ExternalDataTests {
    /// A 2x2 float tensor whose bytes are `length` bytes at `offset` in `location`.
    static func tensor(_ name: String = "w", location: String, offset: String? = "8", length: String? = "16") -> Onnx_TensorProto {
        var weights = Onnx_TensorProto()
        weights.name = name
        weights.dataType = ElementType.float.rawValue
        weights.dims = [2, 2]
        weights.dataLocation = .external
        let entries = [("location", location), ("offset", offset), ("length", length)]
        weights.externalData = entries.compactMap { key, value in
            guard let value else { return nil }
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return weights
    }

    /// `x · w`, plus any further initializers.
    static func model(location: String, offset: String? = "8", length: String? = "16", more: [Onnx_TensorProto] = []) throws -> Data {
        try ModelBuilder.model(
            nodes: [ModelBuilder.node("MatMul", ["x", "w"], ["y"])],
            inputs: [ModelBuilder.tensorInfo("x", .float, [-1, 2])],
            outputs: [ModelBuilder.tensorInfo("y", .float, [-1, 2])],
            initializers: [tensor(location: location, offset: offset, length: length)] + more)
    }

    /// Writes `floats` as `weights.bin` and `data` as `model.onnx` in a fresh directory.
    static func files(_ floats: [Float], model data: Data) throws -> (directory: URL, model: URL) {
        let directory = try Self.directory()
        try floats.withUnsafeBytes { Data($0) }.write(to: directory.appendingPathComponent("weights.bin"))
        let url = directory.appendingPathComponent("model.onnx")
        try data.write(to: url)
        return (directory, url)
    }

    /// The message of the `malformedModel` error loading `url` fails with.
    static func loadFailure(_ url: URL) -> String? {
        do {
            _ = try ONNXModel(contentsOf: url)
            return nil
        } catch {
            guard case .malformedModel(let message) = error else { return "other error: \(error)" }
            return message
        }
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

    @Test func offsetsAndLengthsThatOverflowAreRefused() throws {
        let floats: [Float] = [0, 0, 1, 2, 3, 4]
        let cases: [(offset: String?, length: String?, message: String)] = [
            ("\(Int.max)", "16", "tensor w: external data offset \(Int.max) + length 16 overflows"),
            ("8", "\(Int.max)", "tensor w: external data offset 8 + length \(Int.max) overflows"),
            ("99999999999999999999", "16", "tensor w has an invalid external data offset '99999999999999999999'"),
            ("8", "-16", "tensor w has an invalid external data length '-16'"),
            ("-8", nil, "tensor w has an invalid external data offset '-8'"),
            ("32", nil, "tensor w: external data at offset 32 is outside weights.bin (24 bytes)"),
            ("16", "16", "tensor w: external data at offset 16, length 16, is outside weights.bin (24 bytes)"),
        ]
        for (offset, length, message) in cases {
            let (directory, url) = try Self.files(floats, model: try Self.model(location: "weights.bin", offset: offset, length: length))
            defer { try? FileManager.default.removeItem(at: directory) }
            #expect(Self.loadFailure(url) == message)
        }
    }

    @Test func eachFileIsReadOnceHoweverManyTensorsNameIt() throws {
        let floats = (0..<64).map(Float.init)
        let (directory, _) = try Self.files(floats, model: Data())
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = ExternalDataFiles(baseDirectory: directory)
        for i in 0..<16 {
            let proto = Self.tensor("w\(i)", location: i % 2 == 0 ? "weights.bin" : "./weights.bin", offset: "\(i * 16)")
            let tensor = try TensorDecoding.decode(proto, externalData: files)
            #expect(tensor.floats == Array(floats[(i * 4)..<(i * 4 + 4)]))
        }
        #expect(files.filesRead == 1)
    }

    @Test func manyInitializersShareOneFile() throws {
        let floats = (0..<66).map(Float.init)
        let more = (1..<16).map { i in Self.tensor("w\(i)", location: "weights.bin", offset: "\(8 + i * 16)") }
        let (directory, url) = try Self.files(floats, model: try Self.model(location: "weights.bin", more: more))
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try ONNXModel(contentsOf: url)
        let out = try model.run(["x": try ONNXTensor(shape: [1, 2], floats: [1, 1])])
        #expect(out["y"]?.floats == [6, 8])
        #expect(model.weightBytes >= 16 * 16)
    }

    @Test func tensorsMayNotTakeMoreBytesThanTheFileHolds() throws {
        // Sixteen tensors on the same 16 bytes would hold sixteen copies of the file.
        let more = (1..<16).map { i in Self.tensor("w\(i)", location: "weights.bin") }
        let (directory, url) = try Self.files([0, 0, 1, 2, 3, 4], model: try Self.model(location: "weights.bin", more: more))
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(
            Self.loadFailure(url)
                == "tensor w1: tensors take 32 bytes from weights.bin, which holds 24; their external data ranges overlap")
    }

    @Test func externalDataMustBeARegularFileInsideTheModelDirectory() throws {
        let (directory, url) = try Self.files([0, 0, 1, 2, 3, 4], model: try Self.model(location: "link.bin"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let outside = try Self.directory()
        defer { try? FileManager.default.removeItem(at: outside) }
        try [Float](repeating: 1, count: 6).withUnsafeBytes { Data($0) }.write(to: outside.appendingPathComponent("weights.bin"))
        try FileManager.default.createSymbolicLink(
            at: directory.appendingPathComponent("link.bin"), withDestinationURL: outside.appendingPathComponent("weights.bin"))
        #expect(Self.loadFailure(url) == "tensor w: external data file link.bin resolves outside the model's directory")

        // Reading a FIFO would wait for a writer forever.
        try Self.model(location: "pipe.bin").write(to: url)
        #expect(mkfifo(directory.appendingPathComponent("pipe.bin").path, 0o600) == 0)
        #expect(Self.loadFailure(url) == "tensor w: cannot read external data file pipe.bin (missing or not a regular file)")
    }
}

import Foundation
import MeshCore

/// What an Open Inference server needs in its model repository to load a model: one directory
/// per model, named as the model, holding what that server reads. The model's files stay where
/// the peer's storage put them (the repository and the storage cache share a volume); the entry
/// points at them.
struct RepositoryLayout: Sendable {
    let server: RuntimeServerConfiguration.ServerKind
    let repository: String
    let implementations: [String: String]

    /// Marks an entry as written by the peer: only marked entries are purged.
    static let marker = ".modelmesh-entry"

    /// MLServer's implementation classes for the formats its own runtimes load.
    static let mlserverImplementations: [String: String] = [
        "sklearn": "mlserver_sklearn.SKLearnModel",
        "xgboost": "mlserver_xgboost.XGBoostModel",
        "lightgbm": "mlserver_lightgbm.LightGBMModel",
        "mlflow": "mlserver_mlflow.MLflowRuntime",
        "catboost": "mlserver_catboost.CatboostModel",
        "huggingface": "mlserver_huggingface.HuggingFaceRuntime",
        "alibi-detect": "mlserver_alibi_detect.AlibiDetectRuntime",
        "alibi-explain": "mlserver_alibi_explain.AlibiExplainRuntime",
    ]

    /// Triton's platform and model file name per format.
    static let tritonPlatforms: [String: (platform: String, file: String)] = [
        "onnx": ("onnxruntime_onnx", "model.onnx"),
        "pytorch": ("pytorch_libtorch", "model.pt"),
        "tensorflow": ("tensorflow_savedmodel", "model.savedmodel"),
        "tensorrt": ("tensorrt_plan", "model.plan"),
    ]

    func entry(for model: ModelID) -> String { "\(repository)/\(model.rawValue)" }

    /// Writes the entry for `model` of format `type` whose files are at `path`.
    func write(_ model: ModelID, type: String, path: String) throws(MeshError) {
        let format = ModelFormat(type).name
        let directory = entry(for: model)
        let files = FileManager.default
        try? files.removeItem(atPath: directory)
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = files.createFile(atPath: "\(directory)/\(Self.marker)", contents: Data())
            switch server {
            case .mlserver:
                guard let implementation = implementations[format] ?? Self.mlserverImplementations[format] else {
                    throw MeshError.failedPrecondition("MLServer has no known implementation for model format \(format); name one under \"implementations\" in --runtime-servers")
                }
                let settings: [String: Any] = ["name": model.rawValue, "implementation": implementation, "parameters": ["uri": path]]
                let json = try JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys])
                guard files.createFile(atPath: "\(directory)/model-settings.json", contents: json) else {
                    throw MeshError.failedPrecondition("cannot write \(directory)/model-settings.json")
                }
            case .triton:
                try writeTriton(model, format: format, path: path, directory: directory)
            }
        } catch let error as MeshError {
            try? files.removeItem(atPath: directory)
            throw error
        } catch {
            try? files.removeItem(atPath: directory)
            throw MeshError.failedPrecondition("cannot write the repository entry \(directory): \(error.localizedDescription)")
        }
    }

    /// A Triton entry: the model's own directory when it has a `config.pbtxt` (linked version by
    /// version, the config copied without its `name`, which must match the entry), else version
    /// 1 linking the model file, with a config naming its platform.
    private func writeTriton(_ model: ModelID, format: String, path: String, directory: String) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
           let config = files.contents(atPath: "\(path)/config.pbtxt") {
            let text = String(decoding: config, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("name:") }.joined(separator: "\n")
            _ = files.createFile(atPath: "\(directory)/config.pbtxt", contents: Data(text.utf8))
            for item in try files.contentsOfDirectory(atPath: path) where item != "config.pbtxt" {
                try files.createSymbolicLink(atPath: "\(directory)/\(item)", withDestinationPath: "\(path)/\(item)")
            }
            return
        }
        guard let (platform, file) = Self.tritonPlatforms[format] else {
            throw MeshError.failedPrecondition("Triton needs a config.pbtxt for model format \(format); store the model as a Triton model directory")
        }
        try files.createDirectory(atPath: "\(directory)/1", withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: "\(directory)/1/\(file)", withDestinationPath: path)
        _ = files.createFile(atPath: "\(directory)/config.pbtxt", contents: Data("platform: \"\(platform)\"\n".utf8))
    }

    func remove(_ model: ModelID) {
        try? FileManager.default.removeItem(atPath: entry(for: model))
    }

    /// Removes every entry the peer wrote (a restart: the peer knows of none).
    func purge() -> [String] {
        let files = FileManager.default
        let names = (try? files.contentsOfDirectory(atPath: repository)) ?? []
        var removed: [String] = []
        for name in names.sorted() where files.fileExists(atPath: "\(repository)/\(name)/\(Self.marker)") {
            try? files.removeItem(atPath: "\(repository)/\(name)")
            removed.append(name)
        }
        return removed
    }
}

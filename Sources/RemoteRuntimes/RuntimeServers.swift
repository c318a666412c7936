import Foundation
import Logging
import ModelRuntimes

/// The runtime servers `--runtime-servers FILE` lists, ready to be supervised.
public enum RuntimeServers {
    public static func load(file path: String, maxMessageBytes: Int, logger: Logger) throws -> [any RuntimeServer] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuntimeServerConfiguration.Problem(description: "cannot read --runtime-servers file \(path)")
        }
        let configurations = try RuntimeServerConfiguration.parse(String(decoding: data, as: UTF8.self), source: path)
        return try configurations.map { configuration in try make(configuration, maxMessageBytes: maxMessageBytes, logger: logger) }
    }

    public static func make(_ configuration: RuntimeServerConfiguration, maxMessageBytes: Int, logger: Logger) throws -> any RuntimeServer {
        switch configuration.runtimeProtocol {
        case .openInference:
            return OpenInferenceServerRuntime(configuration: configuration, maxResponseBytes: maxMessageBytes, logger: logger)
        case .modelMesh:
            return try ModelMeshRuntimeClient(configuration: configuration, maxMessageBytes: maxMessageBytes, logger: logger)
        }
    }
}

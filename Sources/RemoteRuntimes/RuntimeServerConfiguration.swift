import MeshCore
import Yams

/// One runtime server beside the peer, as `--runtime-servers FILE` lists them (YAML or JSON):
///
/// ```yaml
/// - name: mlserver                 # its pool's name
///   protocol: open-inference       # or modelmesh (mmesh.ModelRuntime)
///   server: mlserver               # open-inference: mlserver or triton (the repository layout)
///   rest: http://127.0.0.1:8080    # open-inference: the server's REST endpoint
///   repository: /models/mlserver   # open-inference: its model repository (a shared volume)
///   formats: [sklearn, xgboost, lightgbm]
///   memory: 2Gi                    # the pool's budget (modelmesh: default the runtime's capacity)
/// - name: custom
///   protocol: modelmesh
///   grpc: 127.0.0.1:8085           # the runtime's gRPC endpoint (runtime API and inference)
///   formats: [custom]
/// ```
public struct RuntimeServerConfiguration: Sendable, Hashable {
    public enum RuntimeProtocol: String, Sendable, Hashable, CaseIterable {
        case openInference = "open-inference"
        case modelMesh = "modelmesh"
    }

    public enum ServerKind: String, Sendable, Hashable, CaseIterable {
        case mlserver, triton
    }

    public var name: String
    public var runtimeProtocol: RuntimeProtocol
    public var server: ServerKind = .mlserver
    /// `http://host:port` of an Open Inference server.
    public var restURL: String?
    /// `host:port` of a ModelMesh runtime.
    public var grpcAddress: String?
    /// The Open Inference server's model repository directory.
    public var repository: String?
    public var formats: [String]
    public var capacityBytes: Int64?
    /// Memory a model takes per byte of its files, until the server reports better (ModelMesh's
    /// adapters use 1.25).
    public var sizeMultiplier: Double = 1.25
    /// MLServer's implementation class per format, beyond (or instead of) the known ones.
    public var implementations: [String: String] = [:]
    /// How often the server is checked.
    public var probeInterval: Duration = .seconds(1)
    /// ModelMesh runtimes: how often and how many times a failed unload is retried.
    public var unloadRetryInterval: Duration = .seconds(10)
    public var unloadRetries = 90

    public init(name: String, runtimeProtocol: RuntimeProtocol, formats: [String]) {
        self.name = name
        self.runtimeProtocol = runtimeProtocol
        self.formats = formats
    }

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Parses the file's text: a list of servers (or `{runtimeServers: [...]}`).
    public static func parse(_ text: String, source: String) throws(Problem) -> [RuntimeServerConfiguration] {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw Problem(description: "\(source) is not valid YAML or JSON: \(error)")
        }
        let list: [Any]
        if let items = document as? [Any] {
            list = items
        } else if let object = document as? [String: Any], let items = object["runtimeServers"] as? [Any], object.count == 1 {
            list = items
        } else {
            throw Problem(description: "\(source) must hold a list of runtime servers")
        }
        var servers: [RuntimeServerConfiguration] = []
        for (index, item) in list.enumerated() {
            guard let fields = item as? [String: Any] else {
                throw Problem(description: "\(source): runtime server \(index + 1) is not a mapping of fields")
            }
            let server = try parse(fields, label: "\(source): runtime server \(index + 1)")
            guard !servers.contains(where: { $0.name == server.name }) else {
                throw Problem(description: "\(source): two runtime servers are named \(server.name)")
            }
            servers.append(server)
        }
        return servers
    }

    static let knownFields: Set<String> = [
        "name", "protocol", "server", "rest", "grpc", "repository", "formats", "memory", "sizeMultiplier", "implementations",
        "probeIntervalMillis", "unloadRetryIntervalMillis", "unloadRetries",
    ]

    static func parse(_ fields: [String: Any], label: String) throws(Problem) -> RuntimeServerConfiguration {
        var fields = fields
        for key in fields.keys.sorted() where !knownFields.contains(key) {
            throw Problem(description: "\(label) has an unknown field \"\(TextLimit.clip(key))\"; known: \(knownFields.sorted().joined(separator: ", "))")
        }
        guard let name = fields.removeValue(forKey: "name") as? String, RuntimeServerConfiguration.isValidName(name) else {
            throw Problem(description: "\(label) needs a \"name\" of 1 to 63 lower-case letters, digits and dashes (its pool's name), other than \(RuntimePool.builtin)")
        }
        let label = "\(label) (\(name))"
        guard let protocolText = fields["protocol"] as? String, let runtimeProtocol = RuntimeProtocol(rawValue: protocolText) else {
            throw Problem(description: "\(label) needs \"protocol\": \(RuntimeProtocol.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        guard let formats = fields["formats"] as? [Any], !formats.isEmpty, formats.allSatisfy({ ($0 as? String).map(isValidFormat) ?? false }) else {
            throw Problem(description: "\(label) needs \"formats\": a list of model formats such as [sklearn, xgboost] or [onnx:1]")
        }
        var server = RuntimeServerConfiguration(name: name, runtimeProtocol: runtimeProtocol, formats: formats.compactMap { ($0 as? String)?.lowercased() })
        if let memory = fields["memory"] {
            guard let bytes = ByteCount.parse("\(memory)") else {
                throw Problem(description: "\(label): \"memory\" must be a size like 2Gi or 512Mi")
            }
            server.capacityBytes = bytes
        }
        if let multiplier = fields["sizeMultiplier"] {
            guard let value = (multiplier as? Double) ?? (multiplier as? Int).map(Double.init), value >= 1, value <= 100 else {
                throw Problem(description: "\(label): \"sizeMultiplier\" must be a number from 1 to 100")
            }
            server.sizeMultiplier = value
        }
        server.probeInterval = try milliseconds(fields["probeIntervalMillis"], label: label, field: "probeIntervalMillis") ?? server.probeInterval
        server.unloadRetryInterval = try milliseconds(fields["unloadRetryIntervalMillis"], label: label, field: "unloadRetryIntervalMillis")
            ?? server.unloadRetryInterval
        if let retries = fields["unloadRetries"] {
            guard let count = retries as? Int, (0...10_000).contains(count) else {
                throw Problem(description: "\(label): \"unloadRetries\" must be a whole number from 0 to 10000")
            }
            server.unloadRetries = count
        }
        switch runtimeProtocol {
        case .openInference:
            if let kind = fields["server"] {
                guard let text = kind as? String, let value = ServerKind(rawValue: text) else {
                    throw Problem(description: "\(label): \"server\" must be \(ServerKind.allCases.map(\.rawValue).joined(separator: " or "))")
                }
                server.server = value
            }
            // Plain HTTP to host:port: the server is beside the peer, in its pod.
            guard let text = fields["rest"] as? String, text.hasPrefix("http://") else {
                throw Problem(description: "\(label) needs \"rest\": the server's REST endpoint beside the peer, like http://127.0.0.1:8080")
            }
            let rest = text.hasSuffix("/") ? String(text.dropLast()) : text
            let authority = rest.dropFirst("http://".count)
            guard !authority.contains("/"), let colon = authority.lastIndex(of: ":"), Int(authority[authority.index(after: colon)...]) != nil,
                  colon != authority.startIndex else {
                throw Problem(description: "\(label): \"rest\" must be http://HOST:PORT, without a path")
            }
            server.restURL = rest
            guard let repository = fields["repository"] as? String, repository.hasPrefix("/") else {
                throw Problem(description: "\(label) needs \"repository\": the absolute path of the server's model repository, shared with the peer")
            }
            server.repository = repository
            guard server.capacityBytes != nil else {
                throw Problem(description: "\(label) needs \"memory\": the memory its models may fill (its container's memory less a margin)")
            }
            if let implementations = fields["implementations"] {
                guard let map = implementations as? [String: Any], let classes = map as? [String: String] else {
                    throw Problem(description: "\(label): \"implementations\" must map formats to MLServer implementation classes")
                }
                server.implementations = Dictionary(uniqueKeysWithValues: classes.map { ($0.key.lowercased(), $0.value) })
            }
        case .modelMesh:
            guard let grpc = fields["grpc"] as? String, grpc.contains(":") else {
                throw Problem(description: "\(label) needs \"grpc\": the runtime's gRPC endpoint as host:port")
            }
            server.grpcAddress = grpc
            for field in ["rest", "repository", "server", "implementations"] where fields[field] != nil {
                throw Problem(description: "\(label): \"\(field)\" applies to open-inference servers only")
            }
        }
        return server
    }

    static func milliseconds(_ value: Any?, label: String, field: String) throws(Problem) -> Duration? {
        guard let value else { return nil }
        guard let millis = value as? Int, (1...86_400_000).contains(millis) else {
            throw Problem(description: "\(label): \"\(field)\" must be a whole number of milliseconds from 1 to 86400000")
        }
        return .milliseconds(millis)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63 && name != RuntimePool.builtin
            && name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
    }

    static func isValidFormat(_ format: String) -> Bool {
        !format.isEmpty && format.utf8.count <= 64
            && format.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }
    }
}

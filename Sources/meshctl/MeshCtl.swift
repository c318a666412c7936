import ArgumentParser
import Foundation
import OpenInference

@main
struct MeshCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshctl",
        abstract: "Manage and query a swift-model-mesh cluster through any of its peers.",
        subcommands: [Models.self, VModels.self, Apply.self, Diff.self, Get.self, Top.self, Peers.self, Placement.self, Infer.self]
    )
}

/// Options every command takes.
struct Connection: ParsableArguments {
    @Option(name: .shortAndLong, help: "A peer's REST address (env: MESHCTL_ENDPOINT, default: http://127.0.0.1:8008)")
    var endpoint: String?

    @Option(help: "Bearer token for a mesh that asks for one (env: MESHCTL_TOKEN)")
    var token: String?

    @Option(help: "PEM CA certificates to trust for an https endpoint (env: MESHCTL_CA_FILE; default: the system's)")
    var caFile: String?

    @Option(help: "PEM client certificate, for a mesh that asks for one (env: MESHCTL_CERT_FILE)")
    var certFile: String?

    @Option(help: "PEM key of --cert-file (env: MESHCTL_KEY_FILE)")
    var keyFile: String?

    @Flag(help: "Print the JSON the API returned instead of a table")
    var json = false

    var api: MeshAPI {
        let environment = ProcessInfo.processInfo.environment
        return MeshAPI(endpoint: endpoint ?? environment["MESHCTL_ENDPOINT"] ?? "http://127.0.0.1:8008",
                       token: token ?? environment["MESHCTL_TOKEN"],
                       tls: MeshAPI.TLSFiles(caFile: caFile ?? environment["MESHCTL_CA_FILE"],
                                             certificateFile: certFile ?? environment["MESHCTL_CERT_FILE"],
                                             keyFile: keyFile ?? environment["MESHCTL_KEY_FILE"]))
    }

    func printJSON(_ bytes: [UInt8]) {
        print(String(decoding: bytes, as: UTF8.self))
    }
}

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the peers of the mesh.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let (_, value, raw) = try await connection.api.json(.GET, "/v1/peers")
        if connection.json { return connection.printJSON(raw) }
        let peers = value["peers"]?.arrayValue ?? []
        let rows = peers.map { peer in
            // Thrashing: recently used models evicted per minute, and the capacity that would keep them.
            let thrash = peer["thrashEvictionsPerMinute"].map { "\($0.cell)/min, needs \(humanBytes(peer["capacityToEndThrashingBytes"]))" } ?? "-"
            return [peer["id"]?.cell ?? "", peer["httpAddress"]?.cell ?? "", peer["zone"]?.cell ?? "-",
                    peer["models"]?.cell ?? "0", "\(humanBytes(peer["usedBytes"])) / \(humanBytes(peer["capacityBytes"]))",
                    peer["inFlight"]?.cell ?? "-", thrash, (peer["shuttingDown"]?.boolValue ?? false) ? "shutting down" : "up",
                    Self.pools(peer["pools"])]
        }
        print(Table.render(["PEER", "ADDRESS", "ZONE", "MODELS", "MEMORY", "IN-FLIGHT", "THRASHING", "STATE", "POOLS"], rows))
    }

    /// `builtin: onnx,synthetic 1.0 GiB; mlserver: sklearn,xgboost 2.0 GiB (not ready)`.
    static func pools(_ value: JSONValue?) -> String {
        guard let pools = value?.arrayValue, !pools.isEmpty else { return "-" }
        return pools.map { pool in
            let formats = (pool["formats"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
            let ready = pool["ready"]?.boolValue ?? true
            return "\(pool["name"]?.cell ?? ""): \(formats) \(humanBytes(pool["capacityBytes"]))\(ready ? "" : " (not ready)")"
        }.joined(separator: "; ")
    }
}

struct Placement: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show which model is loaded where, and in what state.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let (_, value, raw) = try await connection.api.json(.GET, "/v1/placement")
        if connection.json { return connection.printJSON(raw) }
        let rows = (value["copies"]?.arrayValue ?? []).map { copy in
            [copy["model"]?.cell ?? "", copy["peer"]?.cell ?? "", copy["state"]?.cell ?? "", humanBytes(copy["sizeBytes"]),
             rate(copy["requestsPerSecond"]), copy["inFlight"]?.cell ?? "-", copy["since"]?.cell ?? ""]
        }
        print(Table.render(["MODEL", "PEER", "STATE", "SIZE", "REQ/S", "IN-FLIGHT", "SINCE"], rows))
        print("\n\(rows.count) cop\(rows.count == 1 ? "y" : "ies") at etcd revision \(value["revision"]?.cell ?? "?")")
        let decisions = (value["decisions"]?.arrayValue ?? []).map { decision in
            [decision["model"]?.cell ?? "", decision["time"]?.cell ?? "", "\(decision["action"]?.cell ?? "") \(decision["peers"]?.cell ?? "")",
             decision["reason"]?.cell ?? ""]
        }
        if !decisions.isEmpty {
            print("\nlast scaling decisions:\n" + Table.render(["MODEL", "TIME", "ACTION", "REASON"], decisions))
        }
    }
}

struct Infer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an inference: the body is an Open Inference Protocol request (JSON).",
        discussion: "Example: echo '{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,2]}]}' | meshctl infer my-model"
    )
    @OptionGroup var connection: Connection
    @Argument(help: "Model or vmodel id") var model: String
    @Option(name: .shortAndLong, help: "File with the request JSON ('-' or absent: standard input)") var input: String?
    @Option(help: "Deadline for the request, in milliseconds") var timeoutMs: Int?

    func run() async throws {
        let body: Data
        if let input, input != "-" {
            guard let data = FileManager.default.contents(atPath: input) else { throw ValidationError("cannot read \(input)") }
            body = data
        } else {
            body = FileHandle.standardInput.readDataToEndOfFile()
        }
        var headers: [(String, String)] = []
        if let timeoutMs { headers.append(("mm-timeout-ms", String(timeoutMs))) }
        let (status, bytes, responseHeaders) = try await connection.api.send(.POST, "/v2/models/\(model)/infer", body: Array(body), headers: headers)
        guard status == 200 else {
            let message = (try? JSONParser.parse(bytes))?["error"]?.stringValue ?? String(decoding: bytes, as: UTF8.self)
            throw MeshAPI.Failure(description: "HTTP \(status): \(message)")
        }
        if connection.json {
            return connection.printJSON(bytes)
        }
        let length = responseHeaders.first(name: "inference-header-content-length").flatMap(Int.init)
        let response = try RESTDecoding.response(bytes, jsonLength: length)
        print("model \(response.modelName), served by \(responseHeaders.first(name: "mm-served-by") ?? "?")")
        for output in response.outputs {
            let values = output.stringValues() ?? output.doubleValues()?.map { String($0) } ?? ["(binary)"]
            print("\(output.name) \(output.datatype.rawValue) \(output.shape): \(values.prefix(32).joined(separator: ", "))\(values.count > 32 ? ", …" : "")")
        }
    }
}

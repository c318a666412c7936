import ArgumentParser
import Foundation
import OpenInference

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register, list, inspect, change and unregister models.",
        subcommands: [Register.self, Unregister.self, List.self, Status.self, Update.self]
    )

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a model.")
        @OptionGroup var connection: Connection
        @Argument(help: "Model id (letters, digits, '.', '_', '-')") var id: String
        @Option(help: "Model type, which selects the runtime (synthetic, onnx)") var type: String
        @Option(help: "Storage URI: s3://bucket/path, https://host/file, file:///path or a path under the peers' models root") var storageUri: String?
        @Option(help: "Storage key from the peers' storage configuration: with --storage-path (ModelMesh's form) or with --storage-uri (credentials for the URI)") var storageKey: String?
        @Option(help: "Path under the storage key") var storagePath: String?
        @Option(help: "Storage parameter key=value (repeatable), e.g. bucket=models") var storageParam: [String] = []
        @Option(help: "Expected memory size in bytes, before the first load measures it") var sizeHint: Int64?
        @Option(help: "Copies kept loaded at all times") var minCopies: Int?
        @Option(help: "At most this many copies") var maxCopies: Int?
        @Option(help: "Label a peer must have (repeatable)") var label: [String] = []
        @Option(help: "Scale-up threshold in requests per second per copy") var scaleUpRps: Double?
        @Flag(help: "Load one copy before returning") var loadNow = false

        func run() async throws {
            var members: [(String, JSONValue)] = [("id", .string(id)), ("type", .string(type))]
            if let storageUri, let storageKey {
                members.append(("storage", .object([("uri", .string(storageUri)), ("key", .string(storageKey))])))
            } else if let storageUri {
                members.append(("storageUri", .string(storageUri)))
            } else if let storageKey {
                var storage: [(String, JSONValue)] = [("key", .string(storageKey)), ("path", .string(storagePath ?? ""))]
                var parameters: [(String, JSONValue)] = []
                for pair in storageParam {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { throw ValidationError("--storage-param takes key=value, not \(pair)") }
                    parameters.append((parts[0], .string(parts[1])))
                }
                if !parameters.isEmpty { storage.append(("parameters", .object(parameters))) }
                members.append(("storage", .object(storage)))
            }
            if let sizeHint { members.append(("sizeHintBytes", .int(sizeHint))) }
            if let minCopies { members.append(("minCopies", .int(Int64(minCopies)))) }
            if let maxCopies { members.append(("maxCopies", .int(Int64(maxCopies)))) }
            if !label.isEmpty { members.append(("labels", .array(label.map(JSONValue.string)))) }
            if let scaleUpRps { members.append(("scaleUpRequestsPerSecond", .double(scaleUpRps))) }
            if loadNow { members.append(("loadNow", .bool(true))) }
            var writer = JSONWriter()
            writer.write(.object(members))
            let (status, _, raw) = try await connection.api.json(.POST, "/v1/models", body: writer.bytes)
            if connection.json { return connection.printJSON(raw) }
            print(status == 201 ? "registered \(id)" : "\(id) was already registered with this definition")
        }
    }

    struct Unregister: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unregister a model; every copy is unloaded.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            let (_, _, raw) = try await connection.api.json(.DELETE, "/v1/models/\(id)")
            if connection.json { return connection.printJSON(raw) }
            print("unregistered \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered models, a page at a time.")
        @OptionGroup var connection: Connection
        @Option(help: "Models per page") var limit = 100
        @Option(help: "Start after this model id") var after: String?
        @Flag(help: "Follow every page (any number of models)") var all = false

        func run() async throws {
            var cursor = after
            var printedHeader = false
            var total = 0
            repeat {
                var path = "/v1/models?limit=\(limit)"
                if let cursor { path += "&after=\(cursor)" }
                let (_, value, raw) = try await connection.api.json(.GET, path)
                if connection.json {
                    connection.printJSON(raw)
                } else {
                    let rows = (value["models"]?.arrayValue ?? []).map { model in
                        [model["id"]?.cell ?? "", model["type"]?.cell ?? "", "\(model["loadedCopies"]?.cell ?? "0")/\(model["copies"]?.cell ?? "0")",
                         model["minCopies"]?.cell ?? "0", model["maxCopies"]?.cell ?? "-", storageText(model["storage"])]
                    }
                    total += rows.count
                    let table = Table.render(["MODEL", "TYPE", "LOADED/COPIES", "MIN", "MAX", "STORAGE"], rows)
                    print(printedHeader ? table.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n") : table)
                    printedHeader = true
                }
                cursor = value["next"]?.stringValue
            } while all && cursor != nil
            if !connection.json {
                if let cursor, !all { print("\nmore: meshctl models list --after \(cursor)") } else { print("\n\(total) model\(total == 1 ? "" : "s")") }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model's definition, copies and recent failures; --watch follows them.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Flag(help: "Print the status again whenever it changes (Ctrl-C to stop)") var watch = false
        @Option(help: "Seconds between checks with --watch") var interval: Double = 1
        @Option(help: "With --watch, stop after this many changes (for scripts)") var count: Int?

        func run() async throws {
            guard watch else { return try await show(try await connection.api.json(.GET, "/v1/models/\(id)")) }
            var last: String?
            var shown = 0
            while count.map({ shown < $0 }) ?? true {
                let (_, value, _) = try await connection.api.json(.GET, "/v1/models/\(id)")
                // The state worth a new block: availability and each copy's peer and state.
                let copies = (value["copies"]?.arrayValue ?? []).map { "\($0["peer"]?.cell ?? "")=\($0["state"]?.cell ?? "")" }.sorted()
                let summary = "\(value["status"]?.cell ?? "?") \(copies.joined(separator: " "))"
                if summary != last {
                    if last != nil { print("") }
                    print("--- \(ISO8601DateFormatter().string(from: Date()))")
                    try await show((200, value, []))
                    last = summary
                    shown += 1
                    if count.map({ shown >= $0 }) ?? false { break }
                }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }

        private func show(_ reply: (status: Int, value: JSONValue, raw: [UInt8])) async throws {
            let value = reply.value
            if connection.json { return connection.printJSON(reply.raw.isEmpty ? jsonBytes(value) : reply.raw) }
            let model = value["model"] ?? .null
            print("model     \(id)")
            print("status    \(value["status"]?.cell ?? "?")")
            print("type      \(model["type"]?.cell ?? "?")")
            print("storage   \(storageText(model["storage"]))")
            print("copies    min \(model["minCopies"]?.cell ?? "0"), max \(model["maxCopies"]?.cell ?? "all eligible peers")")
            let copies = (value["copies"]?.arrayValue ?? []).map { copy in
                [copy["peer"]?.cell ?? "", copy["state"]?.cell ?? "", humanBytes(copy["sizeBytes"]), rate(copy["requestsPerSecond"]),
                 copy["since"]?.cell ?? "", downloadText(copy["download"])]
            }
            if !copies.isEmpty { print("\n" + Table.render(["PEER", "STATE", "SIZE", "REQ/S", "SINCE", "DOWNLOAD"], copies)) }
            if let scaling = value["lastScaling"], scaling != .null {
                print("\nlast scaling: \(scaling["action"]?.cell ?? "") \(scaling["peers"]?.cell ?? "") at \(scaling["time"]?.cell ?? ""): \(scaling["reason"]?.cell ?? "")")
            }
            let failures = (value["failures"]?.arrayValue ?? []).map { [$0["peer"]?.cell ?? "", $0["time"]?.cell ?? "", $0["message"]?.cell ?? ""] }
            if !failures.isEmpty { print("\nrecent load failures:\n" + Table.render(["PEER", "TIME", "ERROR"], failures)) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a model's copy limits or scale-up threshold.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Option var minCopies: Int?
        @Option var maxCopies: Int?
        @Option var scaleUpRps: Double?

        func run() async throws {
            var members: [(String, JSONValue)] = []
            if let minCopies { members.append(("minCopies", .int(Int64(minCopies)))) }
            if let maxCopies { members.append(("maxCopies", .int(Int64(maxCopies)))) }
            if let scaleUpRps { members.append(("scaleUpRequestsPerSecond", .double(scaleUpRps))) }
            guard !members.isEmpty else { throw ValidationError("nothing to change: give --min-copies, --max-copies or --scale-up-rps") }
            var writer = JSONWriter()
            writer.write(.object(members))
            let (_, _, raw) = try await connection.api.json(.PATCH, "/v1/models/\(id)", body: writer.bytes)
            if connection.json { return connection.printJSON(raw) }
            print("updated \(id)")
        }
    }
}

func storageText(_ value: JSONValue?) -> String {
    guard let value, value != .null else { return "-" }
    if let uri = value["uri"]?.stringValue { return uri }
    let key = value["key"]?.stringValue ?? "?"
    let path = value["path"]?.stringValue ?? ""
    return "\(key):\(path)"
}

func downloadText(_ value: JSONValue?) -> String {
    guard let value, value != .null else { return "-" }
    if value["fromCache"]?.boolValue == true { return "disk cache" }
    return "\(humanBytes(value["bytes"])) in \(value["millis"]?.cell ?? "?") ms"
}

import ArgumentParser
import Foundation
import OpenInference

struct VModels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmodels",
        abstract: "Point stable names (vmodels) at models, move them to new models, inspect and delete them.",
        subcommands: [Set.self, Get.self, Delete.self, List.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a vmodel, or move it to another model.",
            discussion: """
            A vmodel that moves waits until the new model has as many loaded copies as the old one has \
            copies, then switches; until then, and if the new model fails to load, requests keep going \
            to the old model.
            """
        )
        @OptionGroup var connection: Connection
        @Argument(help: "VModel id") var id: String
        @Option(help: "The model the vmodel should point at (registered with `meshctl models register`)") var target: String
        @Option(help: "Owner of a new vmodel; an existing one must have it") var owner: String?
        @Option(help: "Change only if the current target is this model") var expectedTarget: String?
        @Flag(help: "Switch at once instead of waiting for the target to load") var force = false
        @Flag(help: "Wait until the switch (or, with --load-now, the load) has happened") var sync = false
        @Flag(help: "Load the target now, even if the current model is not loaded") var loadNow = false
        @Flag(help: "Unregister models the vmodel moves off once nothing refers to them") var autoDeleteOldModel = false
        @Flag(help: "Fail instead of creating a vmodel that does not exist") var updateOnly = false

        func run() async throws {
            var members: [(String, JSONValue)] = [("targetModel", .string(target))]
            if let owner { members.append(("owner", .string(owner))) }
            if let expectedTarget { members.append(("expectedTargetModel", .string(expectedTarget))) }
            if force { members.append(("force", .bool(true))) }
            if sync { members.append(("sync", .bool(true))) }
            if loadNow { members.append(("loadNow", .bool(true))) }
            if autoDeleteOldModel { members.append(("autoDeleteOldModel", .bool(true))) }
            if updateOnly { members.append(("updateOnly", .bool(true))) }
            var writer = JSONWriter()
            writer.write(.object(members))
            let (status, value, raw) = try await connection.api.json(.PUT, "/v1/vmodels/\(id)", body: writer.bytes)
            if connection.json { return connection.printJSON(raw) }
            let active = value["activeModel"]?.cell ?? "?"
            let state = value["status"]?.cell ?? "?"
            if status == 201 {
                print("created \(id) -> \(active)")
            } else if state == "DEFINED" {
                print("\(id) -> \(active)")
            } else {
                print("\(id) -> \(active), moving to \(value["targetModel"]?.cell ?? "?") (\(state.lowercased()))")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a vmodel and the state of its models.")
        @OptionGroup var connection: Connection
        @Argument var id: String

        func run() async throws {
            let (_, value, raw) = try await connection.api.json(.GET, "/v1/vmodels/\(id)")
            if connection.json { return connection.printJSON(raw) }
            print("vmodel    \(id)")
            print("status    \(value["status"]?.cell ?? "?")")
            if let owner = value["owner"]?.stringValue, !owner.isEmpty { print("owner     \(owner)") }
            print("active    \(value["activeModel"]?.cell ?? "?") (\(value["activeModelStatus"]?.cell ?? "?"))")
            if let target = value["targetModelStatus"]?.stringValue {
                print("target    \(value["targetModel"]?.cell ?? "?") (\(target))")
            }
            if let message = value["failureMessage"]?.stringValue { print("error     \(message)") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a vmodel; models created for it are unregistered with it.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Option(help: "Delete only if the vmodel has this owner") var owner: String?

        func run() async throws {
            let query = owner.map { "?owner=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
            let (_, _, raw) = try await connection.api.json(.DELETE, "/v1/vmodels/\(id)\(query)")
            if connection.json { return connection.printJSON(raw) }
            print("deleted \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List vmodels, a page at a time.")
        @OptionGroup var connection: Connection
        @Option(help: "VModels per page") var limit = 100
        @Option(help: "Start after this vmodel id") var after: String?
        @Flag(help: "Follow every page") var all = false

        func run() async throws {
            var cursor = after
            var rows: [[String]] = []
            repeat {
                var path = "/v1/vmodels?limit=\(limit)"
                if let cursor { path += "&after=\(cursor)" }
                let (_, value, raw) = try await connection.api.json(.GET, path)
                if connection.json { connection.printJSON(raw) }
                rows += (value["vmodels"]?.arrayValue ?? []).map { vmodel in
                    [vmodel["id"]?.cell ?? "", vmodel["activeModel"]?.cell ?? "", vmodel["activeModelStatus"]?.cell ?? "",
                     vmodel["status"]?.cell ?? "", vmodel["targetModel"]?.cell ?? ""]
                }
                cursor = value["next"]?.stringValue
            } while all && cursor != nil
            if connection.json { return }
            print(Table.render(["VMODEL", "ACTIVE MODEL", "ACTIVE STATUS", "STATUS", "TARGET"], rows))
            if let cursor, !all { print("\nmore: meshctl vmodels list --after \(cursor)") } else { print("\n\(rows.count) vmodel\(rows.count == 1 ? "" : "s")") }
        }
    }
}

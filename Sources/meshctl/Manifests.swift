import ArgumentParser
import Foundation
import MeshManifests
import OpenInference

/// Reading manifest files and the mesh's objects, shared by apply, diff and get.
enum ManifestIO {
    /// The files behind `-f` arguments: a file, a directory (its .yaml, .yml and .json files,
    /// in name order) or `-` for standard input.
    static func read(_ arguments: [String]) throws -> [(name: String, text: String)] {
        guard !arguments.isEmpty else { throw ValidationError("give the manifests with -f FILE, -f DIRECTORY or -f -") }
        var files: [(name: String, text: String)] = []
        for argument in arguments {
            if argument == "-" {
                files.append(("<stdin>", String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw ValidationError("\(argument): no such file or directory")
            }
            let paths: [String]
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: argument)
                paths = names.filter { name in [".yaml", ".yml", ".json"].contains { name.hasSuffix($0) } }.sorted()
                    .map { (argument as NSString).appendingPathComponent($0) }
            } else {
                paths = [argument]
            }
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
                files.append((path, String(decoding: data, as: UTF8.self)))
            }
        }
        return files
    }

    /// `key=value[,key=value]` as kubectl's `-l` takes it (equality only).
    static func selector(_ text: String?) throws -> [String: String]? {
        guard let text else { return nil }
        var selector: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("-l takes key=value[,key=value], not \(text)") }
            selector[parts[0]] = parts[1]
        }
        guard !selector.isEmpty else { throw ValidationError("-l needs at least one key=value") }
        return selector
    }

    /// Every object of a paged list (`/v1/models`, `/v1/vmodels`).
    /// Past the first page, on a terminal, the count so far is shown on standard error.
    static func listAll(_ api: MeshAPI, _ path: String, key: String) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: String?
        let showProgress = isatty(STDERR_FILENO) != 0
        repeat {
            var page = "\(path)?limit=1000"
            if let cursor { page += "&after=\(cursor)" }
            let (_, value, _) = try await api.json(.GET, page)
            items += value[key]?.arrayValue ?? []
            cursor = value["next"]?.stringValue
            if showProgress, cursor != nil || items.count > 1000 {
                FileHandle.standardError.write(Data("\rlisted \(items.count) \(key)\(cursor == nil ? "\n" : "…")".utf8))
            }
        } while cursor != nil
        return items
    }

    static func liveState(_ api: MeshAPI) async throws -> LiveState {
        let models = try await listAll(api, "/v1/models", key: "models").compactMap(LiveModel.init(json:))
        let vmodels = try await listAll(api, "/v1/vmodels", key: "vmodels").compactMap(LiveVModel.init(json:))
        return LiveState(models: models, vmodels: vmodels)
    }

    /// What applying the files `arguments` name would do; `prune`: the tags of what may be removed.
    static func plan(_ arguments: [String], api: MeshAPI, prune: [String: String]?) async throws -> [PlannedStep] {
        let desired: [DesiredObject]
        do {
            desired = try ManifestParser.objects(in: try read(arguments))
        } catch let error as ManifestError {
            throw MeshAPI.Failure(description: error.description)
        }
        return ApplyPlanner.plan(desired, live: try await liveState(api), prune: prune)
    }
}

import ArgumentParser
import Foundation
import MeshCore
import MeshManifests
import OpenInference

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show models or vmodels with a Ready condition, as a table, JSON or manifests.",
        discussion: "`meshctl get models -o yaml > mesh.yaml` writes manifests that `meshctl apply -f mesh.yaml` takes back."
    )

    enum Resource: String, ExpressibleByArgument {
        case models, model, vmodels, vmodel
    }

    enum Format: String, ExpressibleByArgument {
        case table, wide, json, yaml
    }

    @OptionGroup var connection: Connection
    @Argument(help: "models or vmodels") var resource: Resource
    @Argument(help: "Only these ids") var ids: [String] = []
    @Option(name: .shortAndLong, help: "table, wide, json or yaml") var output: Format = .table
    @Option(name: [.customShort("l"), .long], help: "Only objects with these tags: key=value[,key=value]") var selector: String?

    func run() async throws {
        let api = connection.api
        let selector = try ManifestIO.selector(selector) ?? [:]
        let wanted = Set(ids)
        func keep(_ id: String, _ tags: [String: String]) -> Bool {
            (wanted.isEmpty || wanted.contains(id)) && Tags.matches(tags, selector: selector)
        }
        let isModels = resource == .models || resource == .model
        let raw = try await ManifestIO.listAll(api, isModels ? "/v1/models" : "/v1/vmodels", key: isModels ? "models" : "vmodels")
        if isModels {
            let pairs = raw.compactMap { json in LiveModel(json: json).map { (json, $0) } }.filter { keep($0.1.id, $0.1.tags) }
            try show(pairs.map { $0.0 }, missing: wanted.subtracting(pairs.map { $0.1.id }), kind: "model") {
                try ManifestWriter.yaml(models: pairs.map { $0.1 }, vmodels: [])
            } table: {
                modelTable(pairs.map { $0.1 })
            }
        } else {
            let pairs = raw.compactMap { json in LiveVModel(json: json).map { (json, $0) } }.filter { keep($0.1.id, $0.1.tags) }
            try show(pairs.map { $0.0 }, missing: wanted.subtracting(pairs.map { $0.1.id }), kind: "vmodel") {
                try ManifestWriter.yaml(models: [], vmodels: pairs.map { $0.1 })
            } table: {
                vmodelTable(pairs.map { $0.1 })
            }
        }
    }

    private func show(_ json: [JSONValue], missing: Set<String>, kind: String, yaml: () throws -> String, table: () -> String) throws {
        switch output {
        case .json:
            connection.printJSON(jsonBytes(.object([(kind + "s", .array(json))])))
        case .yaml:
            print(try yaml(), terminator: "")
        case .table, .wide:
            print(table())
        }
        if !missing.isEmpty {
            printError("error: no \(kind) \(missing.sorted().joined(separator: ", "))")
            throw ExitCode(1)
        }
    }

    private func modelTable(_ models: [LiveModel]) -> String {
        var header = ["NAME", "TYPE", "READY", "REASON", "COPIES"]
        if output == .wide { header += ["MIN", "MAX", "STORAGE", "TAGS"] }
        let rows = models.sorted { $0.id < $1.id }.map { model -> [String] in
            let ready = ReadyCondition.model(model)
            var row = [model.id, model.spec.type, ready.status, ready.reason, "\(model.loadedCopies)/\(model.copies)"]
            if output == .wide {
                row += [String(model.spec.minCopies), model.spec.maxCopies.map(String.init) ?? "-", model.spec.storage.displayText, tagText(model.tags)]
            }
            return row
        }
        return Table.render(header, rows)
    }

    private func vmodelTable(_ vmodels: [LiveVModel]) -> String {
        var header = ["NAME", "ACTIVE MODEL", "READY", "REASON"]
        if output == .wide { header += ["TARGET", "STATE", "OWNER", "TAGS"] }
        let rows = vmodels.sorted { $0.id < $1.id }.map { vmodel -> [String] in
            let ready = ReadyCondition.vmodel(vmodel)
            var row = [vmodel.id, vmodel.activeModel, ready.status, ready.reason]
            if output == .wide { row += [vmodel.targetModel, vmodel.status, vmodel.owner.isEmpty ? "-" : vmodel.owner, tagText(vmodel.tags)] }
            return row
        }
        return Table.render(header, rows)
    }

    private func tagText(_ tags: [String: String]) -> String {
        tags.isEmpty ? "-" : tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

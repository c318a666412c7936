import ArgumentParser
import Foundation
import MeshManifests
import NIOHTTP1
import OpenInference

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the mesh match manifests: KServe InferenceService (ModelMesh mode), Predictor, Model, VModel.",
        discussion: """
        Idempotent: applying the same files again changes nothing. An InferenceService or Predictor becomes a \
        vmodel named after it over a model <name>__isvc-<hash>, so a changed storage moves the vmodel to a new \
        model without a failed request. With --prune -l key=value, models and vmodels labelled so that the files \
        no longer declare are removed.
        """
    )
    @OptionGroup var connection: Connection
    @Option(name: .shortAndLong, help: "A manifest file, a directory of them, or - for standard input (repeatable)") var filename: [String] = []
    @Flag(help: "Remove what the selector (-l) matches and the files no longer declare") var prune = false
    @Option(name: [.customShort("l"), .long], help: "Tags (metadata.labels) that select what --prune may remove: key=value[,key=value]") var selector: String?
    @Flag(help: "Print what would be done without doing it") var dryRun = false

    func validate() throws {
        if prune && selector == nil { throw ValidationError("--prune needs -l key=value: it removes only what carries those tags") }
    }

    func run() async throws {
        let api = connection.api
        let steps = try await ManifestIO.plan(filename, api: api, prune: prune ? try ManifestIO.selector(selector) : nil)
        var counts: [PlannedStep.Action: Int] = [:]
        var failures = 0
        for step in steps {
            if step.action == .conflict {
                failures += 1
                printError("error: \(step.name): \(step.problem ?? "conflict")" + step.changes.map { "\n  \($0)" }.joined())
                continue
            }
            if let request = step.request, !dryRun {
                do {
                    _ = try await api.json(HTTPMethod(rawValue: request.method), request.path, body: request.body.map(jsonBytes))
                } catch {
                    failures += 1
                    printError("error: \(step.name): \(error)")
                    continue
                }
            }
            counts[step.action, default: 0] += 1
            print("\(step.name) \(step.action.rawValue)\(dryRun && step.request != nil ? " (dry run)" : "")")
        }
        let summary = [PlannedStep.Action.create, .configure, .unchanged, .prune].map { "\(counts[$0] ?? 0) \($0.rawValue)" }
        print("\n" + summary.joined(separator: ", ") + (failures > 0 ? ", \(failures) failed" : ""))
        if failures > 0 { throw ExitCode(1) }
    }
}

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what `meshctl apply` would change; exits 1 when something would.",
        discussion: "Lines start with + (created), ~ (changed), - (pruned) or ! (cannot be applied, with the reason)."
    )
    @OptionGroup var connection: Connection
    @Option(name: .shortAndLong, help: "A manifest file, a directory of them, or - (repeatable)") var filename: [String] = []
    @Flag(help: "Also show what --prune -l would remove") var prune = false
    @Option(name: [.customShort("l"), .long], help: "Tags that select what --prune may remove: key=value[,key=value]") var selector: String?

    func validate() throws {
        if prune && selector == nil { throw ValidationError("--prune needs -l key=value") }
    }

    func run() async throws {
        let steps = try await ManifestIO.plan(filename, api: connection.api, prune: prune ? try ManifestIO.selector(selector) : nil)
        var differs = false
        for step in steps where step.action != .unchanged {
            differs = true
            let mark = switch step.action {
            case .create: "+"
            case .configure: "~"
            case .prune: "-"
            default: "!"
            }
            print("\(mark) \(step.name)" + (step.problem.map { ": \($0)" } ?? ""))
            for change in step.changes { print("    \(change)") }
        }
        if differs { throw ExitCode(1) }
        print("no differences")
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

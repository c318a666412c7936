import MeshCore
import OpenInference

/// One request `meshctl apply` sends.
public struct PlannedRequest: Hashable, Sendable {
    public var method: String
    public var path: String
    public var body: JSONValue?

    public init(method: String, path: String, body: JSONValue? = nil) {
        self.method = method
        self.path = path
        self.body = body
    }
}

/// What applying the files does to one object.
public struct PlannedStep: Hashable, Sendable {
    public enum Action: String, Sendable {
        case create = "created", configure = "configured", unchanged, prune = "pruned", conflict
    }

    /// `model/<id>` or `vmodel/<id>`.
    public var name: String
    public var action: Action
    /// What changes, one line each (`minCopies: 0 → 2`).
    public var changes: [String]
    /// The request that makes the change; nil for unchanged objects and conflicts.
    public var request: PlannedRequest?
    /// Why a conflict cannot be applied.
    public var problem: String?
}

/// Compares what the files declare with what the mesh holds, and plans the requests that make
/// the mesh match: models first, then vmodels (which may point at them), then what `--prune`
/// removes, vmodels before the models they point at.
public enum ApplyPlanner {
    /// `prune`: remove objects whose tags match it and that the files no longer declare
    /// (nil: remove nothing).
    public static func plan(_ desired: [DesiredObject], live: LiveState, prune selector: [String: String]? = nil) -> [PlannedStep] {
        var steps: [PlannedStep] = []
        var declaredModels = Set<String>()
        var declaredVModels = Set<String>()
        for case .model(let model) in desired {
            declaredModels.insert(model.id)
            steps.append(plan(model, live: live.models[model.id]))
        }
        for case .vmodel(let vmodel) in desired {
            declaredVModels.insert(vmodel.id)
            steps.append(plan(vmodel, live: live, declaredModels: declaredModels))
        }
        guard let selector else { return steps }
        let pruned = live.vmodels.values.filter { !declaredVModels.contains($0.id) && Tags.matches($0.tags, selector: selector) }
        for vmodel in pruned.sorted(by: { $0.id < $1.id }) {
            steps.append(PlannedStep(name: "vmodel/\(vmodel.id)", action: .prune, changes: [],
                                     request: PlannedRequest(method: "DELETE", path: "/v1/vmodels/\(vmodel.id)")))
        }
        // Models the remaining vmodels point at cannot be unregistered.
        let prunedIDs = Set(pruned.map(\.id))
        var referrers: [String: String] = [:]
        for vmodel in live.vmodels.values where !prunedIDs.contains(vmodel.id) {
            referrers[vmodel.activeModel] = vmodel.id
            referrers[vmodel.targetModel] = vmodel.id
        }
        for case .vmodel(let vmodel) in desired { referrers[vmodel.targetModelID] = vmodel.id }
        let models = live.models.values.filter { !declaredModels.contains($0.id) && !$0.autoDelete && Tags.matches($0.tags, selector: selector) }
        for model in models.sorted(by: { $0.id < $1.id }) {
            if let referrer = referrers[model.id] {
                steps.append(PlannedStep(name: "model/\(model.id)", action: .conflict, changes: [],
                                         problem: "not pruned: vmodel/\(referrer) points at it"))
            } else {
                steps.append(PlannedStep(name: "model/\(model.id)", action: .prune, changes: [],
                                         request: PlannedRequest(method: "DELETE", path: "/v1/models/\(model.id)")))
            }
        }
        return steps
    }

    static func plan(_ model: DesiredModel, live: LiveModel?) -> PlannedStep {
        let name = "model/\(model.id)"
        guard let live else {
            var members: [(String, JSONValue)] = [("id", .string(model.id))] + model.spec.jsonMembers
            if !model.tags.isEmpty { members.append(("tags", tagsJSON(model.tags))) }
            if model.loadNow { members.append(("loadNow", .bool(true))) }
            return PlannedStep(name: name, action: .create, changes: describe(model.spec, tags: model.tags),
                               request: PlannedRequest(method: "POST", path: "/v1/models", body: .object(members)))
        }
        let fixed = fixedChanges(from: live.spec, to: model.spec)
        if !fixed.isEmpty {
            return PlannedStep(name: name, action: .conflict, changes: fixed, problem: """
                a model's type, storage, size hint and peer labels are fixed at registration: unregister it first \
                (meshctl models unregister \(model.id)), or declare a VModel with an inline model (or an InferenceService), \
                which moves to a changed model without a failed request
                """)
        }
        var changes: [String] = []
        var members: [(String, JSONValue)] = []
        if live.spec.minCopies != model.spec.minCopies {
            changes.append("minCopies: \(live.spec.minCopies) → \(model.spec.minCopies)")
            members.append(("minCopies", .int(Int64(model.spec.minCopies))))
        }
        if live.spec.maxCopies != model.spec.maxCopies {
            changes.append("maxCopies: \(text(live.spec.maxCopies)) → \(text(model.spec.maxCopies))")
            members.append(("maxCopies", model.spec.maxCopies.map { .int(Int64($0)) } ?? .null))
        }
        if live.spec.scaleUpRequestsPerSecond != model.spec.scaleUpRequestsPerSecond {
            changes.append("scaleUpRequestsPerSecond: \(text(live.spec.scaleUpRequestsPerSecond)) → \(text(model.spec.scaleUpRequestsPerSecond))")
            members.append(("scaleUpRequestsPerSecond", model.spec.scaleUpRequestsPerSecond.map { .double($0) } ?? .null))
        }
        if live.tags != model.tags {
            changes.append("tags: \(text(live.tags)) → \(text(model.tags))")
            members.append(("tags", tagsJSON(model.tags)))
        }
        guard !changes.isEmpty else { return PlannedStep(name: name, action: .unchanged, changes: []) }
        return PlannedStep(name: name, action: .configure, changes: changes,
                           request: PlannedRequest(method: "PATCH", path: "/v1/models/\(model.id)", body: .object(members)))
    }

    static func plan(_ vmodel: DesiredVModel, live: LiveState, declaredModels: Set<String>) -> PlannedStep {
        let name = "vmodel/\(vmodel.id)"
        let target = vmodel.targetModelID
        if case .model(let id) = vmodel.target, !declaredModels.contains(id), live.models[id] == nil {
            return PlannedStep(name: name, action: .conflict, changes: [],
                               problem: "its target model \(id) is neither declared in the files nor registered")
        }
        var members: [(String, JSONValue)] = [("targetModel", .string(target))]
        if !vmodel.owner.isEmpty { members.append(("owner", .string(vmodel.owner))) }
        members.append(("autoDeleteOldModel", .bool(vmodel.autoDeleteOldModel)))
        members.append(("tags", tagsJSON(vmodel.tags)))
        if vmodel.loadNow { members.append(("loadNow", .bool(true))) }
        if case .inline(let spec) = vmodel.target { members.append(("model", .object(spec.jsonMembers))) }
        let request = PlannedRequest(method: "PUT", path: "/v1/vmodels/\(vmodel.id)", body: .object(members))
        guard let current = live.vmodels[vmodel.id] else {
            var changes = ["targetModel: \(target)"]
            if case .inline(let spec) = vmodel.target { changes += describe(spec, tags: [:]).map { "model." + $0 } }
            if !vmodel.tags.isEmpty { changes.append("tags: \(text(vmodel.tags))") }
            return PlannedStep(name: name, action: .create, changes: changes, request: request)
        }
        if !vmodel.owner.isEmpty && current.owner != vmodel.owner {
            return PlannedStep(name: name, action: .conflict, changes: [],
                               problem: "the vmodel exists with owner \"\(current.owner)\", not \"\(vmodel.owner)\"")
        }
        var changes: [String] = []
        if current.targetModel != target {
            changes.append("targetModel: \(current.targetModel) → \(target) (requests move once it is loaded)")
        } else if current.status == "TRANSITION_FAILED" {
            changes.append("retry the failed move to \(target)" + (current.failureMessage.map { " (\($0))" } ?? ""))
        }
        if current.autoDeleteOldModel != vmodel.autoDeleteOldModel {
            changes.append("autoDeleteOldModel: \(current.autoDeleteOldModel) → \(vmodel.autoDeleteOldModel)")
        }
        if current.tags != vmodel.tags { changes.append("tags: \(text(current.tags)) → \(text(vmodel.tags))") }
        guard !changes.isEmpty else { return PlannedStep(name: name, action: .unchanged, changes: []) }
        return PlannedStep(name: name, action: .configure, changes: changes, request: request)
    }

    /// The fields that cannot change in place, as `field: old → new` lines.
    static func fixedChanges(from live: ModelSpec, to desired: ModelSpec) -> [String] {
        var changes: [String] = []
        if live.type != desired.type { changes.append("type: \(live.type) → \(desired.type)") }
        if live.storage != desired.storage { changes.append("storage: \(live.storage.displayText) → \(desired.storage.displayText)") }
        if live.sizeHintBytes != desired.sizeHintBytes {
            changes.append("sizeHintBytes: \(text(live.sizeHintBytes)) → \(text(desired.sizeHintBytes))")
        }
        if live.labels != desired.labels { changes.append("labels: \(text(live.labels)) → \(text(desired.labels))") }
        return changes
    }

    static func describe(_ spec: ModelSpec, tags: [String: String]) -> [String] {
        var lines = ["type: \(spec.type)", "storage: \(spec.storage.displayText)"]
        if let hint = spec.sizeHintBytes { lines.append("sizeHintBytes: \(hint)") }
        if spec.minCopies != 0 { lines.append("minCopies: \(spec.minCopies)") }
        if let max = spec.maxCopies { lines.append("maxCopies: \(max)") }
        if !spec.labels.isEmpty { lines.append("labels: \(text(spec.labels))") }
        if let rate = spec.scaleUpRequestsPerSecond { lines.append("scaleUpRequestsPerSecond: \(rate)") }
        if !tags.isEmpty { lines.append("tags: \(text(tags))") }
        return lines
    }

    static func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "(none)" }

    static func text(_ labels: [String]) -> String { labels.isEmpty ? "(none)" : labels.joined(separator: ",") }

    static func text(_ tags: [String: String]) -> String {
        tags.isEmpty ? "(none)" : tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

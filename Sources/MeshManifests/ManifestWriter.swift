import MeshCore
import Yams

/// Live objects as `Model` and `VModel` manifests (`meshctl get -o yaml`), which `meshctl apply`
/// takes back; the `status` section is informational and ignored on apply.
public enum ManifestWriter {
    public static func yaml(models: [LiveModel], vmodels: [LiveVModel]) throws -> String {
        let nodes = models.map(node) + vmodels.map(node)
        return try Yams.serialize(nodes: nodes, explicitStart: true, sortKeys: false)
    }

    static func node(_ model: LiveModel) -> Node {
        var spec: [(String, Node)] = [("type", text(model.spec.type)), ("storage", node(model.spec.storage))]
        if let hint = model.spec.sizeHintBytes { spec.append(("sizeHintBytes", Node(String(hint), Tag(.int)))) }
        if model.spec.minCopies != 0 { spec.append(("minCopies", Node(String(model.spec.minCopies), Tag(.int)))) }
        if let max = model.spec.maxCopies { spec.append(("maxCopies", Node(String(max), Tag(.int)))) }
        if !model.spec.labels.isEmpty { spec.append(("labels", Node(model.spec.labels.map { text($0) }))) }
        if let rate = model.spec.scaleUpRequestsPerSecond { spec.append(("scaleUpRequestsPerSecond", Node(String(rate), Tag(.float)))) }
        let ready = ReadyCondition.model(model)
        let status: [(String, Node)] = [
            ("ready", text(ready.status)), ("reason", Node(ready.reason)), ("availability", Node(model.status)),
            ("copies", Node(String(model.copies), Tag(.int))), ("loadedCopies", Node(String(model.loadedCopies), Tag(.int))),
        ]
        var metadata: [(String, Node)] = [("name", text(model.id))]
        if model.autoDelete { metadata.append(("annotations", mapping([("swift-model-mesh/created-for-vmodel", text("true"))]))) }
        return document(kind: "Model", metadata: metadata, tags: model.tags, spec: spec, status: status)
    }

    static func node(_ vmodel: LiveVModel) -> Node {
        var spec: [(String, Node)] = [("targetModel", text(vmodel.targetModel))]
        if !vmodel.owner.isEmpty { spec.append(("owner", text(vmodel.owner))) }
        if vmodel.autoDeleteOldModel { spec.append(("autoDeleteOldModel", Node("true", Tag(.bool)))) }
        let ready = ReadyCondition.vmodel(vmodel)
        var status: [(String, Node)] = [
            ("ready", text(ready.status)), ("reason", Node(ready.reason)), ("state", Node(vmodel.status)),
            ("activeModel", text(vmodel.activeModel)), ("activeModelStatus", Node(vmodel.activeModelStatus)),
        ]
        if let message = vmodel.failureMessage { status.append(("failureMessage", text(message))) }
        return document(kind: "VModel", metadata: [("name", text(vmodel.id))], tags: vmodel.tags, spec: spec, status: status)
    }

    static func document(kind: String, metadata: [(String, Node)], tags: [String: String], spec: [(String, Node)], status: [(String, Node)]) -> Node {
        var metadata = metadata
        if !tags.isEmpty { metadata.append(("labels", Node(tags.sorted { $0.key < $1.key }.map { (text($0.key), text($0.value)) }))) }
        return mapping([
            ("apiVersion", Node(MeshKinds.apiVersion)), ("kind", Node(kind)), ("metadata", mapping(metadata)),
            ("spec", mapping(spec)), ("status", mapping(status)),
        ])
    }

    /// A mapping with plain string keys, in the given order.
    static func mapping(_ pairs: [(String, Node)]) -> Node {
        Node(pairs.map { (Node($0.0), $0.1) })
    }

    static func node(_ storage: StorageLocation) -> Node {
        switch storage {
        case .uri(let uri, let key):
            return mapping([("uri", text(uri))] + (key.map { [("key", text($0))] } ?? []))
        case .keyed(let key, let path, let parameters):
            var members: [(String, Node)] = key.map { [("key", text($0))] } ?? []
            members.append(("path", text(path)))
            if !parameters.isEmpty {
                members.append(("parameters", Node(parameters.sorted { $0.key < $1.key }.map { (text($0.key), text($0.value)) })))
            }
            return mapping(members)
        }
    }

    /// A string that reads back as a string: quoted when plain YAML would make it a number,
    /// a boolean or null (`"true"`, `"0123"`).
    static func text(_ string: String) -> Node {
        Node(string).tag == Tag(.str) ? Node(string) : Node(string, Tag(.str), .doubleQuoted)
    }
}

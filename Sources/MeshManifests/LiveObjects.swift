import MeshCore
import OpenInference

/// A model as `GET /v1/models` shows it.
public struct LiveModel: Hashable, Sendable {
    public var id: String
    public var spec: ModelSpec
    public var tags: [String: String]
    /// Created for a vmodel; unregistered with it.
    public var autoDelete: Bool
    public var copies: Int
    public var loadedCopies: Int
    /// `LOADED`, `LOADING`, `NOT_LOADED` or `LOADING_FAILED`.
    public var status: String

    public init(id: String, spec: ModelSpec, tags: [String: String] = [:], autoDelete: Bool = false, copies: Int = 0,
                loadedCopies: Int = 0, status: String = "NOT_LOADED") {
        self.id = id
        self.spec = spec
        self.tags = tags
        self.autoDelete = autoDelete
        self.copies = copies
        self.loadedCopies = loadedCopies
        self.status = status
    }

    /// nil when `json` is not a model summary.
    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let type = json["type"]?.stringValue,
              let storage = json["storage"].flatMap(LiveObjects.storage) else { return nil }
        self.id = id
        spec = ModelSpec(
            type: type, storage: storage, sizeHintBytes: json["sizeHintBytes"]?.int64Value,
            minCopies: json["minCopies"]?.int64Value.map { Int($0) } ?? 0, maxCopies: json["maxCopies"]?.int64Value.map { Int($0) },
            labels: json["labels"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            scaleUpRequestsPerSecond: json["scaleUpRequestsPerSecond"]?.doubleValue
        )
        tags = LiveObjects.strings(json["tags"])
        autoDelete = json["autoDelete"]?.boolValue ?? false
        copies = json["copies"]?.int64Value.map { Int($0) } ?? 0
        loadedCopies = json["loadedCopies"]?.int64Value.map { Int($0) } ?? 0
        status = json["status"]?.stringValue ?? "NOT_LOADED"
    }
}

/// A vmodel as `GET /v1/vmodels` shows it.
public struct LiveVModel: Hashable, Sendable {
    public var id: String
    public var owner: String
    public var activeModel: String
    public var targetModel: String
    /// `DEFINED`, `TRANSITIONING` or `TRANSITION_FAILED`.
    public var status: String
    public var failureMessage: String?
    public var autoDeleteOldModel: Bool
    public var tags: [String: String]
    public var activeModelStatus: String

    public init(id: String, owner: String = "", activeModel: String, targetModel: String? = nil, status: String = "DEFINED",
                failureMessage: String? = nil, autoDeleteOldModel: Bool = false, tags: [String: String] = [:],
                activeModelStatus: String = "NOT_LOADED") {
        self.id = id
        self.owner = owner
        self.activeModel = activeModel
        self.targetModel = targetModel ?? activeModel
        self.status = status
        self.failureMessage = failureMessage
        self.autoDeleteOldModel = autoDeleteOldModel
        self.tags = tags
        self.activeModelStatus = activeModelStatus
    }

    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let active = json["activeModel"]?.stringValue else { return nil }
        self.init(id: id, owner: json["owner"]?.stringValue ?? "", activeModel: active, targetModel: json["targetModel"]?.stringValue,
                  status: json["status"]?.stringValue ?? "DEFINED", failureMessage: json["failureMessage"]?.stringValue,
                  autoDeleteOldModel: json["autoDeleteOldModel"]?.boolValue ?? false, tags: LiveObjects.strings(json["tags"]),
                  activeModelStatus: json["activeModelStatus"]?.stringValue ?? "NOT_LOADED")
    }
}

/// Everything the mesh holds, as listed before planning.
public struct LiveState: Sendable {
    public var models: [String: LiveModel]
    public var vmodels: [String: LiveVModel]

    public init(models: [LiveModel] = [], vmodels: [LiveVModel] = []) {
        self.models = Dictionary(models.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.vmodels = Dictionary(vmodels.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

enum LiveObjects {
    static func storage(_ json: JSONValue) -> StorageLocation? {
        if let uri = json["uri"]?.stringValue { return .uri(uri, key: json["key"]?.stringValue) }
        guard let path = json["path"]?.stringValue else { return nil }
        return .keyed(key: json["key"]?.stringValue, path: path, parameters: strings(json["parameters"]))
    }

    static func strings(_ json: JSONValue?) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in json?.objectValue ?? [] { result[key] = value.stringValue }
        return result
    }
}

// MARK: The JSON the API takes

extension ModelSpec {
    /// The definition's members of a registration body.
    var jsonMembers: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [("type", .string(type)), ("storage", storage.json)]
        if let sizeHintBytes { members.append(("sizeHintBytes", .int(sizeHintBytes))) }
        if minCopies != 0 { members.append(("minCopies", .int(Int64(minCopies)))) }
        if let maxCopies { members.append(("maxCopies", .int(Int64(maxCopies)))) }
        if !labels.isEmpty { members.append(("labels", .array(labels.map(JSONValue.string)))) }
        if let scaleUpRequestsPerSecond { members.append(("scaleUpRequestsPerSecond", .double(scaleUpRequestsPerSecond))) }
        return members
    }
}

extension StorageLocation {
    var json: JSONValue {
        switch self {
        case .uri(let uri, let key):
            return .object([("uri", .string(uri))] + (key.map { [("key", .string($0))] } ?? []))
        case .keyed(let key, let path, let parameters):
            var members: [(String, JSONValue)] = key.map { [("key", .string($0))] } ?? []
            members.append(("path", .string(path)))
            if !parameters.isEmpty {
                members.append(("parameters", .object(parameters.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
            }
            return .object(members)
        }
    }
}

func tagsJSON(_ tags: [String: String]) -> JSONValue {
    .object(tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
}

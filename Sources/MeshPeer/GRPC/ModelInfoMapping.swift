import MeshCore
import OpenInference

/// How ModelMesh's `ModelInfo {type, path, key}` becomes a registration here.
///
/// - `type` selects the runtime (`onnx`, `synthetic`, ...). When it names no runtime of this
///   mesh but `key` is modelmesh-serving's JSON with a `model_type` (`"onnx"` or
///   `{"name": "onnx"}`), that one is used.
/// - With an empty `key`, `path` is the storage URI (`s3://...`, `file:///...`, or a path under
///   `--models-root`); an empty path is refused (a model needs a storage location).
/// - With modelmesh-serving's JSON `key` (`{"storage_key": "localMinIO", "bucket": "models",
///   "storage_params": {...}, "disk_size_bytes": 1234}`), the storage is keyed: key
///   `storage_key` (absent: the storage-config's default entry), path `path`, parameters
///   `bucket` and `storage_params`; `disk_size_bytes` × 1.25 becomes the size hint (as
///   ModelMesh's runtime adapters estimate memory).
/// - Any other `key` text is a storage key name, with `path` under it.
enum ModelInfoMapping {
    static func registration(id: String, type: String, path: String, key: String, runtimes: RuntimeTypes) -> ModelRegistration {
        var body = ModelRegistration(id: id, type: type)
        let json = key.isEmpty ? nil : (try? JSONParser.parse(Array(key.utf8)))?.objectValue.map(JSONValue.object)
        if !runtimes.contains(type), let json, let declared = json["model_type"]?.stringValue ?? json["model_type"]?["name"]?.stringValue,
           runtimes.contains(declared) {
            body.type = declared
        }
        if key.isEmpty {
            if !path.isEmpty { body.storage = .uri(path) }
        } else if let json {
            // Without storage_key, the storage-config's default entry (as ModelMesh's puller does).
            let storageKey = json["storage_key"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            var parameters: [String: String] = [:]
            if let bucket = json["bucket"]?.stringValue { parameters["bucket"] = bucket }
            for (name, value) in json["storage_params"]?.objectValue ?? [] {
                if let text = value.stringValue ?? value.int64Value.map(String.init) { parameters[name] = text }
            }
            body.storage = .keyed(key: storageKey, path: path, parameters: parameters)
            body.sizeHintBytes = sizeHint(json)
        } else {
            body.storage = .keyed(key: key, path: path, parameters: [:])
        }
        return body
    }

    private static func sizeHint(_ json: JSONValue) -> Int64? {
        guard let bytes = json["disk_size_bytes"]?.int64Value ?? json["disk_size_bytes"]?.doubleValue.map({ Int64($0) }), bytes > 0 else { return nil }
        return bytes + bytes / 4
    }
}

/// The model types a peer's runtimes accept.
struct RuntimeTypes: Sendable {
    let names: [String]
    func contains(_ name: String) -> Bool { ModelFormat(name).isRun(byAnyOf: names) }
}

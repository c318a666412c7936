import MeshCore
import OpenInference

/// A JSON request body with a type for every field: a field may be left out but not given as
/// `null`. JSONDecoder reads `null` as absent; the document does not allow it, so
/// `{"minCopies": null}` is refused instead of being a silent no-op. Unknown fields stay free.
protocol TypedFieldsBody: Decodable {
    /// Each field, with the fields of its value when that is an object (empty otherwise).
    static var fields: [String: Set<String>] { get }
}

extension TypedFieldsBody {
    /// The first known field whose value is `null` (`storage.key`), if any.
    static func nullField(in json: JSONValue) -> String? {
        for (name, value) in json.objectValue ?? [] {
            guard let nested = fields[name] else { continue }
            if case .null = value { return name }
            for (inner, innerValue) in value.objectValue ?? [] where nested.contains(inner) {
                if case .null = innerValue { return name + "." + inner }
            }
        }
        return nil
    }
}

extension RegisterModelBody: TypedFieldsBody {
    static let fields: [String: Set<String>] = [
        "id": [], "type": [], "storage": ["uri", "key", "path", "parameters"], "storageUri": [], "sizeHintBytes": [],
        "minCopies": [], "maxCopies": [], "labels": [], "scaleUpRequestsPerSecond": [], "loadNow": [],
    ]
}

extension UpdateModelBody: TypedFieldsBody {
    static let fields: [String: Set<String>] = ["minCopies": [], "maxCopies": [], "scaleUpRequestsPerSecond": []]
}

extension SetVModelBody: TypedFieldsBody {
    static let fields: [String: Set<String>] = [
        "targetModel": [], "owner": [], "force": [], "sync": [], "loadNow": [], "autoDeleteOldModel": [],
        "expectedTargetModel": [], "updateOnly": [],
    ]
}

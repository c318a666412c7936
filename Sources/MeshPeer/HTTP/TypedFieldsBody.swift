import MeshCore
import OpenInference

/// A JSON request body with a type for every field: a field may be left out but not given as
/// `null`. JSONDecoder reads `null` as absent; the document does not allow it, so
/// `{"minCopies": null}` is refused instead of being a silent no-op. Unknown fields stay free.
protocol TypedFieldsBody: Decodable {
    /// Each field, with the fields of its value when that is an object (empty otherwise).
    static var fields: [String: Set<String>] { get }
    /// The first known field whose value is `null` (`storage.key`), if any.
    static func nullField(in json: JSONValue) -> String?
}

extension TypedFieldsBody {
    static func nullField(in json: JSONValue) -> String? { nullMember(in: json) }

    /// The first known member, or member of a member, whose value is `null`.
    static func nullMember(in json: JSONValue) -> String? {
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
        "minCopies": [], "maxCopies": [], "labels": [], "scaleUpRequestsPerSecond": [], "tags": [], "loadNow": [],
    ]
}

extension UpdateModelBody: TypedFieldsBody {
    // `maxCopies` and `scaleUpRequestsPerSecond` are left out: `null` removes them.
    static let fields: [String: Set<String>] = ["minCopies": [], "tags": []]
}

extension SetVModelBody: TypedFieldsBody {
    /// Also looks into the target's definition, as deep as a registration's own check.
    static func nullField(in json: JSONValue) -> String? {
        nullMember(in: json) ?? json["model"].flatMap { RegisterModelBody.nullField(in: $0) }.map { "model." + $0 }
    }

    static let fields: [String: Set<String>] = [
        "targetModel": [], "owner": [], "force": [], "sync": [], "loadNow": [], "autoDeleteOldModel": [],
        "expectedTargetModel": [], "updateOnly": [], "tags": [],
        "model": ["id", "type", "storage", "storageUri", "sizeHintBytes", "minCopies", "maxCopies", "labels", "scaleUpRequestsPerSecond",
                  "tags", "loadNow"],
    ]
}

import MeshCore
import Yams

/// `metadata` of any kind: the name becomes the id, the labels become the tags.
struct ObjectMetadata {
    var name: String
    var tags: [String: String]
    var annotations: [String: String]

    /// Fields Kubernetes adds to objects read back with `kubectl get -o yaml`; accepted and ignored.
    static let allowed: Set<String> = [
        "name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp",
        "managedFields", "finalizers", "ownerReferences",
    ]

    init(_ document: ManifestReader.Fields, kind: String) throws(ManifestError) {
        guard let metadata = try document.nested("metadata", allowed: Self.allowed) else {
            throw document.error("metadata", "\(kind) has no metadata.name")
        }
        name = try metadata.requiredString("name")
        do {
            _ = try MeshError.parseID(name, kind: "\(kind) name")
        } catch {
            throw metadata.error("name", error.message)
        }
        tags = try metadata.stringMap("labels") ?? [:]
        do {
            try Tags.validate(tags)
        } catch {
            throw metadata.error("labels", "metadata.labels: \(error.message)")
        }
        annotations = try metadata.stringMap("annotations") ?? [:]
    }
}

/// Where a model's files are: `storageUri`, or `storage` with a `uri` or a `key` and `path`.
enum StorageFields {
    static let allowedStorage: Set<String> = ["uri", "key", "path", "parameters"]

    /// `uriKey`: a storage key for a `storageUri` given elsewhere (KServe's secretKey annotation).
    static func location(_ fields: ManifestReader.Fields, uriKey: String? = nil,
                         allowed: Set<String> = allowedStorage) throws(ManifestError) -> StorageLocation {
        let location: StorageLocation
        switch (try fields.string("storageUri"), try fields.nested("storage", allowed: allowed)) {
        case (.some, .some):
            throw fields.error("storage", "give \(fields.path).storageUri or \(fields.path).storage, not both")
        case (nil, nil):
            throw fields.reader.error(fields.node, "\(fields.path) says nowhere where the model is: give storageUri or storage")
        case (let uri?, nil):
            location = .uri(uri, key: uriKey)
        case (nil, let storage?):
            if let uri = try storage.string("uri") {
                if storage.has("path") || storage.has("parameters") {
                    throw storage.error("uri", "\(storage.path) takes a uri or a path, not both")
                }
                location = .uri(uri, key: try storage.string("key"))
            } else {
                location = .keyed(key: try storage.string("key"), path: try storage.requiredString("path"),
                                  parameters: try storage.stringMap("parameters") ?? [:])
            }
        }
        do {
            try location.validate()
        } catch {
            throw fields.error(fields.has("storage") ? "storage" : "storageUri", "\(fields.path): \(error.description)")
        }
        return location
    }
}

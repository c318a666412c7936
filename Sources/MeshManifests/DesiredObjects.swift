import MeshCore

/// Where an object was declared, for messages.
public struct ManifestSource: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?

    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    public var description: String { line.map { "\(file):\($0)" } ?? file }
}

/// What a model's registration holds, as a manifest declares it.
public struct ModelSpec: Hashable, Sendable {
    public var type: String
    public var storage: StorageLocation
    public var sizeHintBytes: Int64?
    public var minCopies: Int
    public var maxCopies: Int?
    /// Labels a peer must have (sorted).
    public var labels: [String]
    public var scaleUpRequestsPerSecond: Double?

    public init(type: String, storage: StorageLocation, sizeHintBytes: Int64? = nil, minCopies: Int = 0, maxCopies: Int? = nil,
                labels: [String] = [], scaleUpRequestsPerSecond: Double? = nil) {
        self.type = type
        self.storage = storage
        self.sizeHintBytes = sizeHintBytes
        self.minCopies = minCopies
        self.maxCopies = maxCopies
        self.labels = labels.sorted()
        self.scaleUpRequestsPerSecond = scaleUpRequestsPerSecond
    }

    /// Ten hex digits that change whenever any field does: the suffix of the concrete model a
    /// vmodel with an inline model points at, so that a changed spec is a new model and moving
    /// to it is a vmodel transition (ModelMesh names InferenceService models the same way).
    public var fingerprint: String {
        var text = "\(type)\u{1F}\(storage.canonicalText)\u{1F}\(sizeHintBytes.map(String.init) ?? "")\u{1F}\(minCopies)"
        text += "\u{1F}\(maxCopies.map(String.init) ?? "")\u{1F}\(labels.joined(separator: ","))"
        text += "\u{1F}\(scaleUpRequestsPerSecond.map { String($0) } ?? "")"
        // FNV-1a, 64 bits: stable across processes and releases, unlike Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(10))
    }
}

extension StorageLocation {
    /// One line that differs whenever the location does.
    var canonicalText: String {
        switch self {
        case .uri(let uri, let key): return "uri=\(uri) key=\(key ?? "")"
        case .keyed(let key, let path, let parameters):
            let pairs = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return "key=\(key ?? "") path=\(path) parameters=\(pairs)"
        }
    }
}

/// A model as the files declare it.
public struct DesiredModel: Hashable, Sendable {
    public var id: String
    public var spec: ModelSpec
    public var tags: [String: String]
    /// Load one copy when it is created.
    public var loadNow: Bool
    public var source: ManifestSource

    public init(id: String, spec: ModelSpec, tags: [String: String] = [:], loadNow: Bool = false, source: ManifestSource) {
        self.id = id
        self.spec = spec
        self.tags = tags
        self.loadNow = loadNow
        self.source = source
    }
}

/// A vmodel as the files declare it.
public struct DesiredVModel: Hashable, Sendable {
    public enum Target: Hashable, Sendable {
        /// A model registered on its own (a `Model` in the files, or already in the mesh).
        case model(String)
        /// A model defined with the vmodel: registered and unregistered with it.
        case inline(ModelSpec)
    }

    public var id: String
    public var target: Target
    public var owner: String
    public var autoDeleteOldModel: Bool
    public var tags: [String: String]
    public var loadNow: Bool
    public var source: ManifestSource

    public init(id: String, target: Target, owner: String = "", autoDeleteOldModel: Bool = false, tags: [String: String] = [:],
                loadNow: Bool = false, source: ManifestSource) {
        self.id = id
        self.target = target
        self.owner = owner
        self.autoDeleteOldModel = autoDeleteOldModel
        self.tags = tags
        self.loadNow = loadNow
        self.source = source
    }

    /// The model id requests for the vmodel should reach: `<vmodel>__<owner>-<fingerprint>` for
    /// an inline model.
    public var targetModelID: String {
        switch target {
        case .model(let id): return id
        case .inline(let spec): return "\(id)__\(owner.isEmpty ? "vm" : owner)-\(spec.fingerprint)"
        }
    }
}

public enum DesiredObject: Hashable, Sendable {
    case model(DesiredModel)
    case vmodel(DesiredVModel)

    public var id: String {
        switch self {
        case .model(let model): return model.id
        case .vmodel(let vmodel): return vmodel.id
        }
    }

    public var source: ManifestSource {
        switch self {
        case .model(let model): return model.source
        case .vmodel(let vmodel): return vmodel.source
        }
    }

    /// `model/<id>` or `vmodel/<id>`, as output names it.
    public var name: String {
        switch self {
        case .model(let model): return "model/\(model.id)"
        case .vmodel(let vmodel): return "vmodel/\(vmodel.id)"
        }
    }
}

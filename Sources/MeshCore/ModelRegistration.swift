/// A registration as a client sent it (REST `/v1/models`, gRPC `registerModel`, a vmodel's new
/// target), and the one validation that turns it into a record or says what to fix.
public struct ModelRegistration: Sendable, Hashable {
    public var id: String
    public var type: String
    public var storage: StorageLocation?
    public var sizeHintBytes: Int64?
    public var minCopies: Int?
    public var maxCopies: Int?
    public var labels: [String]?
    public var scaleUpRequestsPerSecond: Double?
    public var tags: [String: String]?

    public init(id: String, type: String, storage: StorageLocation? = nil, sizeHintBytes: Int64? = nil, minCopies: Int? = nil,
                maxCopies: Int? = nil, labels: [String]? = nil, scaleUpRequestsPerSecond: Double? = nil, tags: [String: String]? = nil) {
        self.id = id
        self.type = type
        self.storage = storage
        self.sizeHintBytes = sizeHintBytes
        self.minCopies = minCopies
        self.maxCopies = maxCopies
        self.labels = labels
        self.scaleUpRequestsPerSecond = scaleUpRequestsPerSecond
        self.tags = tags
    }

    /// Bounds on the numbers a registration may carry.
    public enum Limits {
        public static let maxCopies = 10_000
        public static let maxLabels = 64
        public static let maxLabelLength = 128
        /// 1 PiB: larger is a typo, not a model.
        public static let maxSizeHintBytes: Int64 = 1 << 50
    }

    /// The id and record, or an `invalidArgument` naming the field and what is expected.
    /// `types` are the model formats some live peer runs (``ModelFormat``: a runtime declared
    /// `sklearn` runs `sklearn:1`, one declared `sklearn:1` runs `sklearn`).
    public func validated(types: [String], now: MeshTime) throws(MeshError) -> (ModelID, ModelRecord) {
        let id = try MeshError.parseID(self.id)
        guard !type.isEmpty else { throw .invalidArgument("model type must not be empty") }
        guard ModelFormat(type).isRun(byAnyOf: types) else {
            throw .invalidArgument("unknown model type \"\(TextLimit.clip(type))\"; no live peer runs it; this mesh runs \(types.joined(separator: ", "))")
        }
        guard let storage else {
            throw .invalidArgument("model \(id) has no storage location; give \"storageUri\" (s3://, http(s)://, file:// or a path under the models root) or \"storage\" with a \"key\" and \"path\"")
        }
        do { try storage.validate() } catch { throw .invalidArgument("storage: \(error.description)") }
        let minCopies = self.minCopies ?? 0
        try Self.checkCopies(minCopies: minCopies, maxCopies: maxCopies)
        if let hint = sizeHintBytes {
            guard hint > 0, hint <= Limits.maxSizeHintBytes else {
                throw .invalidArgument("sizeHintBytes must be between 1 and \(Limits.maxSizeHintBytes)")
            }
        }
        try Self.checkScaleUp(scaleUpRequestsPerSecond)
        let labels = self.labels ?? []
        guard labels.count <= Limits.maxLabels else { throw .invalidArgument("a model may require at most \(Limits.maxLabels) labels") }
        // Counted in Unicode scalars, as JSON Schema's maxLength counts them (docs/openapi.yaml).
        for label in labels where label.isEmpty || label.utf8.contains(UInt8(ascii: ",")) || label.unicodeScalars.count > Limits.maxLabelLength {
            throw .invalidArgument("label \"\(TextLimit.clip(label))\" must be 1 to \(Limits.maxLabelLength) characters, without commas")
        }
        try Tags.validate(tags ?? [:])
        let record = ModelRecord(
            type: type, storage: storage, sizeHintBytes: sizeHintBytes, minCopies: minCopies, maxCopies: maxCopies,
            labels: labels, scaleUpRequestsPerSecond: scaleUpRequestsPerSecond, created: now, tags: tags ?? [:]
        )
        return (id, record)
    }

    /// A change of the settings that can change after registration: each nil keeps the current
    /// value, and ``Update/clearing`` removes a limit.
    public struct Update: Sendable, Hashable {
        public var minCopies: Int?
        public var maxCopies: Int?
        public var scaleUpRequestsPerSecond: Double?
        /// Replaces every tag.
        public var tags: [String: String]?
        /// Settings to remove: `maxCopies` (no limit) and `scaleUpRequestsPerSecond` (the mesh's default).
        public var clearing: Set<Clearable>

        public enum Clearable: String, Sendable, Hashable {
            case maxCopies, scaleUpRequestsPerSecond
        }

        public init(minCopies: Int? = nil, maxCopies: Int? = nil, scaleUpRequestsPerSecond: Double? = nil,
                    tags: [String: String]? = nil, clearing: Set<Clearable> = []) {
            self.minCopies = minCopies
            self.maxCopies = maxCopies
            self.scaleUpRequestsPerSecond = scaleUpRequestsPerSecond
            self.tags = tags
            self.clearing = clearing
        }
    }

    /// `change` applied to `record` and checked.
    public static func update(_ record: ModelRecord, _ change: Update) throws(MeshError) -> ModelRecord {
        var record = record
        if let minCopies = change.minCopies { record.minCopies = minCopies }
        if let maxCopies = change.maxCopies { record.maxCopies = maxCopies }
        if change.clearing.contains(.maxCopies) { record.maxCopies = nil }
        try checkCopies(minCopies: record.minCopies, maxCopies: record.maxCopies)
        if let rate = change.scaleUpRequestsPerSecond {
            try checkScaleUp(rate)
            record.scaleUpRequestsPerSecond = rate
        }
        if change.clearing.contains(.scaleUpRequestsPerSecond) { record.scaleUpRequestsPerSecond = nil }
        if let tags = change.tags {
            try Tags.validate(tags)
            record.tags = tags
        }
        return record
    }

    static func checkCopies(minCopies: Int, maxCopies: Int?) throws(MeshError) {
        guard minCopies >= 0 else { throw .invalidArgument("minCopies must not be negative") }
        guard minCopies <= Limits.maxCopies else { throw .invalidArgument("minCopies must be at most \(Limits.maxCopies)") }
        if let maxCopies {
            guard maxCopies >= 1 else { throw .invalidArgument("maxCopies must be at least 1") }
            guard maxCopies <= Limits.maxCopies else { throw .invalidArgument("maxCopies must be at most \(Limits.maxCopies)") }
            guard maxCopies >= minCopies else { throw .invalidArgument("maxCopies (\(maxCopies)) is below minCopies (\(minCopies))") }
        }
    }

    static func checkScaleUp(_ rate: Double?) throws(MeshError) {
        guard let rate else { return }
        guard rate > 0, rate.isFinite, rate <= LoadReport.Limits.maxRequestsPerSecond else {
            throw .invalidArgument("scaleUpRequestsPerSecond must be a positive number of at most \(Int(LoadReport.Limits.maxRequestsPerSecond))")
        }
    }
}

extension ModelRecord {
    /// Whether two records load the same model: same type and storage (ModelMesh compares
    /// these when a registration repeats; so do vmodel targets).
    public func sameSource(as other: ModelRecord) -> Bool {
        type == other.type && storage == other.storage
    }
}

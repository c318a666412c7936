import MeshCore

/// The registered models: ids, true sizes, load times and popularity. Models are addressed by
/// index (`Int32`) everywhere in the simulator; ids exist for MeshCore's sake.
public struct ModelCatalog: Sendable {
    public let ids: [ModelID]
    public let records: [ModelRecord]
    /// What a load measures.
    public let sizes: [Int64]
    public let loadMillis: [Int64]
    /// Popularity rank of each model (0: the most requested).
    public let ranks: [Int32]
    /// The model at each popularity rank.
    public let modelsByRank: [Int32]
    private let indexByID: [ModelID: Int32]

    public var count: Int { ids.count }

    /// Models with the given sizes and load times, ids `m0`, `m1`, ..., and popularity in index
    /// order (model 0 the most popular): for traces written by hand.
    public init(sizes: [Int64], loadMillis: [Int64], sizeHints: Bool = true) {
        precondition(sizes.count == loadMillis.count, "one load time per model")
        let count = sizes.count
        ids = (0..<count).map { ModelCatalog.id(forIndex: $0, of: count) }
        records = sizes.map { ModelRecord(type: "synthetic", sizeHintBytes: sizeHints ? $0 : nil, created: .epoch) }
        self.sizes = sizes
        self.loadMillis = loadMillis
        modelsByRank = (0..<Int32(count)).map { $0 }
        ranks = modelsByRank
        indexByID = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($0.element, Int32($0.offset)) })
    }

    public init(_ configuration: SimulationConfiguration) {
        var random = SeededRandom(seed: configuration.seed, stream: 1)
        let count = configuration.models
        var ids: [ModelID] = []
        var records: [ModelRecord] = []
        var sizes: [Int64] = []
        var loadMillis: [Int64] = []
        ids.reserveCapacity(count)
        records.reserveCapacity(count)
        sizes.reserveCapacity(count)
        loadMillis.reserveCapacity(count)
        let mebibyte = Double(1 << 20)
        for index in 0..<count {
            let id = ModelCatalog.id(forIndex: index, of: count)
            let drawn = random.logNormal(median: Double(configuration.medianModelBytes), spread: configuration.modelSizeSpread)
            // Whole MiB, within bounds: sizes read like real ones in the report.
            let size = min(configuration.maxModelBytes, max(configuration.minModelBytes, Int64((drawn / mebibyte).rounded()) << 20))
            let gibibytes = Double(size) / Double(1 << 30)
            let nominal = configuration.loadBase.seconds + gibibytes * configuration.loadPerGiB.seconds
            let jitter = random.logNormal(median: 1, spread: configuration.loadTimeSpread)
            ids.append(id)
            sizes.append(size)
            loadMillis.append(max(1, Int64((nominal * jitter * 1000).rounded())))
            records.append(ModelRecord(type: "synthetic", sizeHintBytes: configuration.sizeHints ? size : nil, created: .epoch))
        }
        // Popularity is unrelated to the id: shuffle which model gets which rank.
        var modelsByRank = (0..<Int32(count)).map { $0 }
        modelsByRank.shuffle(using: &random)
        var ranks = [Int32](repeating: 0, count: count)
        for (rank, model) in modelsByRank.enumerated() { ranks[Int(model)] = Int32(rank) }
        self.ids = ids
        self.records = records
        self.sizes = sizes
        self.loadMillis = loadMillis
        self.modelsByRank = modelsByRank
        self.ranks = ranks
        var indexByID: [ModelID: Int32] = [:]
        indexByID.reserveCapacity(count)
        for (index, id) in ids.enumerated() { indexByID[id] = Int32(index) }
        self.indexByID = indexByID
    }

    /// `m0042` for index 42 of a few thousand: zero-padded, so ids sort like indices.
    static func id(forIndex index: Int, of count: Int) -> ModelID {
        let digits = String(index)
        let width = String(max(count - 1, 1)).count
        return ModelID(trusted: "m" + String(repeating: "0", count: max(0, width - digits.count)) + digits)
    }

    public func index(of id: ModelID) -> Int32 {
        guard let index = indexByID[id] else { preconditionFailure("\(id) is not in the catalog") }
        return index
    }

    /// Total bytes of all models.
    public var totalBytes: Int64 { sizes.reduce(0, +) }
}

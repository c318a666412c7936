/// A model format as KServe's `modelFormat` names it (`sklearn`, `xgboost`, `onnx`), with an
/// optional version: `sklearn` or `sklearn:1`. A model's `type` is one of these.
public struct ModelFormat: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var version: String?

    public init(name: String, version: String? = nil) {
        self.name = name
        self.version = version
    }

    /// `name` or `name:version`; names are matched without regard to case (KServe's are lower case).
    public init(_ text: String) {
        if let colon = text.firstIndex(of: ":") {
            name = text[..<colon].lowercased()
            let version = text[text.index(after: colon)...]
            self.version = version.isEmpty ? nil : String(version)
        } else {
            name = text.lowercased()
            version = nil
        }
    }

    public var description: String { version.map { "\(name):\($0)" } ?? name }

    /// Whether any of the runtime formats `declared` runs this model format. A declared format
    /// spelled as the model's name matches without parsing (the usual case, on every miss).
    public func isRun(byAnyOf declared: some Sequence<String>) -> Bool {
        declared.contains { $0 == name || ModelFormat($0).runs(self) }
    }

    /// Whether a runtime declared with this format runs models of format `model`: the names
    /// agree, and so do the versions when both give one (a runtime without a version runs every
    /// version; a model without one runs on any version).
    public func runs(_ model: ModelFormat) -> Bool {
        guard name == model.name else { return false }
        guard let version, let wanted = model.version else { return true }
        return version == wanted
    }
}

/// Runtimes of one peer sharing one memory budget: the built-in runtimes, or one runtime server
/// beside the peer (MLServer, Triton, a ModelMesh runtime). Published in the peer's record.
public struct RuntimePool: Codable, Hashable, Sendable {
    /// The pool of the runtimes inside the peer process.
    public static let builtin = "builtin"

    public var name: String
    /// The formats it runs (`sklearn`, `onnx:1`, ...), sorted.
    public var formats: [String]
    /// Memory its models may fill.
    public var capacityBytes: Int64
    /// False while its runtime server is down or starting: no copies are placed in it.
    public var ready: Bool

    public init(name: String, formats: [String], capacityBytes: Int64, ready: Bool = true) {
        self.name = name
        self.formats = formats.sorted()
        self.capacityBytes = capacityBytes
        self.ready = ready
    }

    public func runs(type: String) -> Bool { runs(ModelFormat(type)) }

    public func runs(_ format: ModelFormat) -> Bool { format.isRun(byAnyOf: formats) }
}

extension PeerRecord {
    /// Where a model of `type` would go on this peer.
    public enum PoolMatch: Hashable, Sendable {
        case pool(RuntimePool)
        /// The pools that run it are down or starting.
        case notReady
        case none
    }

    /// The first pool that runs `type` and is ready. A peer that publishes no pools (an older
    /// version) is taken to run everything in one budget.
    public func pool(for type: String) -> PoolMatch { pool(for: ModelFormat(type)) }

    /// ``pool(for:)-(String)`` with the model's format parsed once (placement asks every peer).
    public func pool(for format: ModelFormat) -> PoolMatch {
        guard let pools else {
            return .pool(RuntimePool(name: RuntimePool.builtin, formats: [], capacityBytes: capacityBytes))
        }
        return Self.pool(for: format, in: pools)
    }

    /// The first ready pool of `pools` that runs `format`.
    static func pool(for format: ModelFormat, in pools: [RuntimePool]) -> PoolMatch {
        var notReady = false
        for pool in pools where pool.runs(format) {
            if pool.ready { return .pool(pool) }
            notReady = true
        }
        return notReady ? .notReady : .none
    }

    /// Publishes `pools`; the peer's capacity is their sum.
    public mutating func publish(_ pools: [RuntimePool]) {
        self.pools = pools
        capacityBytes = pools.reduce(0) { $0.addingSaturating($1.capacityBytes) }
    }

    /// Every format this peer's pools run, ready or not.
    public var formats: Set<String> {
        Set((pools ?? []).flatMap(\.formats))
    }
}

extension ClusterView {
    /// The formats the live peers run (for refusing a registration no peer could load, and
    /// saying what could be).
    public var servedFormats: [String] {
        var formats = Set<String>()
        for record in peers.values where !record.shuttingDown { formats.formUnion(record.formats) }
        return formats.sorted()
    }

    /// Whether some live peer runs `type` (an older peer without pools runs everything).
    public func someoneRuns(type: String) -> Bool {
        peers.values.contains { record in
            guard !record.shuttingDown else { return false }
            guard let pools = record.pools else { return true }
            return pools.contains { $0.runs(type: type) }
        }
    }
}

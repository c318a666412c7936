/// How a range read is shaped.
public struct RangeOptions: Sendable, Hashable {
    public enum SortOrder: String, Sendable { case none = "NONE", ascend = "ASCEND", descend = "DESCEND" }
    public enum SortTarget: String, Sendable { case key = "KEY", version = "VERSION", create = "CREATE", mod = "MOD", value = "VALUE" }

    /// At most this many keys (0: no limit). `RangeResult.more` tells whether more exist.
    public var limit: Int64 = 0
    /// Read the store as of this revision (0: the newest).
    public var revision: Int64 = 0
    public var keysOnly = false
    public var countOnly = false
    public var sortOrder: SortOrder = .none
    public var sortTarget: SortTarget = .key
    /// Serve from the local member without a quorum round (may be stale).
    public var serializable = false

    public init(limit: Int64 = 0, revision: Int64 = 0, keysOnly: Bool = false, countOnly: Bool = false,
                sortOrder: SortOrder = .none, sortTarget: SortTarget = .key, serializable: Bool = false) {
        self.limit = limit
        self.revision = revision
        self.keysOnly = keysOnly
        self.countOnly = countOnly
        self.sortOrder = sortOrder
        self.sortTarget = sortTarget
        self.serializable = serializable
    }

    func wire(for range: KeyRange) -> WireRangeRequest {
        WireRangeRequest(
            key: WireBytes(range.key),
            range_end: range.rangeEnd.map(WireBytes.init),
            limit: limit > 0 ? WireInt(limit) : nil,
            revision: revision > 0 ? WireInt(revision) : nil,
            sort_order: sortOrder == .none ? nil : sortOrder.rawValue,
            sort_target: sortOrder == .none ? nil : sortTarget.rawValue,
            serializable: serializable ? true : nil,
            keys_only: keysOnly ? true : nil,
            count_only: countOnly ? true : nil
        )
    }
}

public struct RangeResult: Sendable {
    public var header: ResponseHeader
    public var kvs: [KeyValue]
    /// True when `limit` cut the result short.
    public var more: Bool
    /// The number of keys in the range (not just those returned).
    public var count: Int64

    init(_ wire: WireRangeResponse) {
        header = wire.header.header
        kvs = wire.kvs?.map(\.keyValue) ?? []
        more = wire.more ?? false
        count = wire.count?.value ?? 0
    }
}

public struct PutResult: Sendable {
    public var header: ResponseHeader
    /// The previous key-value, when asked for with `prevKV` and the key existed.
    public var previous: KeyValue?

    init(_ wire: WirePutResponse) {
        header = wire.header.header
        previous = wire.prev_kv?.keyValue
    }
}

public struct DeleteResult: Sendable {
    public var header: ResponseHeader
    public var deleted: Int64
    public var previous: [KeyValue]

    init(_ wire: WireDeleteRangeResponse) {
        header = wire.header.header
        deleted = wire.deleted?.value ?? 0
        previous = wire.prev_kvs?.map(\.keyValue) ?? []
    }
}

/// A condition in a transaction. With a range (`range_end`), it must hold for every key in the
/// range; a range with no keys compares as a key with zero version and revisions.
public struct Compare: Sendable, Hashable {
    public enum Operator: String, Sendable { case equal = "EQUAL", greater = "GREATER", less = "LESS", notEqual = "NOT_EQUAL" }

    public enum Target: Sendable, Hashable {
        case version(Int64)
        case createRevision(Int64)
        case modRevision(Int64)
        case value([UInt8])
        case lease(LeaseID)
    }

    public var range: KeyRange
    public var op: Operator
    public var target: Target

    public init(_ range: KeyRange, _ target: Target, _ op: Operator) {
        self.range = range
        self.op = op
        self.target = target
    }

    /// The key does not exist.
    public static func absent(_ key: String) -> Compare { Compare(.key(key), .createRevision(0), .equal) }
    /// The key exists.
    public static func present(_ key: String) -> Compare { Compare(.key(key), .createRevision(0), .greater) }
    /// No key in `range` was created or changed after `revision`.
    public static func unchangedSince(_ range: KeyRange, revision: Int64) -> Compare {
        // Saturating: the revision came from etcd, and a hostile maximum must not trap.
        Compare(range, .modRevision(revision == .max ? revision : revision + 1), .less)
    }

    var wire: WireCompare {
        var compare = WireCompare(result: op.rawValue, target: "", key: WireBytes(range.key), range_end: range.rangeEnd.map(WireBytes.init))
        switch target {
        case .version(let version):
            compare.target = "VERSION"
            compare.version = WireInt(version)
        case .createRevision(let revision):
            compare.target = "CREATE"
            compare.create_revision = WireInt(revision)
        case .modRevision(let revision):
            compare.target = "MOD"
            compare.mod_revision = WireInt(revision)
        case .value(let value):
            compare.target = "VALUE"
            compare.value = WireBytes(value)
        case .lease(let lease):
            compare.target = "LEASE"
            compare.lease = WireInt(lease.rawValue)
        }
        return compare
    }
}

/// One operation inside a transaction branch.
public indirect enum TxnOperation: Sendable, Hashable {
    case range(KeyRange, RangeOptions = RangeOptions())
    case put(key: String, value: [UInt8], lease: LeaseID = .none, prevKV: Bool = false)
    case delete(KeyRange, prevKV: Bool = false)
    case txn(Txn)

    public static func put(_ key: String, _ value: String, lease: LeaseID = .none) -> TxnOperation {
        .put(key: key, value: Array(value.utf8), lease: lease)
    }

    var wire: WireRequestOp {
        switch self {
        case .range(let range, let options):
            return WireRequestOp(request_range: options.wire(for: range))
        case .put(let key, let value, let lease, let prevKV):
            return WireRequestOp(request_put: WirePutRequest(
                key: WireBytes(Array(key.utf8)), value: WireBytes(value),
                lease: lease == .none ? nil : WireInt(lease.rawValue), prev_kv: prevKV ? true : nil
            ))
        case .delete(let range, let prevKV):
            return WireRequestOp(request_delete_range: WireDeleteRangeRequest(
                key: WireBytes(range.key), range_end: range.rangeEnd.map(WireBytes.init), prev_kv: prevKV ? true : nil
            ))
        case .txn(let txn):
            return WireRequestOp(request_txn: txn.wire)
        }
    }
}

/// `if all(compare) then success else failure`, applied atomically at one revision.
public struct Txn: Sendable, Hashable {
    public var compare: [Compare]
    public var success: [TxnOperation]
    public var failure: [TxnOperation]

    public init(if compare: [Compare], then success: [TxnOperation], else failure: [TxnOperation] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }

    var wire: WireTxnRequest {
        WireTxnRequest(compare: compare.map(\.wire), success: success.map(\.wire), failure: failure.map(\.wire))
    }
}

public struct TxnResult: Sendable {
    public enum OperationResult: Sendable {
        case range(RangeResult)
        case put(PutResult)
        case delete(DeleteResult)
        case txn(TxnResult)
    }

    public var header: ResponseHeader
    /// Whether every compare held (so the success branch ran).
    public var succeeded: Bool
    public var results: [OperationResult]

    init(_ wire: WireTxnResponse) {
        header = wire.header.header
        succeeded = wire.succeeded ?? false
        results = (wire.responses ?? []).compactMap { op in
            if let range = op.response_range { return .range(RangeResult(range)) }
            if let put = op.response_put { return .put(PutResult(put)) }
            if let delete = op.response_delete_range { return .delete(DeleteResult(delete)) }
            if let txn = op.response_txn { return .txn(TxnResult(txn)) }
            // An empty object: a put or delete whose fields were all zero. Not distinguishable.
            return nil
        }
    }

    /// The range results, in order; handy for "compare, else read what is there".
    public var ranges: [RangeResult] {
        results.compactMap { if case .range(let range) = $0 { return range } else { return nil } }
    }
}

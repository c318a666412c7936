/// An etcd lease id. Zero means "no lease".
public struct LeaseID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static let none = LeaseID(0)
    /// etcd prints lease ids in hexadecimal (`etcdctl lease list`); so do we.
    public var description: String { String(UInt64(bitPattern: rawValue), radix: 16) }
}

/// The header etcd puts on every response.
public struct ResponseHeader: Sendable, Hashable {
    public var clusterID: UInt64
    public var memberID: UInt64
    /// The store revision when the request was served.
    public var revision: Int64
    public var raftTerm: UInt64
}

/// One key with its value and metadata, as stored.
public struct KeyValue: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var lease: LeaseID

    public init(key: [UInt8], value: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, lease: LeaseID = .none) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The key as UTF-8 text (invalid bytes are replaced).
    public var keyString: String { String(decoding: key, as: UTF8.self) }
    /// The value as UTF-8 text (invalid bytes are replaced).
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}

/// A key, or a range of keys `[key, rangeEnd)`, as etcd addresses them.
public struct KeyRange: Sendable, Hashable, CustomStringConvertible {
    public var key: [UInt8]
    /// `nil` addresses the single key; `[0]` means "every key from `key` on".
    public var rangeEnd: [UInt8]?

    public init(key: [UInt8], rangeEnd: [UInt8]?) {
        self.key = key
        self.rangeEnd = rangeEnd
    }

    public static func key(_ key: String) -> KeyRange { KeyRange(key: Array(key.utf8), rangeEnd: nil) }

    /// Every key that starts with `prefix`.
    public static func prefix(_ prefix: String) -> KeyRange {
        let bytes = Array(prefix.utf8)
        return KeyRange(key: bytes.isEmpty ? [0] : bytes, rangeEnd: prefixEnd(bytes))
    }

    /// Every key `>= key`.
    public static func from(_ key: String) -> KeyRange {
        // etcd has no empty key; "\0" is the smallest one.
        KeyRange(key: key.isEmpty ? [0] : Array(key.utf8), rangeEnd: [0])
    }

    /// The smallest key greater than every key with this prefix: the prefix with its last byte
    /// incremented, after dropping trailing 0xff bytes (etcd's `GetPrefixRangeEnd`).
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    public var description: String {
        let start = String(decoding: key, as: UTF8.self)
        guard let rangeEnd else { return start }
        if rangeEnd == KeyRange.prefixEnd(key) { return "\(start)*" }
        return "[\(start), \(String(decoding: rangeEnd, as: UTF8.self)))"
    }
}

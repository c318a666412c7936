/// A record as read from the store, with the revisions a later compare-and-swap needs.
public struct Versioned<Record: Sendable>: Sendable {
    public var record: Record?
    /// The record's own revision (0: absent); a write compares against it.
    public var modRevision: Int64
    /// The store's revision when it was read.
    public var readRevision: Int64

    public init(record: Record?, modRevision: Int64, readRevision: Int64 = 0) {
        self.record = record
        self.modRevision = modRevision
        self.readRevision = readRevision
    }
}

extension Versioned: Equatable where Record: Equatable {}

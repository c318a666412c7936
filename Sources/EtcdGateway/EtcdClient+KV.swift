extension EtcdClient {
    /// Reads a key or a range of keys.
    public func range(_ range: KeyRange, _ options: RangeOptions = RangeOptions()) async throws -> RangeResult {
        let wire: WireRangeResponse = try await call(
            "/v3/kv/range", body: options.wire(for: range), operation: "range \(range)",
            idempotent: true, requestedRevision: options.revision
        )
        return RangeResult(wire)
    }

    /// The key's current value and metadata, or nil.
    public func get(_ key: String) async throws -> KeyValue? {
        try await range(.key(key)).kvs.first
    }

    /// Every key under `prefix`, in key order, fetched in pages of `pageSize` at one revision.
    ///
    /// Returns the keys and the revision they were read at (to watch from `revision + 1`).
    /// Pass `revision` to read several prefixes as of one revision.
    public func getAll(prefix: String, revision atRevision: Int64 = 0, pageSize: Int64 = 10_000) async throws -> (kvs: [KeyValue], revision: Int64) {
        let whole = KeyRange.prefix(prefix)
        var start = whole.key
        var revision: Int64 = atRevision
        var result: [KeyValue] = []
        while true {
            let page = try await range(
                KeyRange(key: start, rangeEnd: whole.rangeEnd),
                RangeOptions(limit: pageSize, revision: revision)
            )
            if revision == 0 { revision = page.header.revision }
            result.append(contentsOf: page.kvs)
            guard page.more, let last = page.kvs.last else { break }
            start = last.key + [0]
        }
        return (result, revision)
    }

    /// Writes a key.
    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: LeaseID = .none, prevKV: Bool = false) async throws -> PutResult {
        let body = WirePutRequest(
            key: WireBytes(Array(key.utf8)), value: WireBytes(value),
            lease: lease == .none ? nil : WireInt(lease.rawValue), prev_kv: prevKV ? true : nil
        )
        do {
            let wire: WirePutResponse = try await call("/v3/kv/put", body: body, operation: "put \(key)", idempotent: true)
            return PutResult(wire)
        } catch EtcdError.leaseNotFound {
            throw EtcdError.leaseNotFound(lease)
        }
    }

    @discardableResult
    public func put(_ key: String, _ value: String, lease: LeaseID = .none, prevKV: Bool = false) async throws -> PutResult {
        try await put(key, value: Array(value.utf8), lease: lease, prevKV: prevKV)
    }

    /// Deletes a key or a range of keys.
    @discardableResult
    public func delete(_ range: KeyRange, prevKV: Bool = false) async throws -> DeleteResult {
        let body = WireDeleteRangeRequest(key: WireBytes(range.key), range_end: range.rangeEnd.map(WireBytes.init), prev_kv: prevKV ? true : nil)
        let wire: WireDeleteRangeResponse = try await call("/v3/kv/deleterange", body: body, operation: "delete \(range)", idempotent: true)
        return DeleteResult(wire)
    }

    /// Runs a transaction. A failed compare is not an error: check `succeeded`.
    ///
    /// A transaction whose connection dropped after it was sent is not repeated (it may have been
    /// applied); the caller re-reads and decides again.
    public func txn(_ txn: Txn) async throws -> TxnResult {
        let wire: WireTxnResponse = try await call("/v3/kv/txn", body: txn.wire, operation: "txn", idempotent: false)
        return TxnResult(wire)
    }

    /// Compacts the history up to `revision`: older revisions can no longer be read or watched.
    public func compact(revision: Int64, physical: Bool = true) async throws {
        struct Body: Encodable {
            var revision: WireInt
            var physical: Bool
        }
        struct Response: Decodable { var header: WireHeader? }
        let _: Response = try await call(
            "/v3/kv/compaction", body: Body(revision: WireInt(revision), physical: physical),
            operation: "compact", idempotent: true, requestedRevision: revision
        )
    }
}

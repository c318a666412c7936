import CoreMetrics
import EtcdGateway
import Logging
import NIOSSL
import MeshCore

/// The mesh's records in etcd, laid out by ``KeyLayout`` as human-readable JSON so that
/// `etcdctl get --prefix /mm/` explains the cluster. The only place a peer talks to etcd.
public struct EtcdMeshStore: MeshStore {
    private let client: EtcdClient
    public let layout: KeyLayout
    let logger: Logger
    private let failureLeases = FailureLeases()
    /// Bounds each endpoint's attempt to renew the lease (nil: the client's request timeout).
    private let keepAliveTimeout: Duration?

    public init(endpoints: [String], layout: KeyLayout, keepAliveTimeout: Duration? = nil,
                tls: TLSConfiguration? = nil, credentials: EtcdClient.Configuration.Credentials? = nil, logger: Logger) {
        var configuration = EtcdClient.Configuration(endpoints: endpoints)
        configuration.tls = tls
        configuration.credentials = credentials
        configuration.observer = { path, duration in
            Recorder(label: "modelmesh_etcd_request_milliseconds", dimensions: [("operation", EtcdMeshStore.operation(path: path))], aggregate: true)
                .record(duration.seconds * 1000)
        }
        self.client = EtcdClient(configuration, logger: logger)
        self.layout = layout
        self.keepAliveTimeout = keepAliveTimeout
        self.logger = logger
    }

    /// The `operation` of `modelmesh_etcd_request_milliseconds` for a gateway path:
    /// `/v3/kv/range` is `range`, `/v3/kv/deleterange` `delete`, `/v3/lease/keepalive`
    /// `lease_keepalive`.
    static func operation(path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count == 3 else { return "other" }
        switch (parts[1], parts[2]) {
        case ("kv", "deleterange"): return "delete"
        case ("kv", let name): return name
        case (let group, let name): return group + "_" + name
        }
    }

    /// Runs an etcd call, turning its errors into the store's: "etcd is away" becomes a 503 a
    /// client can act on, compaction and lost leases the conditions callers handle.
    /// Inside a request's trace, the call is a span named after the store operation (`etcd.claimCopy`).
    func call<T>(_ function: String = #function, _ body: () async throws -> T) async throws -> T {
        do {
            return try await MeshTracing.childSpan("etcd." + function.prefix { $0 != "(" }) { try await body() }
        } catch let error as EtcdError {
            switch error {
            case .compacted: throw StoreFailure.historyCompacted
            case .leaseNotFound: throw StoreFailure.leaseExpired
            default: throw MeshError.unavailable("etcd is not available, try again later: \(error)")
            }
        }
    }

    // The client stays private to this type; its extensions reach etcd through these.
    func etcd(range: KeyRange, _ options: RangeOptions = RangeOptions()) async throws -> RangeResult { try await client.range(range, options) }
    func etcd(txn: Txn) async throws -> TxnResult { try await client.txn(txn) }
    func etcd(all prefix: String, revision: Int64 = 0) async throws -> (kvs: [KeyValue], revision: Int64) {
        try await client.getAll(prefix: prefix, revision: revision)
    }
    func etcd(watch range: KeyRange, from revision: Int64) -> EtcdWatch { client.watch(range, from: revision) }

    public func checkReachable() async throws {
        do {
            _ = try await client.status()
        } catch let error as EtcdError {
            throw MeshError.unavailable(error.description)
        }
    }

    public func close() async {
        try? await client.shutdown()
    }

    // MARK: Models

    public func register(_ id: ModelID, _ record: ModelRecord) async throws -> RegistrationOutcome {
        try await call {
            let key = layout.model(id)
            var success: [TxnOperation] = [.put(key: key, value: try RecordCoding.encode(record))]
            if record.minCopies > 0 { success.append(.put(layout.pinned(id), String(record.minCopies))) }
            let result = try await client.txn(Txn(if: [.absent(key)], then: success, else: [.range(.key(key))]))
            if result.succeeded { return .created(revision: result.header.revision) }
            guard let existing = result.ranges.first?.kvs.first else {
                throw MeshError.unavailable("model \(id) was unregistered while it was being registered; try again")
            }
            let stored = try RecordCoding.decode(ModelRecord.self, from: existing.value)
            return stored.sameDefinition(as: record) ? .unchanged(stored) : .conflict(existing: stored)
        }
    }

    public func update(_ id: ModelID, _ record: ModelRecord, ifRevision revision: Int64) async throws -> Bool {
        try await call {
            let key = layout.model(id)
            var operations: [TxnOperation] = [.put(key: key, value: try RecordCoding.encode(record))]
            operations.append(record.minCopies > 0 ? .put(layout.pinned(id), String(record.minCopies)) : .delete(.key(layout.pinned(id))))
            return try await client.txn(Txn(if: [Compare(.key(key), .modRevision(revision), .equal)], then: operations)).succeeded
        }
    }

    public func unregister(_ id: ModelID) async throws -> UnregistrationOutcome {
        try await call {
            let key = layout.model(id)
            for _ in 0..<10 {
                guard let current = try await client.get(key) else { return .notFound }
                let record = try RecordCoding.decode(ModelRecord.self, from: current.value)
                if record.references > 0 { return .referenced(count: record.references) }
                let result = try await client.txn(Txn(
                    if: [Compare(.key(key), .modRevision(current.modRevision), .equal)],
                    then: removal(of: id)
                ))
                if result.succeeded { return .removed }
            }
            throw MeshError.unavailable("model \(id) kept changing while it was being unregistered; try again")
        }
    }

    /// Everything about a model, deleted together.
    func removal(of id: ModelID) -> [TxnOperation] {
        [
            .delete(.key(layout.model(id))), .delete(.key(layout.pinned(id))),
            .delete(.prefix(layout.copies(of: id))), .delete(.prefix(layout.failures(of: id))),
        ]
    }

    public func model(_ id: ModelID) async throws -> Versioned<ModelRecord> {
        try await call {
            let result = try await client.range(.key(layout.model(id)))
            guard let kv = result.kvs.first else { return Versioned(record: nil, modRevision: 0, readRevision: result.header.revision) }
            return Versioned(record: try RecordCoding.decode(ModelRecord.self, from: kv.value), modRevision: kv.modRevision,
                             readRevision: result.header.revision)
        }
    }

    public func listModels(after: ModelID?, limit: Int) async throws -> Page<ModelRecord> {
        try await page(of: ModelRecord.self, under: layout.models, after: after, limit: limit) { key in
            if case .model(let id) = layout.entry(forKey: key) { return id }
            return nil
        }
    }

    /// One page of records under `prefix`, in key order, starting after `after`.
    func page<Record: Decodable & Sendable>(
        of type: Record.Type, under prefix: String, after: ModelID?, limit: Int, id: (String) -> ModelID?
    ) async throws -> Page<Record> {
        try await call {
            let start = after.map { prefix + $0.rawValue + "\u{0}" } ?? prefix
            let range = KeyRange(key: Array(start.utf8), rangeEnd: KeyRange.prefix(prefix).rangeEnd)
            let result = try await client.range(range, RangeOptions(limit: Int64(limit)))
            let items = result.kvs.compactMap { kv -> (ModelID, Record)? in
                guard let id = id(kv.keyString), let record = try? RecordCoding.decode(Record.self, from: kv.value) else { return nil }
                return (id, record)
            }
            return Page(items: items, more: result.more)
        }
    }

    // MARK: Copies and failures

    public func claimCopy(
        _ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID, decidedAt revision: Int64
    ) async throws -> ClaimOutcome {
        try await call {
            let copies = KeyRange.prefix(layout.copies(of: model))
            let result = try await client.txn(Txn(
                if: [.unchangedSince(copies, revision: revision), .present(layout.model(model))],
                then: [.put(key: layout.copy(model, on: peer), value: try RecordCoding.encode(record), lease: lease)],
                else: [.range(copies), .range(.key(layout.model(model)), RangeOptions(countOnly: true))]
            ))
            if result.succeeded { return .claimed(revision: result.header.revision) }
            let ranges = result.ranges
            if ranges.count == 2, ranges[1].count == 0 { return .modelGone }
            var current: [PeerID: CopyRecord] = [:]
            for kv in ranges.first?.kvs ?? [] {
                if case .copy(_, let holder) = layout.entry(forKey: kv.keyString),
                   let copy = try? RecordCoding.decode(CopyRecord.self, from: kv.value) {
                    current[holder] = copy
                }
            }
            return .conflict(copies: current, revision: result.header.revision)
        }
    }

    public func putCopy(_ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID) async throws -> CopyWriteOutcome {
        try await call {
            let key = layout.copy(model, on: peer)
            let put = TxnOperation.put(key: key, value: try RecordCoding.encode(record), lease: lease)
            // One round trip: model registered, then "ours already" or else "nobody's".
            let ifAbsent = Txn(if: [.absent(key)], then: [put], else: [.range(.key(key), RangeOptions(countOnly: true))])
            let ifOurs = Txn(if: [Compare(.key(key), .lease(lease), .equal), .present(key)], then: [put], else: [.txn(ifAbsent)])
            let result = try await client.txn(Txn(if: [.present(layout.model(model))], then: [.txn(ifOurs)]))
            guard result.succeeded else { return .modelGone }
            guard case .txn(let ours)? = result.results.first else { throw EtcdError.malformedResponse(endpoint: "", detail: "copy write: no nested result") }
            if ours.succeeded { return .written }
            guard case .txn(let absent)? = ours.results.first else { throw EtcdError.malformedResponse(endpoint: "", detail: "copy write: no nested result") }
            return absent.succeeded ? .written : .ownedByAnotherLease
        }
    }

    @discardableResult
    public func deleteCopy(_ model: ModelID, on peer: PeerID, lease: LeaseID) async throws -> Bool {
        try await call {
            let key = layout.copy(model, on: peer)
            return try await client.txn(Txn(if: [.present(key), Compare(.key(key), .lease(lease), .equal)], then: [.delete(.key(key))])).succeeded
        }
    }

    public func deleteAllCopies(of model: ModelID) async throws -> Int64 {
        try await call { try await client.delete(.prefix(layout.copies(of: model))).deleted }
    }

    public func removeCopy(_ model: ModelID, from victim: PeerID, keeping others: [PeerID], ifUnchangedSince revision: Int64) async throws -> Bool {
        try await call {
            let compares = [Compare.unchangedSince(.prefix(layout.copies(of: model)), revision: revision), .present(layout.copy(model, on: victim))]
                + others.map { Compare.present(layout.copy(model, on: $0)) }
            return try await client.txn(Txn(if: compares, then: [.delete(.key(layout.copy(model, on: victim)))])).succeeded
        }
    }

    public func placement(of model: ModelID, atRevision revision: Int64) async throws -> ModelPlacement {
        try await call {
            let options = RangeOptions(revision: revision)
            let copies = try await client.range(.prefix(layout.copies(of: model)), options)
            let failures = try await client.range(.prefix(layout.failures(of: model)), options)
            var placement = ModelPlacement()
            for kv in copies.kvs {
                if case .copy(_, let peer) = layout.entry(forKey: kv.keyString),
                   let copy = try? RecordCoding.decode(CopyRecord.self, from: kv.value) {
                    placement.copies[peer] = copy
                }
            }
            for kv in failures.kvs {
                if case .failure(_, let peer) = layout.entry(forKey: kv.keyString),
                   let failure = try? RecordCoding.decode(FailureRecord.self, from: kv.value) {
                    placement.failures[peer] = failure
                }
            }
            return placement
        }
    }

    public func recordFailure(_ model: ModelID, on peer: PeerID, message: String, at time: MeshTime, expiry: Duration) async throws {
        try await call {
            let value = try RecordCoding.encode(FailureRecord(time: time, message: message))
            let grant: (Int64) async throws -> LeaseID = { ttl in try await client.grantLease(ttl: ttl).id }
            let lease = try await failureLeases.lease(expiry: expiry, grant: grant)
            do {
                _ = try await client.put(layout.failure(model, on: peer), value: value, lease: lease)
            } catch EtcdError.leaseNotFound {
                // The shared lease is gone early (revoked, etcd restored from a backup): once more with a new one.
                failureLeases.invalidate(lease)
                _ = try await client.put(layout.failure(model, on: peer), value: value, lease: try await failureLeases.lease(expiry: expiry, grant: grant))
            }
        }
    }

    public func clearFailure(_ model: ModelID, on peer: PeerID) async throws {
        try await call { _ = try await client.delete(.key(layout.failure(model, on: peer))) }
    }

    // MARK: Peers and leases

    public func peer(_ id: PeerID) async throws -> (record: PeerRecord, lease: LeaseID)? {
        try await call {
            guard let kv = try await client.get(layout.peer(id)) else { return nil }
            return (try RecordCoding.decode(PeerRecord.self, from: kv.value), kv.lease)
        }
    }

    public func peers() async throws -> [PeerID: PeerRecord] {
        try await call {
            var records: [PeerID: PeerRecord] = [:]
            for kv in try await client.getAll(prefix: layout.peers).kvs {
                if case .peer(let id) = layout.entry(forKey: kv.keyString), let record = try? RecordCoding.decode(PeerRecord.self, from: kv.value) {
                    records[id] = record
                }
            }
            return records
        }
    }

    public func registerPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws -> Bool {
        try await call {
            let key = layout.peer(id)
            let value = try RecordCoding.encode(record)
            let result = try await client.txn(Txn(if: [.absent(key)], then: [.put(key: key, value: value, lease: lease)]))
            if result.succeeded { return true }
            let owned = try await client.txn(Txn(if: [Compare(.key(key), .lease(lease), .equal)], then: [.put(key: key, value: value, lease: lease)]))
            return owned.succeeded
        }
    }

    public func putPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws {
        try await call { _ = try await client.put(layout.peer(id), value: try RecordCoding.encode(record), lease: lease) }
    }

    public func grantLease(ttl: Int64) async throws -> (lease: LeaseID, ttl: Int64) {
        try await call {
            let grant = try await client.grantLease(ttl: ttl)
            return (grant.id, grant.ttl)
        }
    }

    public func renewLease(_ lease: LeaseID) async throws -> Int64 {
        try await call { try await client.keepAliveOnce(lease, timeout: keepAliveTimeout) }
    }

    public func revokeLease(_ lease: LeaseID) async throws {
        try await call { try await client.revokeLease(lease) }
    }

    // MARK: Copy-scaling decisions

    public func putDecision(_ decision: ScalingPolicy.Decision, lease: LeaseID) async throws {
        try await call { _ = try await client.put(layout.decision(decision.model), value: try RecordCoding.encode(decision), lease: lease) }
    }

    public func decision(of model: ModelID) async throws -> ScalingPolicy.Decision? {
        try await call { try await client.get(layout.decision(model)).flatMap { try? RecordCoding.decode(ScalingPolicy.Decision.self, from: $0.value) } }
    }

    public func decisions() async throws -> [ScalingPolicy.Decision] {
        try await call {
            try await client.getAll(prefix: layout.decisions).kvs.compactMap { try? RecordCoding.decode(ScalingPolicy.Decision.self, from: $0.value) }
        }
    }
}

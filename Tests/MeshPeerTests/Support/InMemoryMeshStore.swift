import EtcdGateway
import MeshCore
@testable import MeshPeer
import Synchronization

/// The store in memory, for unit tests of the shell: revisions, compare-and-swap, leases and a
/// change feed behave as etcd's do for what the mesh uses. Integration tests use real etcd.
final class InMemoryMeshStore: MeshStore {
    private struct Entry<Record: Sendable>: Sendable {
        var record: Record
        var modRevision: Int64
        var lease: LeaseID = .none
    }

    private struct State {
        var revision: Int64 = 1
        var models: [ModelID: Entry<ModelRecord>] = [:]
        var vmodels: [ModelID: Entry<VModelRecord>] = [:]
        var transitions: Set<ModelID> = []
        var pinned: [ModelID: Int] = [:]
        var peers: [PeerID: Entry<PeerRecord>] = [:]
        var copies: [ModelID: [PeerID: Entry<CopyRecord>]] = [:]
        /// The last revision any copy record of a model changed (deletions included).
        var copiesChanged: [ModelID: Int64] = [:]
        var failures: [ModelID: [PeerID: FailureRecord]] = [:]
        var decisions: [ModelID: Entry<ScalingPolicy.Decision>] = [:]
        var leases: Set<LeaseID> = []
        var nextLease: Int64 = 100
        var history: [StoreBatch] = []
        var watchers: [Int: AsyncThrowingStream<StoreBatch, any Error>.Continuation] = [:]
        var nextWatcher = 0
        var reachable = true
        var writes = 0
    }

    private let state = Mutex(State())

    /// While false, every call throws `unavailable` (etcd away).
    var reachable: Bool {
        get { state.withLock { $0.reachable } }
        set { state.withLock { $0.reachable = newValue } }
    }

    /// Writes the store accepted, for tests that count them.
    var writes: Int { state.withLock { $0.writes } }

    /// The copy records of `model` now.
    func copies(of model: ModelID) -> [PeerID: CopyRecord] {
        state.withLock { $0.copies[model]?.mapValues(\.record) ?? [:] }
    }

    func failures(of model: ModelID) -> [PeerID: FailureRecord] {
        state.withLock { $0.failures[model] ?? [:] }
    }

    /// Removes a record without telling watchers: what a peer whose watch missed the change sees.
    func removeUnseen(copyOf model: ModelID, on peer: PeerID) {
        state.withLock { state in
            state.copies[model]?[peer] = nil
            state.revision += 1
        }
    }

    /// Registers a peer without telling watchers: what a peer whose view lags sees.
    func addUnseen(peer id: PeerID, _ record: PeerRecord) {
        state.withLock { state in
            state.peers[id] = Entry(record: record, modRevision: state.revision + 1)
            state.revision += 1
        }
    }

    /// Removes a model and its copies without telling watchers.
    func removeUnseen(model: ModelID) {
        state.withLock { state in
            state.models[model] = nil
            state.copies[model] = nil
            state.revision += 1
        }
    }

    // MARK: Helpers

    /// Runs `body` on the state if the store is reachable; `commit` collects the events of a write.
    private func access<T>(_ body: (inout State, inout [StoreEvent]) throws -> T) throws -> T {
        try state.withLock { state in
            guard state.reachable else { throw MeshError.unavailable("etcd is not available (in-memory store made unreachable)") }
            var events: [StoreEvent] = []
            let result = try body(&state, &events)
            if !events.isEmpty { publish(events, in: &state) }
            return result
        }
    }

    /// One revision for the events of one write, delivered to every watcher.
    private func publish(_ events: [StoreEvent], in state: inout State) {
        state.revision += 1
        state.writes += 1
        let batch = StoreBatch(revision: state.revision, events: events)
        state.history.append(batch)
        for watcher in state.watchers.values { watcher.yield(batch) }
    }

    /// The revision the next write will have (events written in one access share it).
    private func nextRevision(_ state: State) -> Int64 { state.revision + 1 }

    private func deleteCopy(_ model: ModelID, _ peer: PeerID, _ state: inout State, _ events: inout [StoreEvent]) {
        guard state.copies[model]?.removeValue(forKey: peer) != nil else { return }
        if state.copies[model]?.isEmpty == true { state.copies[model] = nil }
        state.copiesChanged[model] = nextRevision(state)
        events.append(.cluster(.copyDeleted(model, peer), revision: nextRevision(state)))
    }

    private func removeModel(_ id: ModelID, _ state: inout State, _ events: inout [StoreEvent]) {
        guard state.models.removeValue(forKey: id) != nil else { return }
        events.append(.model(id, nil, revision: nextRevision(state)))
        if state.pinned.removeValue(forKey: id) != nil { events.append(.cluster(.pinnedDeleted(id), revision: nextRevision(state))) }
        for peer in (state.copies[id] ?? [:]).keys.sorted() { deleteCopy(id, peer, &state, &events) }
        for peer in (state.failures.removeValue(forKey: id) ?? [:]).keys.sorted() { events.append(.cluster(.failureDeleted(id, peer), revision: nextRevision(state))) }
    }

    private func putModel(_ id: ModelID, _ record: ModelRecord, _ state: inout State, _ events: inout [StoreEvent]) {
        state.models[id] = Entry(record: record, modRevision: nextRevision(state))
        events.append(.model(id, record, revision: nextRevision(state)))
        if record.minCopies > 0 {
            state.pinned[id] = record.minCopies
            events.append(.cluster(.pinnedPut(id, minCopies: record.minCopies), revision: nextRevision(state)))
        } else if state.pinned.removeValue(forKey: id) != nil {
            events.append(.cluster(.pinnedDeleted(id), revision: nextRevision(state)))
        }
    }

    // MARK: MeshStore

    func checkReachable() async throws { try access { _, _ in } }
    func close() async {}

    func register(_ id: ModelID, _ record: ModelRecord) async throws -> RegistrationOutcome {
        try access { state, events in
            if let existing = state.models[id]?.record {
                return existing.sameDefinition(as: record) ? .unchanged(existing) : .conflict(existing: existing)
            }
            putModel(id, record, &state, &events)
            return .created(revision: nextRevision(state))
        }
    }

    func update(_ id: ModelID, _ record: ModelRecord, ifRevision revision: Int64) async throws -> Bool {
        try access { state, events in
            guard state.models[id]?.modRevision == revision else { return false }
            putModel(id, record, &state, &events)
            return true
        }
    }

    func unregister(_ id: ModelID) async throws -> UnregistrationOutcome {
        try access { state, events in
            guard let existing = state.models[id]?.record else { return .notFound }
            if existing.references > 0 { return .referenced(count: existing.references) }
            removeModel(id, &state, &events)
            return .removed
        }
    }

    func model(_ id: ModelID) async throws -> Versioned<ModelRecord> {
        try access { state, _ in
            Versioned(record: state.models[id]?.record, modRevision: state.models[id]?.modRevision ?? 0, readRevision: state.revision)
        }
    }

    func listModels(after: ModelID?, limit: Int) async throws -> Page<ModelRecord> {
        try access { state, _ in
            let all = state.models.keys.sorted().filter { after == nil || $0 > after! }
            return Page(items: all.prefix(limit).map { ($0, state.models[$0]!.record) }, more: all.count > limit)
        }
    }

    func claimCopy(_ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID, decidedAt revision: Int64) async throws -> ClaimOutcome {
        try access { state, events in
            guard state.models[model] != nil else { return .modelGone }
            guard (state.copiesChanged[model] ?? 0) <= revision else {
                return .conflict(copies: state.copies[model]?.mapValues(\.record) ?? [:], revision: state.revision)
            }
            state.copies[model, default: [:]][peer] = Entry(record: record, modRevision: nextRevision(state), lease: lease)
            state.copiesChanged[model] = nextRevision(state)
            events.append(.cluster(.copyPut(model, peer, record), revision: nextRevision(state)))
            return .claimed(revision: nextRevision(state))
        }
    }

    func putCopy(_ model: ModelID, on peer: PeerID, record: CopyRecord, lease: LeaseID) async throws -> CopyWriteOutcome {
        try access { state, events in
            guard state.models[model] != nil else { return .modelGone }
            if let existing = state.copies[model]?[peer], existing.lease != lease { return .ownedByAnotherLease }
            state.copies[model, default: [:]][peer] = Entry(record: record, modRevision: nextRevision(state), lease: lease)
            state.copiesChanged[model] = nextRevision(state)
            events.append(.cluster(.copyPut(model, peer, record), revision: nextRevision(state)))
            return .written
        }
    }

    @discardableResult
    func deleteCopy(_ model: ModelID, on peer: PeerID, lease: LeaseID) async throws -> Bool {
        try access { state, events in
            guard state.copies[model]?[peer]?.lease == lease else { return false }
            deleteCopy(model, peer, &state, &events)
            return true
        }
    }

    func deleteAllCopies(of model: ModelID) async throws -> Int64 {
        try access { state, events in
            let peers = (state.copies[model] ?? [:]).keys.sorted()
            for peer in peers { deleteCopy(model, peer, &state, &events) }
            return Int64(peers.count)
        }
    }

    func removeCopy(_ model: ModelID, from victim: PeerID, keeping others: [PeerID], ifUnchangedSince revision: Int64) async throws -> Bool {
        try access { state, events in
            let copies = state.copies[model] ?? [:]
            guard (state.copiesChanged[model] ?? 0) <= revision, copies[victim] != nil, others.allSatisfy({ copies[$0] != nil }) else { return false }
            deleteCopy(model, victim, &state, &events)
            return true
        }
    }

    func placement(of model: ModelID, atRevision revision: Int64) async throws -> ModelPlacement {
        try access { state, _ in
            ModelPlacement(copies: state.copies[model]?.mapValues(\.record) ?? [:], failures: state.failures[model] ?? [:])
        }
    }

    func recordFailure(_ model: ModelID, on peer: PeerID, message: String, at time: MeshTime, expiry: Duration) async throws {
        try access { state, events in
            let record = FailureRecord(time: time, message: message)
            state.failures[model, default: [:]][peer] = record
            events.append(.cluster(.failurePut(model, peer, record), revision: nextRevision(state)))
        }
    }

    func clearFailure(_ model: ModelID, on peer: PeerID) async throws {
        try access { state, events in
            guard state.failures[model]?.removeValue(forKey: peer) != nil else { return }
            events.append(.cluster(.failureDeleted(model, peer), revision: nextRevision(state)))
        }
    }

    func peer(_ id: PeerID) async throws -> (record: PeerRecord, lease: LeaseID)? {
        try access { state, _ in state.peers[id].map { ($0.record, $0.lease) } }
    }

    func peers() async throws -> [PeerID: PeerRecord] {
        try access { state, _ in state.peers.mapValues(\.record) }
    }

    func registerPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws -> Bool {
        try access { state, events in
            if let existing = state.peers[id], existing.lease != lease { return false }
            state.peers[id] = Entry(record: record, modRevision: nextRevision(state), lease: lease)
            events.append(.cluster(.peerPut(id, record), revision: nextRevision(state)))
            return true
        }
    }

    func putPeer(_ id: PeerID, _ record: PeerRecord, lease: LeaseID) async throws {
        try access { state, events in
            state.peers[id] = Entry(record: record, modRevision: nextRevision(state), lease: lease)
            events.append(.cluster(.peerPut(id, record), revision: nextRevision(state)))
        }
    }

    func grantLease(ttl: Int64) async throws -> (lease: LeaseID, ttl: Int64) {
        try access { state, _ in
            state.nextLease += 1
            let lease = LeaseID(state.nextLease)
            state.leases.insert(lease)
            return (lease, ttl)
        }
    }

    func renewLease(_ lease: LeaseID) async throws -> Int64 {
        try access { state, _ in
            guard state.leases.contains(lease) else { throw StoreFailure.leaseExpired }
            return 10
        }
    }

    func revokeLease(_ lease: LeaseID) async throws {
        try access { state, events in expire(lease, &state, &events) }
    }

    /// A lease running out (a peer killed, or cut off longer than its TTL): everything bound
    /// to it goes.
    func expireLease(_ lease: LeaseID) {
        state.withLock { state in
            var events: [StoreEvent] = []
            expire(lease, &state, &events)
            if !events.isEmpty { publish(events, in: &state) }
        }
    }

    private func expire(_ lease: LeaseID, _ state: inout State, _ events: inout [StoreEvent]) {
        guard state.leases.remove(lease) != nil else { return }
        for (peer, entry) in state.peers where entry.lease == lease {
            state.peers[peer] = nil
            events.append(.cluster(.peerDeleted(peer), revision: nextRevision(state)))
        }
        for (model, copies) in state.copies {
            for (peer, entry) in copies where entry.lease == lease { deleteCopy(model, peer, &state, &events) }
        }
        state.decisions = state.decisions.filter { $0.value.lease != lease }
    }

    func currentRevision() async throws -> Int64 {
        try access { state, _ in state.revision }
    }

    func changed(after revision: Int64, timeout: Duration) async throws -> Bool {
        try access { state, _ in state.history.contains { $0.revision > revision } }
    }

    func vmodel(_ id: ModelID) async throws -> Versioned<VModelRecord> {
        try access { state, _ in
            Versioned(record: state.vmodels[id]?.record, modRevision: state.vmodels[id]?.modRevision ?? 0, readRevision: state.revision)
        }
    }

    func commitVModel(
        _ id: ModelID, expectedRevision: Int64, previous: VModelRecord?, record: VModelRecord?, models: [VModelRules.ModelWrite]
    ) async throws -> Bool {
        try access { state, events in
            guard (state.vmodels[id]?.modRevision ?? 0) == expectedRevision,
                  models.allSatisfy({ (state.models[$0.id]?.modRevision ?? 0) == $0.modRevision }) else { return false }
            if let record {
                state.vmodels[id] = Entry(record: record, modRevision: nextRevision(state))
                events.append(.vmodel(id, record, revision: nextRevision(state)))
                if record.inTransition {
                    state.transitions.insert(id)
                    events.append(.transitionPending(id))
                } else {
                    state.transitions.remove(id)
                }
            } else {
                state.vmodels[id] = nil
                state.transitions.remove(id)
                events.append(.vmodel(id, nil, revision: nextRevision(state)))
            }
            for write in models {
                if let next = write.next { putModel(write.id, next, &state, &events) } else { removeModel(write.id, &state, &events) }
            }
            return true
        }
    }

    func vmodelsInTransition() async throws -> [ModelID] {
        try access { state, _ in state.transitions.sorted() }
    }

    func listVModels(after: ModelID?, limit: Int) async throws -> Page<VModelRecord> {
        try access { state, _ in
            let all = state.vmodels.keys.sorted().filter { after == nil || $0 > after! }
            return Page(items: all.prefix(limit).map { ($0, state.vmodels[$0]!.record) }, more: all.count > limit)
        }
    }

    func putDecision(_ decision: ScalingPolicy.Decision, lease: LeaseID) async throws {
        try access { state, _ in state.decisions[decision.model] = Entry(record: decision, modRevision: state.revision, lease: lease) }
    }

    func decision(of model: ModelID) async throws -> ScalingPolicy.Decision? {
        try access { state, _ in state.decisions[model]?.record }
    }

    func decisions() async throws -> [ScalingPolicy.Decision] {
        try access { state, _ in state.decisions.keys.sorted().map { state.decisions[$0]!.record } }
    }

    func snapshot() async throws -> ClusterSnapshot {
        try access { state, _ in
            var changes: [ClusterView.Change] = []
            for (peer, entry) in state.peers.sorted(by: { $0.key < $1.key }) { changes.append(.peerPut(peer, entry.record)) }
            for (model, copies) in state.copies {
                for (peer, entry) in copies { changes.append(.copyPut(model, peer, entry.record)) }
            }
            for (model, failures) in state.failures {
                for (peer, failure) in failures { changes.append(.failurePut(model, peer, failure)) }
            }
            for (model, count) in state.pinned { changes.append(.pinnedPut(model, minCopies: count)) }
            return ClusterSnapshot(revision: state.revision, changes: changes)
        }
    }

    func changes(after revision: Int64) -> AsyncThrowingStream<StoreBatch, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: StoreBatch.self)
        let id: Int = state.withLock { state in
            for batch in state.history where batch.revision > revision { continuation.yield(batch) }
            state.nextWatcher += 1
            state.watchers[state.nextWatcher] = continuation
            return state.nextWatcher
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}

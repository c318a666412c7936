import EtcdGateway
import MeshCore
import OpenInference

extension PeerNode {
    /// Checks a registration and builds the record, with errors that say what to fix.
    func validateRegistration(_ input: RegisterModelBody) throws(InferenceError) -> (ModelID, ModelRecord) {
        let id: ModelID
        do { id = try ModelID(input.id) } catch { throw .invalidArgument(error.description) }
        guard !input.type.isEmpty else { throw .invalidArgument("model type must not be empty") }
        guard runtimes.runtime(for: input.type) != nil else {
            throw .invalidArgument("unknown model type \"\(TextLimit.clip(input.type))\"; this mesh runs \(runtimes.supportedTypes.joined(separator: ", "))")
        }
        if input.storage != nil && input.storageUri != nil {
            throw .invalidArgument("give either \"storage\" or \"storageUri\", not both")
        }
        let storage = input.storage ?? input.storageUri.map { StorageLocation.uri($0) }
        if let storage { try validate(storage) }
        let minCopies = input.minCopies ?? 0
        guard minCopies >= 0 else { throw .invalidArgument("minCopies must not be negative") }
        if let maxCopies = input.maxCopies {
            guard maxCopies >= 1 else { throw .invalidArgument("maxCopies must be at least 1") }
            guard maxCopies >= minCopies else { throw .invalidArgument("maxCopies (\(maxCopies)) is below minCopies (\(minCopies))") }
        }
        if let hint = input.sizeHintBytes, hint <= 0 { throw .invalidArgument("sizeHintBytes must be positive") }
        if let rate = input.scaleUpRequestsPerSecond, !(rate > 0) { throw .invalidArgument("scaleUpRequestsPerSecond must be positive") }
        for label in input.labels ?? [] where label.isEmpty || label.contains(",") {
            throw .invalidArgument("label \"\(TextLimit.clip(label))\" must be non-empty and without commas")
        }
        let record = ModelRecord(
            type: input.type, storage: storage, sizeHintBytes: input.sizeHintBytes, minCopies: minCopies,
            maxCopies: input.maxCopies, labels: input.labels ?? [], scaleUpRequestsPerSecond: input.scaleUpRequestsPerSecond,
            created: .now
        )
        return (id, record)
    }

    /// Storage locations may not climb out of their root, carry credentials or smuggle control
    /// characters.
    func validate(_ location: StorageLocation) throws(InferenceError) {
        do { try location.validate() } catch { throw .invalidArgument("storage: \(error.description)") }
    }

    /// `withScaling`: also read the last scaling decision (one more etcd read; gRPC's status has no place for it).
    func status(of id: ModelID, withScaling: Bool = true) async throws -> ModelStatus {
        let (record, _, revision) = try await etcdCall { try await store.model(id) }
        let layout = store.layout
        guard let record else { throw InferenceError.notFound("model \(id) is not registered") }
        let copies = try await etcdCall { try await etcd.range(.prefix(layout.copies(of: id)), RangeOptions(revision: revision)) }
        let failures = try await etcdCall { try await etcd.range(.prefix(layout.failures(of: id)), RangeOptions(revision: revision)) }
        var copyStatuses: [CopyStatus] = []
        let view = mirror.view
        for kv in copies.kvs {
            guard case .copy(_, let peer) = layout.entry(forKey: kv.keyString),
                  let copy = try? RecordCoding.decode(CopyRecord.self, from: kv.value) else { continue }
            let rate = view.report(for: peer, now: .now, maxAge: .seconds(10))?.rate(of: id)
            copyStatuses.append(CopyStatus(peer: peer.rawValue, state: copy.state.rawValue, since: copy.since, sizeBytes: copy.sizeBytes,
                                           download: copy.download, requestsPerSecond: rate?.perSecond, inFlight: rate?.inFlight))
        }
        var failureStatuses: [FailureStatus] = []
        for kv in failures.kvs {
            guard case .failure(_, let peer) = layout.entry(forKey: kv.keyString),
                  let failure = try? RecordCoding.decode(FailureRecord.self, from: kv.value) else { continue }
            failureStatuses.append(FailureStatus(peer: peer.rawValue, time: failure.time, message: failure.message))
        }
        let status: String
        if copyStatuses.contains(where: { $0.state == "loaded" }) {
            status = "LOADED"
        } else if !copyStatuses.isEmpty {
            status = "LOADING"
        } else if !failureStatuses.isEmpty {
            status = "LOADING_FAILED"
        } else {
            status = "NOT_LOADED"
        }
        let decision = withScaling
            ? try await etcdCall { try await etcd.get(layout.decision(id)) }.flatMap { try? RecordCoding.decode(ScalingPolicy.Decision.self, from: $0.value) }
            : nil
        return ModelStatus(status: status, id: id.rawValue, model: record,
                           copies: copyStatuses.sorted { $0.since > $1.since },
                           failures: failureStatuses.sorted { $0.time > $1.time }, lastScaling: decision)
    }

    /// Changes min/max copies or the scale-up threshold with a compare-and-swap.
    func updateModel(_ id: ModelID, _ input: UpdateModelBody) async throws -> ModelRecord {
        for _ in 0..<5 {
            let (current, modRevision, _) = try await etcdCall { try await store.model(id) }
            guard var record = current else { throw InferenceError.notFound("model \(id) is not registered") }
            if let minCopies = input.minCopies {
                guard minCopies >= 0 else { throw InferenceError.invalidArgument("minCopies must not be negative") }
                record.minCopies = minCopies
            }
            if let maxCopies = input.maxCopies {
                guard maxCopies >= 1 else { throw InferenceError.invalidArgument("maxCopies must be at least 1") }
                record.maxCopies = maxCopies
            }
            if let maxCopies = record.maxCopies, maxCopies < record.minCopies {
                throw InferenceError.invalidArgument("maxCopies (\(maxCopies)) is below minCopies (\(record.minCopies))")
            }
            if let rate = input.scaleUpRequestsPerSecond {
                guard rate > 0 else { throw InferenceError.invalidArgument("scaleUpRequestsPerSecond must be positive") }
                record.scaleUpRequestsPerSecond = rate
            }
            if try await etcdCall({ try await store.update(id, record, ifRevision: modRevision) }) { return record }
        }
        throw InferenceError.unavailable("model \(id) kept changing while it was being updated; try again")
    }

    func peerList() -> PeerList {
        let view = mirror.view
        let now = MeshTime.now
        let peers = view.peers.sorted { $0.key < $1.key }.map { id, record -> PeerStatus in
            let holdings = view.holdings(of: id)
            let report = view.report(for: id, now: now, maxAge: .seconds(10))
            return PeerStatus(
                id: id.rawValue, httpAddress: record.httpAddress, grpcAddress: record.grpcAddress, zone: record.zone,
                labels: record.labels, capacityBytes: record.capacityBytes, usedBytes: report?.usedBytes ?? holdings.bytes,
                models: holdings.count, version: record.version, startTime: record.startTime, shuttingDown: record.shuttingDown,
                inFlight: report?.inFlight, reportAgeMillis: report.map { (now - $0.time).milliseconds }
            )
        }
        return PeerList(peers: peers)
    }

    func placement() async throws -> Placement {
        let view = mirror.view
        let now = MeshTime.now
        var entries: [PlacementEntry] = []
        for (model, copies) in view.copies {
            for (peer, copy) in copies {
                let rate = view.report(for: peer, now: now, maxAge: .seconds(10))?.rate(of: model)
                entries.append(PlacementEntry(model: model.rawValue, peer: peer.rawValue, state: copy.state.rawValue, since: copy.since,
                                              sizeBytes: copy.sizeBytes, requestsPerSecond: rate?.perSecond, inFlight: rate?.inFlight))
            }
        }
        entries.sort { ($0.model, $0.peer) < ($1.model, $1.peer) }
        let decisions = try await etcdCall { try await etcd.getAll(prefix: store.layout.decisions).kvs }
            .compactMap { try? RecordCoding.decode(ScalingPolicy.Decision.self, from: $0.value) }
            .sorted { $0.model < $1.model }
        return Placement(revision: view.revision, copies: entries, decisions: decisions)
    }

    /// The repository extension's index: registered models with their state (up to 10,000; the
    /// /v1 API pages through any number).
    func repositoryIndex(readyOnly: Bool) async throws -> [UInt8] {
        let entries = try await repositoryEntries(readyOnly: readyOnly).map { entry -> JSONValue in
            .object([("name", .string(entry.name)), ("state", .string(entry.state)), ("reason", .string(entry.reason))])
        }
        var writer = JSONWriter()
        writer.write(.array(entries))
        return writer.bytes
    }

    struct RepositoryEntry: Sendable, Equatable {
        var name: String
        var state: String
        var reason: String
    }

    /// The index entries, for REST and gRPC alike.
    func repositoryEntries(readyOnly: Bool) async throws -> [RepositoryEntry] {
        let view = mirror.view
        func entry(_ id: ModelID) -> RepositoryEntry? {
            let copies = view.copies(of: id)
            let failures = view.failures(of: id)
            let state: String
            var reason = ""
            if copies.values.contains(where: { $0.state == .loaded }) {
                state = "READY"
            } else if !copies.isEmpty {
                state = "LOADING"
            } else if let failure = failures.values.max(by: { $0.time < $1.time }) {
                state = "UNAVAILABLE"
                reason = failure.message
            } else {
                state = "UNAVAILABLE"
                reason = "not loaded; loads on first request"
            }
            if readyOnly && state != "READY" { return nil }
            return RepositoryEntry(name: id.rawValue, state: state, reason: reason)
        }
        if readyOnly {
            return view.copies.keys.sorted().compactMap(entry)
        }
        let page = try await etcdCall { try await store.listModels(after: nil, limit: 10_000) }
        return page.models.compactMap { entry($0.0) }
    }

    /// Removes every copy of a model (it stays registered and loads again on demand).
    func unloadEverywhere(_ id: ModelID) async throws -> Int64 {
        try await etcdCall { try await store.deleteAllCopies(of: id) }
    }
}

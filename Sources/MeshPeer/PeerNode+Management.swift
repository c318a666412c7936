import MeshCore
import OpenInference

extension PeerNode {
    /// Checks a registration and builds the record (``ModelRegistration``), with errors that say
    /// what to fix.
    func validateRegistration(_ registration: ModelRegistration) throws(MeshError) -> (ModelID, ModelRecord) {
        try registration.validated(types: servedFormats, now: clock.now)
    }

    /// The formats the live peers run (this peer's own even before the mirror shows its record).
    var servedFormats: [String] {
        Array(Set(mirror.view.servedFormats).union(runtimes.supportedTypes)).sorted()
    }

    /// `withScaling`: also read the last scaling decision (one more read; gRPC's status has no place for it).
    func status(of id: ModelID, withScaling: Bool = true) async throws -> ModelStatus {
        let read = try await store.model(id)
        guard let record = read.record else { throw MeshError.notFound("model \(id) is not registered") }
        let placement = try await store.placement(of: id, atRevision: read.readRevision)
        let view = mirror.view
        let now = clock.now
        let copies = placement.copies.map { peer, copy in
            let rate = view.report(for: peer, now: now, maxAge: configuration.reportMaxAge)?.rate(of: id)
            return CopyStatus(peer: peer.rawValue, state: copy.state.rawValue, since: copy.since, sizeBytes: copy.sizeBytes,
                              download: copy.download, requestsPerSecond: rate?.perSecond, inFlight: rate?.inFlight)
        }
        let failures = placement.failures.map { FailureStatus(peer: $0.key.rawValue, time: $0.value.time, message: $0.value.message) }
        let decision = withScaling ? try await store.decision(of: id) : nil
        return ModelStatus(
            status: ModelAvailability(copies: placement.copies.values, recentFailures: placement.failures.count),
            id: id.rawValue, model: record,
            copies: copies.sorted { ($0.since, $0.peer) > ($1.since, $1.peer) },
            failures: failures.sorted { ($0.time, $0.peer) > ($1.time, $1.peer) }, lastScaling: decision
        )
    }

    /// Changes copy limits, the scale-up threshold or tags with a compare-and-swap.
    func updateModel(_ id: ModelID, _ input: UpdateModelBody) async throws -> ModelRecord {
        try await retryingCompareAndSwap("model \(id)") {
            let current = try await store.model(id)
            guard let record = current.record else { throw MeshError.notFound("model \(id) is not registered") }
            let updated = try ModelRegistration.update(record, input.change)
            return try await store.update(id, updated, ifRevision: current.modRevision) ? updated : nil
        }
    }

    func peerList() -> PeerList {
        let view = mirror.view
        let now = clock.now
        let peers = view.peers.sorted { $0.key < $1.key }.map { id, record -> PeerStatus in
            let holdings = view.holdings(of: id)
            let report = view.report(for: id, now: now, maxAge: configuration.reportMaxAge)
            return PeerStatus(
                id: id.rawValue, httpAddress: record.httpAddress, grpcAddress: record.grpcAddress, zone: record.zone,
                labels: record.labels, capacityBytes: record.capacityBytes, usedBytes: report?.usedBytes ?? holdings.bytes,
                models: holdings.count, version: record.version, startTime: record.startTime, shuttingDown: record.shuttingDown,
                inFlight: report?.inFlight, reportAgeMillis: report.map { (now - $0.time).milliseconds },
                thrashEvictionsPerMinute: report?.thrashEvictionsPerMinute,
                capacityToEndThrashingBytes: report?.thrashMissingBytes.map { record.capacityBytes.addingSaturating($0) },
                pools: record.pools.map { pools in
                    pools.map { pool in
                        PoolStatus(name: pool.name, formats: pool.formats, capacityBytes: pool.capacityBytes,
                                   usedBytes: pools.count == 1 ? report?.usedBytes ?? holdings.bytes : report?.poolUsedBytes?[pool.name],
                                   ready: pool.ready)
                    }
                }
            )
        }
        return PeerList(peers: peers)
    }

    func placement() async throws -> Placement {
        let view = mirror.view
        let now = clock.now
        var entries: [PlacementEntry] = []
        for (model, copies) in view.copies {
            for (peer, copy) in copies {
                let rate = view.report(for: peer, now: now, maxAge: configuration.reportMaxAge)?.rate(of: model)
                entries.append(PlacementEntry(model: model.rawValue, peer: peer.rawValue, state: copy.state.rawValue, since: copy.since,
                                              sizeBytes: copy.sizeBytes, requestsPerSecond: rate?.perSecond, inFlight: rate?.inFlight))
            }
        }
        entries.sort { ($0.model, $0.peer) < ($1.model, $1.peer) }
        let decisions = try await store.decisions().sorted { $0.model < $1.model }
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
            let availability = ModelAvailability(id, in: view)
            if readyOnly && availability != .loaded { return nil }
            var reason = ""
            switch availability {
            case .loadingFailed: reason = view.failures(of: id).values.max { $0.time < $1.time }?.message ?? ""
            case .notLoaded: reason = "not loaded; loads on first request"
            case .loaded, .loading: break
            }
            return RepositoryEntry(name: id.rawValue, state: availability.repositoryState, reason: reason)
        }
        if readyOnly {
            return view.copies.keys.sorted().compactMap(entry)
        }
        return try await store.listModels(after: nil, limit: 10_000).items.compactMap { entry($0.0) }
    }

    /// Removes every copy of a model (it stays registered and loads again on demand).
    func unloadEverywhere(_ id: ModelID) async throws -> Int64 {
        try await store.deleteAllCopies(of: id)
    }
}

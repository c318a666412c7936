import EtcdGateway
import Logging
import MeshCore
import OpenInference

/// The routing loop: decides (with MeshCore's ``Router``) where each attempt of a request goes,
/// carries the decision out, and on a refused connection, a "not here", a refusal or a failed
/// load excludes that peer and tries again, within a bounded number of attempts and the
/// request's deadline.
public struct RequestRouter: Sendable {
    public let peerID: PeerID
    let decisions: RoutePlanner
    let mirror: ClusterMirror
    let local: LocalModels
    let health: PeerHealth
    let defaultModelSizeBytes: Int64
    let maxAttempts: Int
    let logger: Logger

    public init(peerID: PeerID, decisions: RoutePlanner, mirror: ClusterMirror, local: LocalModels, health: PeerHealth,
                defaultModelSizeBytes: Int64, maxAttempts: Int = 8, logger: Logger) {
        self.peerID = peerID
        self.decisions = decisions
        self.mirror = mirror
        self.local = local
        self.health = health
        self.defaultModelSizeBytes = defaultModelSizeBytes
        self.maxAttempts = maxAttempts
        self.logger = logger
    }

    /// Resolves a name a client used: a model id, or a vmodel id (its active model).
    public func resolve(_ name: String) async throws -> ModelID {
        let id: ModelID
        do {
            id = try ModelID(name)
        } catch {
            throw InferenceError.invalidArgument(error.description)
        }
        do {
            if try await mirror.model(id) != nil { return id }
            if let vmodel = try await mirror.vmodel(id) { return vmodel.activeModel }
        } catch let error as EtcdError {
            throw InferenceError.unavailable("cannot look up \(id): \(error)")
        }
        throw InferenceError.notFound("model \(id) is not registered")
    }

    /// Routes `call` for `model`. For hops from other peers (`hop` not `.external`) there is one
    /// attempt, and a failure is thrown as ``RouteDecline`` for the sender to act on.
    public func route<Call: RoutedCall>(
        _ call: Call, model: ModelID, hop: Hop, excluded initial: Set<PeerID>, deadline: ContinuousClock.Instant
    ) async throws -> Call.Reply {
        var excluded = initial.union(health.unreachable)
        var problems: [String] = []
        var random = SystemRandomNumberGenerator()
        // A hop from a peer gets one decision, plus the serve that follows a load.
        let attempts = hop == .external ? maxAttempts : 2
        for _ in 0..<attempts {
            guard ContinuousClock.now < deadline else { break }
            let record: ModelRecord
            do {
                guard let found = try await mirror.model(model) else {
                    throw InferenceError.notFound("model \(model) is not registered")
                }
                record = found
            } catch let error as EtcdError {
                throw InferenceError.unavailable("cannot look up \(model): \(error)")
            }
            let view = mirror.view
            let snapshot = local.snapshot
            let decision = decisions.decide(
                RoutePlanner.Request(model: model, record: record, hop: hop, excluded: excluded, sizeBytes: sizeEstimate(model, record, view)),
                local: RoutePlanner.Local(peer: peerID, copy: local.state(of: model), inFlight: snapshot.inFlight, outstanding: health.outstanding),
                view: view, now: .now, using: &random
            )
            switch decision {
            case .serveLocally:
                do {
                    let loaded = try await local.acquire(model, until: deadline)
                    do {
                        let reply = try await call.serve(loaded, modelID: model)
                        await local.release(model)
                        return reply
                    } catch {
                        await local.release(model)
                        throw error
                    }
                } catch let error as LocalError {
                    if hop != .external { throw decline(error, revision: view.revision) }
                    excluded.insert(peerID)
                    problems.append(error.description)
                }

            case .forward(let target, let hopType):
                guard let peerRecord = view.peers[target] else {
                    excluded.insert(target)
                    continue
                }
                do {
                    let result = try await health.trackOutstanding(at: target) {
                        try await call.forward(to: target, at: peerRecord, hop: hopType, modelID: model, excluded: excluded, deadline: deadline)
                    }
                    switch result {
                    case .served(let reply):
                        return reply
                    case .declined(let declined):
                        excluded.insert(target)
                        if declined.outcome != .notHere { problems.append("\(target): \(declined.message)") }
                        if let revision = declined.revision { await mirror.waitFor(revision: revision, timeout: .milliseconds(500)) }
                    }
                } catch let error as PeerUnreachable {
                    excluded.insert(target)
                    if error.refused { health.markUnreachable(target) }
                    problems.append(error.description)
                    logger.info("peer unreachable; trying elsewhere", metadata: ["peer": "\(target)", "model": "\(model)", "reason": "\(error.reason)"])
                }

            case .loadLocally:
                do {
                    try await local.load(model, record: record, decidedAt: view.revision)
                } catch let error as LocalError {
                    if case .lostRace(_, _, let revision) = error {
                        if hop != .external { throw decline(error, revision: revision) }
                        await mirror.waitFor(revision: revision, timeout: .milliseconds(500))
                        continue
                    }
                    if case .unregistered = error { throw InferenceError.notFound("model \(model) is not registered") }
                    if hop != .external { throw decline(error, revision: view.revision) }
                    excluded.insert(peerID)
                    problems.append(error.description)
                } catch let error as EtcdError {
                    if hop != .external { throw RouteDecline(.unavailable, "cannot claim a copy: \(error)") }
                    throw InferenceError.unavailable("cannot claim a copy of \(model) in etcd: \(error)")
                }

            case .notHere:
                throw RouteDecline(.notHere, "\(model) is not loaded on \(peerID)", revision: view.revision)

            case .fail(let failure):
                if hop != .external { throw RouteDecline(.loadFailed, failure.description, revision: view.revision) }
                throw InferenceError.unavailable(failure.description + (problems.isEmpty ? "" : " (tried: \(problems.joined(separator: "; ")))"))
            }
        }
        if hop != .external {
            throw RouteDecline(.unavailable, problems.isEmpty ? "\(model) could not be served on \(peerID)" : problems.joined(separator: "; "))
        }
        if ContinuousClock.now >= deadline {
            throw InferenceError.deadlineExceeded("the deadline passed before \(model) could be served" + (problems.isEmpty ? "" : ": \(problems.joined(separator: "; "))"))
        }
        throw InferenceError.unavailable("\(model) could not be served after \(attempts) attempts: \(problems.joined(separator: "; "))")
    }

    private func decline(_ error: LocalError, revision: Int64) -> RouteDecline {
        switch error {
        case .notHere, .removed, .lostRace: return RouteDecline(.notHere, error.description, revision: revision)
        case .loadFailed: return RouteDecline(.loadFailed, error.description, revision: revision)
        case .refused, .unregistered, .shuttingDown: return RouteDecline(.unavailable, error.description, revision: revision)
        }
    }

    /// The size to plan with: the registration's hint, else a measured size of a copy elsewhere.
    func sizeEstimate(_ model: ModelID, _ record: ModelRecord, _ view: ClusterView) -> Int64 {
        view.plannedSize(of: model, record: record, defaultBytes: defaultModelSizeBytes)
    }
}

import Logging
import MeshCore
import OpenInference

/// Creates, changes and deletes vmodels for both management APIs (REST `/v1/vmodels` and gRPC
/// `mmesh.ModelMesh`). Every change is one compare-and-swap transaction over the vmodel and the
/// models whose references it changes; a lost race re-reads and decides again.
struct VModelManager: Sendable {
    let store: any MeshStore
    let mirror: ClusterMirror
    let router: RequestRouter
    let transitions: VModelTransitions
    let loads: BackgroundWork
    let forwarder: PeerForwarder
    let peerID: PeerID
    let logger: Logger

    struct SetOptions: Sendable {
        /// Load the target now (a new or unchanged vmodel), even if nothing asks for it yet.
        var loadNow = false
        /// Answer once the transition (or, with `loadNow`, the load) has finished.
        var sync = false
        var deadline: ContinuousClock.Instant
    }

    struct SetOutcome: Sendable {
        var record: VModelRecord
        var created: Bool
    }

    /// Points `request.vmodel` at `request.target`, registering the target from `newTarget`
    /// when it does not exist.
    func set(_ request: VModelRules.SetRequest, newTarget: ModelRecord?, options: SetOptions) async throws -> SetOutcome {
        try await retryingCompareAndSwap("vmodel \(request.vmodel)") { () async throws -> SetOutcome? in
            let current = try await store.vmodel(request.vmodel)
            let target = try await store.model(request.target)
            let targetState: VModelRules.TargetState
            if let existing = target.record {
                if let newTarget, !existing.sameSource(as: newTarget) {
                    throw MeshError.alreadyExists("target model \(request.target) already exists with a different definition")
                }
                targetState = .registered
            } else {
                targetState = newTarget == nil ? .missing : .created
            }
            let view = mirror.view
            let activeCopies = current.record.map { view.copies(of: $0.activeModel).count } ?? 0
            let targetLoaded = view.copies(of: request.target).values.filter { $0.state == .loaded }.count
            let change = try VModelRules.set(request, current: current.record, target: targetState,
                                             activeCopies: activeCopies, targetLoadedCopies: targetLoaded, now: .now)
            guard let record = change.record else {
                // Nothing to write; `current` exists (else the change would create it).
                return try await settle(request.vmodel, current.record!, created: false, options: options)
            }
            var models = [request.target: target]
            for model in change.references.keys where model != request.target { models[model] = try await store.model(model) }
            let writes = VModelRules.modelWrites(
                change.references, models: models, created: newTarget.map { (request.target, $0) },
                retired: record.autoDeleteOldModel ? Set(change.released) : []
            )
            guard try await store.commitVModel(request.vmodel, expectedRevision: current.modRevision, previous: current.record,
                                               record: record, models: writes) else { return nil }
            logChange(request.vmodel, from: current.record, to: record, writes: writes)
            return try await settle(request.vmodel, record, created: current.record == nil, options: options)
        }
    }

    /// After a write: wait for what the new state needs when asked to. A transition is driven
    /// in any case by the peer the watch assigns it to.
    private func settle(_ vmodel: ModelID, _ record: VModelRecord, created: Bool, options: SetOptions) async throws -> SetOutcome {
        let id = record.activeModel
        if record.inTransition {
            if options.sync {
                let outcome = await transitions.drive(vmodel, until: options.deadline, returnOnFailureMark: true)
                logger.debug("transition driven for a synchronous request", metadata: ["vmodel": "\(vmodel)", "outcome": "\(outcome)"])
                if let latest = try await store.vmodel(vmodel).record { return SetOutcome(record: latest, created: created) }
            }
        } else if options.loadNow {
            let call = RESTLoadCall(forwarder: forwarder, peerID: peerID)
            if options.sync {
                _ = try await router.route(call, model: id, hop: .external, excluded: [], deadline: options.deadline)
            } else {
                let router = self.router
                let deadline = options.deadline
                try loads.submit("load \(id)") {
                    _ = try? await router.route(call, model: id, hop: .external, excluded: [], deadline: deadline)
                }
            }
        }
        return SetOutcome(record: record, created: created)
    }

    /// Deletes a vmodel (a no-op when absent, or when `owner` is given and differs) and releases
    /// its models. Returns whether a vmodel was deleted.
    func delete(_ id: ModelID, owner: String) async throws -> Bool {
        try await retryingCompareAndSwap("vmodel \(id)") { () async throws -> Bool? in
            let current = try await store.vmodel(id)
            guard let record = current.record, owner.isEmpty || record.owner == owner else { return false }
            let references = VModelRules.delete(record)
            var models: [ModelID: Versioned<ModelRecord>] = [:]
            for model in references.keys { models[model] = try await store.model(model) }
            let writes = VModelRules.modelWrites(references, models: models)
            guard try await store.commitVModel(id, expectedRevision: current.modRevision, previous: record, record: nil, models: writes) else {
                return nil
            }
            logger.info("vmodel deleted", metadata: ["vmodel": "\(id)", "unregistered": "\(writes.filter { $0.next == nil }.map(\.id.rawValue))"])
            return true
        }
    }

    private func logChange(_ id: ModelID, from old: VModelRecord?, to new: VModelRecord, writes: [VModelRules.ModelWrite]) {
        let unregistered = writes.filter { $0.next == nil }.map(\.id.rawValue)
        if old == nil {
            logger.info("vmodel created", metadata: ["vmodel": "\(id)", "model": "\(new.activeModel)"])
        } else if new.inTransition {
            logger.info("vmodel in transition", metadata: ["vmodel": "\(id)", "active": "\(new.activeModel)", "target": "\(new.targetModel)"])
        } else {
            logger.info("vmodel points at a model", metadata: ["vmodel": "\(id)", "model": "\(new.activeModel)", "unregistered": "\(unregistered)"])
        }
    }
}

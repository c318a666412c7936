/// The rules for vmodels, as pure functions of what etcd holds: what `setVModel` and
/// `deleteVModel` change, and the next step of a transition. The shell reads the records,
/// applies these, and writes the result in one compare-and-swap transaction.
///
/// Every vmodel holds one reference on its active model and, while in transition, one on its
/// target. A model with references cannot be unregistered; one whose references drop to zero is
/// unregistered automatically if it was created for a vmodel (`ModelRecord.autoDelete`) or the
/// vmodel asked to retire its old models (`VModelRecord.autoDeleteOldModel`).
public enum VModelRules {
    public struct SetRequest: Sendable, Equatable {
        public var vmodel: ModelID
        /// Empty: no owner given.
        public var owner: String
        public var target: ModelID
        /// Fail instead of creating a missing vmodel.
        public var updateOnly: Bool
        /// Switch at once, whatever the target's state.
        public var force: Bool
        /// Succeed only if the vmodel's current target is this.
        public var expectedTarget: ModelID?
        /// Set `autoDeleteOldModel` on the record (nil: keep the current value).
        public var autoDeleteOldModel: Bool?
        /// Replace the record's tags (nil: keep them).
        public var tags: [String: String]?

        public init(vmodel: ModelID, owner: String = "", target: ModelID, updateOnly: Bool = false, force: Bool = false,
                    expectedTarget: ModelID? = nil, autoDeleteOldModel: Bool? = nil, tags: [String: String]? = nil) {
            self.vmodel = vmodel
            self.owner = owner
            self.target = target
            self.updateOnly = updateOnly
            self.force = force
            self.expectedTarget = expectedTarget
            self.autoDeleteOldModel = autoDeleteOldModel
            self.tags = tags
        }
    }

    /// The target model as etcd holds it when the request is decided.
    public enum TargetState: Sendable, Equatable {
        /// Not registered and no model info to create it.
        case missing
        /// Not registered; the request creates it.
        case created
        /// Registered (and, when the request carried model info, with the same definition).
        case registered
    }

    /// The outcome of `setVModel`: the record to write (nil when nothing changes) and the
    /// reference count changes on models.
    public struct Change: Sendable, Equatable {
        public var record: VModelRecord?
        public var references: [ModelID: Int]
        /// The models this vmodel stops referring to, which may be retired.
        public var released: [ModelID]

        public init(record: VModelRecord?, references: [ModelID: Int] = [:], released: [ModelID] = []) {
            self.record = record
            self.references = references
            self.released = released
        }
    }

    /// Decides `setVModel`. `activeCopies` is the number of copies of the current active model;
    /// `targetLoadedCopies` the loaded copies of the requested target.
    public static func set(
        _ request: SetRequest, current: VModelRecord?, target: TargetState,
        activeCopies: Int, targetLoadedCopies: Int, now: MeshTime
    ) throws(MeshError) -> Change {
        if let current, !request.owner.isEmpty, current.owner != request.owner {
            throw .alreadyExists("vmodel \(request.vmodel) already exists with a different owner \"\(current.owner)\"")
        }
        if let expected = request.expectedTarget {
            guard let current else {
                if expected != request.target { throw .failedPrecondition("vmodel \(request.vmodel) not found") }
                return try create(request, target: target, now: now)
            }
            if current.targetModel != expected && current.targetModel != request.target {
                throw .failedPrecondition("the target of vmodel \(request.vmodel) is \(current.targetModel), not the expected \(expected)")
            }
        }
        if target == .missing { throw .notFound("target model \(request.target) not found") }
        guard var record = current else {
            if request.updateOnly { throw .notFound("vmodel \(request.vmodel) not found") }
            return try create(request, target: target, now: now)
        }
        if let autoDelete = request.autoDeleteOldModel { record.autoDeleteOldModel = autoDelete }
        if let tags = request.tags { record.tags = tags.isEmpty ? nil : tags }
        var change = Change(record: nil)
        let previousTarget = record.targetModel
        let active = record.activeModel
        if request.target == previousTarget {
            if request.target == active {
                // Already there; only an owner or flag update to write, if any.
                return record == current ? change : Change(record: stamped(record, now))
            }
            if !request.force {
                // Asked again for the same transition: retry it if it had failed.
                guard record.failed || record != current else { return change }
                record.failed = false
                record.failureMessage = nil
                return Change(record: stamped(record, now))
            }
        } else {
            if previousTarget != active {
                change.references[previousTarget, default: 0] -= 1
                change.released.append(previousTarget)
            }
            if request.target != active { change.references[request.target, default: 0] += 1 }
            record.targetModel = request.target
        }
        record.failed = false
        record.failureMessage = nil
        if record.targetModel != active && (request.force || switchesAtOnce(activeCopies: activeCopies, targetLoadedCopies: targetLoadedCopies)) {
            record.activeModel = record.targetModel
            change.references[active, default: 0] -= 1
            change.released.append(active)
        }
        change.references = change.references.filter { $0.value != 0 }
        change.record = stamped(record, now)
        return change
    }

    private static func create(_ request: SetRequest, target: TargetState, now: MeshTime) throws(MeshError) -> Change {
        if request.updateOnly { throw .notFound("vmodel \(request.vmodel) not found") }
        if target == .missing { throw .notFound("target model \(request.target) not found") }
        let record = VModelRecord(
            activeModel: request.target, targetModel: request.target, owner: request.owner,
            autoDeleteOldModel: request.autoDeleteOldModel ?? false, updated: now, tags: request.tags
        )
        return Change(record: record, references: [request.target: 1])
    }

    /// A new target replaces the active model at once when the active model has no copies, or
    /// the target already has as many loaded copies as the active model has copies.
    public static func switchesAtOnce(activeCopies: Int, targetLoadedCopies: Int) -> Bool {
        activeCopies == 0 || targetLoadedCopies >= activeCopies
    }

    /// Completes a transition: the target becomes active and the old active model is released.
    public static func complete(_ record: VModelRecord, now: MeshTime) -> Change {
        guard record.inTransition else { return Change(record: nil) }
        var next = record
        next.activeModel = record.targetModel
        next.failed = false
        next.failureMessage = nil
        return Change(record: stamped(next, now), references: [record.activeModel: -1], released: [record.activeModel])
    }

    /// Deleting a vmodel releases the models it refers to.
    public static func delete(_ record: VModelRecord) -> [ModelID: Int] {
        var references = [record.activeModel: -1]
        if record.inTransition { references[record.targetModel] = -1 }
        return references
    }

    /// A model's record after its references change by `delta`; nil when it should be
    /// unregistered (no references left, and created for a vmodel or retired by one).
    public static func apply(_ delta: Int, to model: ModelRecord, retireUnreferenced: Bool) -> ModelRecord? {
        var model = model
        model.references = max(0, model.references + delta)
        if model.references == 0 && delta < 0 && (model.autoDelete || retireUnreferenced) { return nil }
        return model
    }

    /// The next step of a transition towards as many loaded target copies as the active model
    /// has copies.
    public enum Step: Sendable, Equatable {
        /// Switch to the target now.
        case complete
        /// Load another copy of the target on a peer that does not hold one.
        case addCopy(excluding: Set<PeerID>)
        /// Copies of the target are loading: wait for them.
        case waitForLoads
        /// The target has no copy and none can be placed.
        case stalled
    }

    /// `placementExhausted`: an attempt to add a copy found no peer to place it on.
    public static func nextStep(activeCopies: [PeerID: CopyRecord], targetCopies: [PeerID: CopyRecord], placementExhausted: Bool) -> Step {
        let wanted = activeCopies.count
        let loaded = targetCopies.values.filter { $0.state == .loaded }.count
        if wanted == 0 || loaded >= wanted { return .complete }
        if targetCopies.count < wanted && !placementExhausted { return .addCopy(excluding: Set(targetCopies.keys)) }
        if loaded < targetCopies.count { return .waitForLoads }
        // As many copies as the mesh could place, all loaded.
        return loaded > 0 ? .complete : .stalled
    }

    /// The peer that re-drives a vmodel's unfinished transition: the highest rendezvous score of
    /// the vmodel's id among live peers, so every peer agrees without talking.
    public static func driver(of vmodel: ModelID, among peers: some Collection<PeerID>) -> PeerID? {
        StableHash.winner(for: vmodel.rawValue, among: peers)
    }

    private static func stamped(_ record: VModelRecord, _ now: MeshTime) -> VModelRecord {
        var record = record
        record.updated = now
        return record
    }
}

// MARK: The model writes a vmodel change needs

extension VModelRules {
    /// One model written in the same transaction as a vmodel: `next` nil unregisters it.
    public struct ModelWrite: Sendable, Equatable {
        public var id: ModelID
        /// The revision the decision was made on (0: the model did not exist).
        public var modRevision: Int64
        public var next: ModelRecord?

        public init(id: ModelID, modRevision: Int64, next: ModelRecord?) {
            self.id = id
            self.modRevision = modRevision
            self.next = next
        }
    }

    /// The model records a change of reference counts writes, in id order. `models` holds each
    /// model as read (a missing model is skipped, unless `created` gives the record the change
    /// registers); `retired` names the models to unregister once unreferenced.
    public static func modelWrites(
        _ references: [ModelID: Int], models: [ModelID: Versioned<ModelRecord>],
        created: (id: ModelID, record: ModelRecord)? = nil, retired: Set<ModelID> = []
    ) -> [ModelWrite] {
        references.sorted { $0.key < $1.key }.compactMap { model, delta in
            let versioned = models[model]
            guard let base = versioned?.record ?? (created?.id == model ? created?.record : nil) else { return nil }
            return ModelWrite(id: model, modRevision: versioned?.modRevision ?? 0,
                              next: apply(delta, to: base, retireUnreferenced: retired.contains(model)))
        }
    }
}

// MARK: Driving one transition

extension VModelRules {
    /// What a driver of one transition remembers between steps, and when the transition fails.
    public struct Transition: Sendable, Equatable {
        public let target: ModelID
        /// An attempt to add a copy found no peer to place it on: go on with the copies there are.
        public private(set) var placementExhausted = false
        /// The last problem seen, for the failure message.
        public private(set) var lastProblem: String?

        public init(target: ModelID) {
            self.target = target
        }

        /// The next step, given the copies of the active model and of the target.
        public func next(activeCopies: [PeerID: CopyRecord], targetCopies: [PeerID: CopyRecord]) -> Step {
            nextStep(activeCopies: activeCopies, targetCopies: targetCopies, placementExhausted: placementExhausted)
        }

        /// An attempt to add a copy of the target failed with `error`; returns the message to
        /// fail the transition with, or nil to go on. `holders`: copies of the target before it.
        public mutating func addCopyFailed(_ error: MeshError, holders: Int) -> String? {
            if error.kind == .notFound { return "the target model \(target) is not registered" }
            lastProblem = error.message
            // No copy at all: the transition cannot go on. Some copies: go on with those.
            if holders == 0 { return error.message }
            placementExhausted = true
            return nil
        }

        /// Something else went wrong on the way (the store, the switch); remembered for the message.
        public mutating func noteProblem(_ problem: String) {
            lastProblem = problem
        }

        /// The message when no copy of the target could be placed at all.
        public var stalledMessage: String { lastProblem ?? "no peer can load the target \(target)" }

        /// The message when the transition ran out of time.
        public func timedOutMessage(after limit: Duration) -> String {
            lastProblem ?? "the target \(target) did not load within \(Int(limit.seconds)) s"
        }
    }
}

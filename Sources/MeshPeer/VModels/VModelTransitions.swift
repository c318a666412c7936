import Logging
import MeshCore
import OpenInference
import ServiceLifecycle
import Synchronization

/// Carries vmodel transitions out: loads the target to as many copies as the active model has,
/// then switches the vmodel to it (compare-and-swap) and releases the old model. A target that
/// cannot be loaded leaves the active model serving and the vmodel marked failed.
///
/// There is no central controller. The peer that received a synchronous `setVModel` drives
/// that transition itself; every unfinished transition is also driven by one deterministic peer
/// (the rendezvous choice for the vmodel's id among live peers), which learns of it from the
/// watch and re-drives it after a failure or a crash of whoever drove it before. Two drivers at
/// once are harmless: copies are claimed and the switch is made by compare-and-swap.
final class VModelTransitions: Service, Sendable {
    let peerID: PeerID
    let store: any MeshStore
    let mirror: ClusterMirror
    let router: RequestRouter
    let forwarder: PeerForwarder
    let loadTimeout: Duration
    /// How often the driver looks again at transitions that failed or stalled.
    static let retryInterval: Duration = .seconds(30)
    let logger: Logger
    private let requests: AsyncStream<Request>.Continuation
    private let stream: AsyncStream<Request>
    private let driving = Mutex<Set<ModelID>>([])

    enum Request: Sendable {
        case drive(ModelID)
        /// Look for transitions this peer should drive (start-up, a peer left, periodically).
        case scan
    }

    enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case completed
        case failed(String)
        /// The vmodel is gone, or not in transition (any more).
        case settled
        /// The deadline passed first; the transition goes on.
        case unfinished

        var description: String {
            switch self {
            case .completed: return "completed"
            case .failed(let message): return "failed: \(message)"
            case .settled: return "settled"
            case .unfinished: return "unfinished"
            }
        }
    }

    init(peerID: PeerID, store: any MeshStore, mirror: ClusterMirror, router: RequestRouter, forwarder: PeerForwarder,
         loadTimeout: Duration, logger: Logger) {
        self.peerID = peerID
        self.store = store
        self.mirror = mirror
        self.router = router
        self.forwarder = forwarder
        self.loadTimeout = loadTimeout
        self.logger = logger
        (stream, requests) = AsyncStream.makeStream(of: Request.self)
    }

    /// Reacts to the watch: a new transition, or a change in who drives which.
    func handle(_ event: MirrorEvent) {
        switch event {
        case .transitionPending(let id):
            if isDriver(of: id) { requests.yield(.drive(id)) }
        case .peerRemoved, .resynced:
            requests.yield(.scan)
        default:
            break
        }
    }

    func isDriver(of vmodel: ModelID) -> Bool {
        VModelRules.driver(of: vmodel, among: mirror.view.activePeers) == peerID
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.rescanPeriodically() }
            for await request in stream.cancelOnGracefulShutdown() {
                switch request {
                case .scan:
                    group.addTask { await self.scan() }
                case .drive(let id):
                    guard driving.withLock({ $0.insert(id).inserted }) else { continue }
                    group.addTask {
                        let outcome = await self.drive(id, until: .now + self.loadTimeout * 2, markFailedOnTimeout: true)
                        self.driving.withLock { _ = $0.remove(id) }
                        if outcome != .settled {
                            self.logger.info("vmodel transition driven", metadata: ["vmodel": "\(id)", "outcome": "\(outcome)"])
                        }
                    }
                }
            }
            group.cancelAll()
        }
    }

    private func rescanPeriodically() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: Self.retryInterval)
            } catch {
                return
            }
            requests.yield(.scan)
        }
    }

    private func scan() async {
        guard mirror.isSynced else { return }
        do {
            for id in try await store.vmodelsInTransition() where isDriver(of: id) {
                requests.yield(.drive(id))
            }
        } catch {
            logger.warning("cannot list vmodels in transition", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Driving one transition

    /// Drives the transition of vmodel `id` until it completes, fails, or `deadline` passes.
    /// `returnOnFailureMark`: stop as soon as the record says the transition failed, as another
    /// peer driving it at the same time may decide (a synchronous request wrote it unfailed).
    func drive(_ id: ModelID, until deadline: ContinuousClock.Instant, markFailedOnTimeout: Bool = false,
               returnOnFailureMark: Bool = false) async -> Outcome {
        var transition: VModelRules.Transition?
        while ContinuousClock.now < deadline && !Task.isCancelled {
            let current: Versioned<VModelRecord>
            do {
                current = try await store.vmodel(id)
            } catch {
                transition?.noteProblem("etcd is not available: \(error)")
                try? await Task.sleep(for: .milliseconds(500))
                continue
            }
            guard let record = current.record, record.inTransition else { return .settled }
            if returnOnFailureMark, record.failed { return .failed(record.failureMessage ?? "the transition to \(record.targetModel) failed") }
            if transition?.target != record.targetModel { transition = VModelRules.Transition(target: record.targetModel) }
            let view = mirror.view
            switch transition!.next(activeCopies: view.copies(of: record.activeModel), targetCopies: view.copies(of: record.targetModel)) {
            case .complete:
                do {
                    if try await complete(id, record, revision: current.modRevision) { return .completed }
                } catch {
                    transition?.noteProblem("cannot switch: \(error)")
                    try? await Task.sleep(for: .milliseconds(200))
                }
            case .addCopy(let holders):
                do {
                    let peer = try await router.addCopy(of: record.targetModel, forwarder: forwarder, deadline: min(deadline, .now + loadTimeout))
                    logger.debug("added a copy of a vmodel's target", metadata: ["vmodel": "\(id)", "model": "\(record.targetModel)", "peer": "\(peer)"])
                    let target = record.targetModel
                    await mirror.waitUntil(timeout: .seconds(2)) { $0.copies(of: target).count > holders.count }
                } catch {
                    if let message = transition?.addCopyFailed(MeshError.from(error).error, holders: holders.count) {
                        return await fail(id, record, message)
                    }
                }
            case .waitForLoads:
                let target = record.targetModel, loaded = view.copies(of: target).values.filter { $0.state == .loaded }.count
                await mirror.waitUntil(timeout: .seconds(1)) { view in
                    view.copies(of: target).values.filter { $0.state == .loaded }.count != loaded
                }
            case .stalled:
                return await fail(id, record, transition!.stalledMessage)
            }
        }
        guard markFailedOnTimeout, !Task.isCancelled, let record = try? await store.vmodel(id).record, record.inTransition else { return .unfinished }
        let message = transition?.timedOutMessage(after: loadTimeout * 2)
            ?? VModelRules.Transition(target: record.targetModel).timedOutMessage(after: loadTimeout * 2)
        return await fail(id, record, message)
    }

    /// Switches the vmodel to its target and releases the old model, if nothing changed since
    /// `revision`.
    private func complete(_ id: ModelID, _ record: VModelRecord, revision: Int64) async throws -> Bool {
        let change = VModelRules.complete(record, now: .now)
        guard let next = change.record else { return true }
        var models: [ModelID: Versioned<ModelRecord>] = [:]
        for model in change.references.keys { models[model] = try await store.model(model) }
        let writes = VModelRules.modelWrites(change.references, models: models, retired: record.autoDeleteOldModel ? Set(change.released) : [])
        guard try await store.commitVModel(id, expectedRevision: revision, previous: record, record: next, models: writes) else { return false }
        logger.info("vmodel switched to its target", metadata: [
            "vmodel": "\(id)", "model": "\(next.activeModel)", "previous": "\(record.activeModel)",
            "unregistered": "\(writes.filter { $0.next == nil }.map(\.id.rawValue))",
        ])
        return true
    }

    /// Marks the transition failed (the active model keeps serving); retried later.
    private func fail(_ id: ModelID, _ record: VModelRecord, _ message: String) async -> Outcome {
        for _ in 0..<5 {
            guard let current = try? await store.vmodel(id), let latest = current.record,
                  latest.activeModel == record.activeModel, latest.targetModel == record.targetModel else { return .settled }
            if latest.failed && latest.failureMessage == message { return .failed(message) }
            var next = latest
            next.failed = true
            next.failureMessage = message
            next.updated = .now
            if (try? await store.commitVModel(id, expectedRevision: current.modRevision, previous: latest, record: next, models: [])) == true {
                logger.warning("vmodel transition failed; the active model keeps serving", metadata: [
                    "vmodel": "\(id)", "active": "\(record.activeModel)", "target": "\(record.targetModel)", "error": "\(message)",
                ])
                return .failed(message)
            }
        }
        return .failed(message)
    }
}

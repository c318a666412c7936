import EtcdGateway
import Logging
import MeshCore
import ServiceLifecycle
import Synchronization

/// Carries out MeshCore's ``ScalingPolicy`` for the models this peer decides: every interval it
/// looks at the models it holds and the models with `minCopies`, and for each one whose decider
/// it is, adds copies (each through the request machine's copy addition, first on the peer the
/// policy chose) or removes one (a compare-and-swap that deletes the copy record only if the
/// copies it counted are still there). Every decision is logged with its numbers and kept in
/// the store for `status`.
public final class CopyScaler: Service, Sendable {
    let peerID: PeerID
    let policy: ScalingPolicy
    let interval: Duration
    let reportMaxAge: Duration
    let mirror: ClusterMirror
    let local: LocalModels
    let store: any MeshStore
    /// Adds a copy of a model, first on the given peer (``RequestRouter/addCopy``); returns
    /// where it went.
    let addCopy: @Sendable (ModelID, PeerID) async throws -> PeerID
    /// Whether this peer is registered, and its lease (decisions are bound to it).
    let registration: @Sendable () -> (registered: Bool, lease: LeaseID)
    let clock: any PeerClock
    let logger: Logger
    private let pending = Mutex<Set<ModelID>>([])
    private let states = Mutex<[ModelID: ScalingPolicy.State]>([:])

    public init(peerID: PeerID, policy: ScalingPolicy, interval: Duration, mirror: ClusterMirror,
                local: LocalModels, store: any MeshStore, addCopy: @escaping @Sendable (ModelID, PeerID) async throws -> PeerID,
                registration: @escaping @Sendable () -> (registered: Bool, lease: LeaseID), clock: any PeerClock, logger: Logger) {
        self.peerID = peerID
        self.policy = policy
        self.interval = interval
        self.reportMaxAge = policy.placement.reportMaxAge
        self.mirror = mirror
        self.local = local
        self.store = store
        self.addCopy = addCopy
        self.registration = registration
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.interval)
                    guard self.registration().registered else { continue }
                    for (decision, revision) in await self.tick() {
                        group.addTask { await self.carryOut(decision, decidedAt: revision) }
                    }
                }
            }
        }
    }

    /// One round of decisions, each with the view revision it was made on; the models decided
    /// are pending until carried out.
    func tick() async -> [(ScalingPolicy.Decision, Int64)] {
        let now = clock.now
        let view = mirror.view
        guard view.peers[peerID].map({ !$0.shuttingDown }) ?? false else { return [] }
        let ownRates = local.modelRates(now: now)
        let models = policy.modelsToDecide(held: local.heldModels.keys, view: view, me: peerID)
        states.withLock { states in states = states.filter { models.contains($0.key) } }
        var decisions: [(ScalingPolicy.Decision, Int64)] = []
        for model in models where !pending.withLock({ $0.contains(model) }) {
            guard let record = try? await mirror.model(model) else { continue }
            let rates = view.holderRates(of: model, me: peerID, own: ownRates[model], now: now, maxAge: reportMaxAge)
            let previous = states.withLock { $0[model] }
            let (decision, state) = policy.decide(model: model, record: record, view: view, rates: rates, state: previous, now: now)
            states.withLock { $0[model] = state }
            guard let decision else { continue }
            pending.withLock { _ = $0.insert(model) }
            logger.info("copy scaling", metadata: [
                "model": "\(model)", "action": "\(decision.action)", "peers": "\(decision.peers.map(\.rawValue))",
                "copies": "\(decision.copiesBefore)", "requests_per_second": "\(decision.totalRequestsPerSecond)", "reason": "\(decision.reason)",
            ])
            decisions.append((decision, view.revision))
        }
        return decisions
    }

    /// Carries a decision out; the model is no longer pending afterwards.
    func carryOut(_ decision: ScalingPolicy.Decision, decidedAt revision: Int64) async {
        defer { pending.withLock { _ = $0.remove(decision.model) } }
        try? await store.putDecision(decision, lease: registration().lease)
        switch decision.action {
        case .add:
            await withTaskGroup(of: Void.self) { group in
                for target in decision.peers {
                    group.addTask { await self.add(decision.model, preferring: target) }
                }
            }
        case .remove:
            guard let victim = decision.peers.first else { return }
            await remove(decision.model, from: victim, decidedAt: revision)
        }
    }

    /// Adds a copy, on `target` if it still can take one (it claims the copy, so a race with
    /// another copy loses), else wherever placement says.
    private func add(_ model: ModelID, preferring target: PeerID) async {
        do {
            let peer = try await addCopy(model, target)
            if peer != target { logger.info("scale-up copy placed elsewhere", metadata: ["model": "\(model)", "chosen": "\(target)", "peer": "\(peer)"]) }
        } catch {
            logger.info("scale-up load failed", metadata: ["model": "\(model)", "peer": "\(target)", "error": "\(error)"])
        }
    }

    /// Deletes `victim`'s copy record if no copy of the model changed since the decision and every
    /// other copy it counted still exists; the holder sees the record go and unloads.
    private func remove(_ model: ModelID, from victim: PeerID, decidedAt revision: Int64) async {
        let others = mirror.view.copies(of: model).keys.filter { $0 != victim }
        do {
            if try await !store.removeCopy(model, from: victim, keeping: Array(others), ifUnchangedSince: revision) {
                logger.info("scale-down skipped: the copies changed meanwhile", metadata: ["model": "\(model)", "peer": "\(victim)"])
            }
        } catch {
            logger.warning("scale-down failed", metadata: ["model": "\(model)", "peer": "\(victim)", "error": "\(error)"])
        }
    }
}

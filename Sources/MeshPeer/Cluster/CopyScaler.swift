import AsyncHTTPClient
import EtcdGateway
import Logging
import MeshCore
import NIOCore
import ServiceLifecycle
import Synchronization

/// Carries out MeshCore's ``ScalingPolicy`` for the models this peer decides: every interval it
/// looks at the models it holds and the models with `minCopies`, and for each one whose decider
/// it is, adds copies (a load-local hop to each chosen peer, which claims the copy in etcd) or
/// removes one (a transaction that deletes the copy record only if the copies it counted are
/// still there). Every decision is logged with its numbers and kept in `decisions/<model>`.
public final class CopyScaler: Service, Sendable {
    let peerID: PeerID
    let policy: ScalingPolicy
    let interval: Duration
    let loadTimeout: Duration
    let mirror: ClusterMirror
    let local: LocalModels
    let store: MeshStore
    let membership: Membership
    let http: HTTPClient
    let logger: Logger
    private let pending = Mutex<Set<ModelID>>([])

    public init(peerID: PeerID, policy: ScalingPolicy, interval: Duration, loadTimeout: Duration, mirror: ClusterMirror,
                local: LocalModels, store: MeshStore, membership: Membership, http: HTTPClient, logger: Logger) {
        self.peerID = peerID
        self.policy = policy
        self.interval = interval
        self.loadTimeout = loadTimeout
        self.mirror = mirror
        self.local = local
        self.store = store
        self.membership = membership
        self.http = http
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                var states: [ModelID: ScalingPolicy.State] = [:]
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.interval)
                    guard self.membership.isRegistered else { continue }
                    await self.tick(states: &states, group: &group)
                }
            }
        }
    }

    private func tick(states: inout [ModelID: ScalingPolicy.State], group: inout DiscardingTaskGroup) async {
        let now = MeshTime.now
        let view = mirror.view
        guard view.peers[peerID].map({ !$0.shuttingDown }) ?? false else { return }
        let ownRates = await local.modelRates(now: now)
        let candidates = Set(local.heldModels.keys).union(view.pinned.keys)
        states = states.filter { candidates.contains($0.key) }
        for model in candidates where policy.decider(for: model, view: view) == peerID {
            guard !pending.withLock({ $0.contains(model) }) else { continue }
            guard let record = try? await mirror.model(model) else { continue }
            let rates = view.holderRates(of: model, me: peerID, own: ownRates[model], now: now, maxAge: .seconds(5))
            let (decision, state) = policy.decide(model: model, record: record, view: view, rates: rates, state: states[model], now: now)
            states[model] = state
            guard let decision else { continue }
            pending.withLock { _ = $0.insert(model) }
            logger.info("copy scaling", metadata: [
                "model": "\(model)", "action": "\(decision.action)", "peers": "\(decision.peers.map(\.rawValue))",
                "copies": "\(decision.copiesBefore)", "requests_per_second": "\(decision.totalRequestsPerSecond)", "reason": "\(decision.reason)",
            ])
            group.addTask {
                await self.carryOut(decision, view: view)
                self.pending.withLock { _ = $0.remove(decision.model) }
            }
        }
    }

    private func carryOut(_ decision: ScalingPolicy.Decision, view: ClusterView) async {
        _ = try? await store.etcd.put(store.layout.decision(decision.model), value: try RecordCoding.encode(decision), lease: membership.lease)
        switch decision.action {
        case "add":
            await withTaskGroup(of: Void.self) { group in
                for target in decision.peers {
                    guard let address = view.peers[target]?.httpAddress else { continue }
                    group.addTask { await self.load(decision.model, on: target, at: address) }
                }
            }
        default:
            guard let victim = decision.peers.first else { return }
            await remove(decision.model, from: victim, view: view)
        }
    }

    /// Asks `target` to load a copy (it claims it in etcd, so a race with another copy loses).
    private func load(_ model: ModelID, on target: PeerID, at address: String) async {
        var request = HTTPClientRequest(url: "http://\(address)/v2/repository/models/\(model.rawValue)/load")
        request.method = .POST
        request.headers.add(name: MeshHeaders.hop, value: Hop.loadLocal.rawValue)
        request.headers.add(name: MeshHeaders.timeoutMillis, value: String(loadTimeout.milliseconds))
        do {
            let response = try await http.execute(request, timeout: .milliseconds(loadTimeout.milliseconds + 1000))
            let body = try await response.body.collect(upTo: 1 << 20)
            if response.status != .ok {
                logger.info("scale-up load declined", metadata: ["model": "\(model)", "peer": "\(target)", "answer": "\(String(buffer: body))"])
            }
        } catch {
            logger.info("scale-up load failed", metadata: ["model": "\(model)", "peer": "\(target)", "error": "\(error)"])
        }
    }

    /// Deletes `victim`'s copy record if no copy of the model changed since the decision and every
    /// other copy it counted still exists; the holder sees the record go and unloads.
    private func remove(_ model: ModelID, from victim: PeerID, view: ClusterView) async {
        let layout = store.layout
        let others = view.copies(of: model).keys.filter { $0 != victim }
        let compares = [Compare.unchangedSince(.prefix(layout.copies(of: model)), revision: view.revision), .present(layout.copy(model, on: victim))]
            + others.map { Compare.present(layout.copy(model, on: $0)) }
        do {
            let result = try await store.etcd.txn(Txn(if: compares, then: [.delete(.key(layout.copy(model, on: victim)))]))
            if !result.succeeded {
                logger.info("scale-down skipped: the copies changed meanwhile", metadata: ["model": "\(model)", "peer": "\(victim)"])
            }
        } catch {
            logger.warning("scale-down failed", metadata: ["model": "\(model)", "peer": "\(victim)", "error": "\(error)"])
        }
    }
}

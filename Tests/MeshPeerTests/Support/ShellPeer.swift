import EtcdGateway
import Logging
import MeshCore
@testable import MeshPeer
import ModelRuntimes
import Synchronization

/// One peer's shell in process (mirror, local models, health, router) over a shared in-memory
/// store, with a manual clock: what the routing and copy tests drive, without etcd or sockets.
struct ShellPeer: Sendable {
    let id: PeerID
    let store: InMemoryMeshStore
    let mirror: ClusterMirror
    let local: LocalModels
    let health: PeerHealth
    let router: RequestRouter
    let runtime: TestRuntime
    let clock: ManualClock
    let lease: LeaseID

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Registers the peer (record under a fresh lease) with `capacity` bytes for models.
    static func make(_ name: String, store: InMemoryMeshStore, clock: ManualClock, capacity: Int64 = 100 << 20,
                     runtime: TestRuntime = TestRuntime(), maxAttempts: Int = 8, churnLimitPerSecond: Double = MeshDefaults.churnLimitPerSecond) async throws -> ShellPeer {
        let id = try PeerID(name)
        let lease = try await store.grantLease(ttl: 10).lease
        let record = PeerRecord(httpAddress: "\(name):1", capacityBytes: capacity, version: "test", startTime: clock.now, instance: name)
        _ = try await store.registerPeer(id, record, lease: lease)
        let mirror = ClusterMirror(store: store, logger: logger)
        var settings = LocalModels.Settings()
        settings.ledger = CopyLedger.Settings(minChurnAge: .seconds(30), defaultModelSizeBytes: 10 << 20, churnLimitPerSecond: churnLimitPerSecond)
        let local = LocalModels(
            peerID: id, pools: [RuntimePool.builtin: capacity], store: store, runtimes: RuntimeRegistry([runtime]), files: NoFiles(),
            settings: settings, metrics: MeshMetrics(perModel: false), clock: clock, logger: logger, lease: { lease }
        )
        let health = PeerHealth()
        // As PeerNode wires them: unregistered models and deleted copy records leave this peer.
        mirror.onEvent { event in local.handle(event, peerRegistered: { true }) }
        let router = RequestRouter(
            peerID: id,
            settings: RequestRoute.Settings(planner: RoutePlanner(placement: PlacementPolicy(minChurnAge: .seconds(30))),
                                            maxAttempts: maxAttempts, defaultModelSizeBytes: 10 << 20),
            mirror: mirror, local: local, health: health, clock: clock, logger: logger
        )
        return ShellPeer(id: id, store: store, mirror: mirror, local: local, health: health, router: router,
                         runtime: runtime, clock: clock, lease: lease)
    }

    /// Runs the peer's services while `body` runs, then stops them.
    func running(_ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await mirror.run() }
            group.addTask { try await local.run() }
            defer { group.cancelAll() }
            try await mirror.waitUntilSynced()
            try await body()
        }
    }
}

/// Registers a synthetic model in the store.
func register(_ name: String, in store: InMemoryMeshStore, sizeHint: Int64? = nil, clock: ManualClock) async throws -> ModelID {
    let id = try ModelID(name)
    _ = try await store.register(id, ModelRecord(type: "synthetic", storage: .uri("file:///\(name)"), sizeHintBytes: sizeHint, created: clock.now))
    return id
}

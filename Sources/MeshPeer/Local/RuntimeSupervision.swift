import Logging
import MeshCore
import ModelRuntimes
import ServiceLifecycle

/// Watches the runtime servers beside the peer (each one's ``RuntimeServer/supervise(_:)``) and
/// carries out what they report: a server lost takes its copies with it and its pool closes in
/// the peer's record (nothing is placed there); a server ready again (purged) opens its pool with
/// the budget it reported.
struct RuntimeSupervision: Service {
    let runtimes: RuntimeRegistry
    let builtinCapacity: Int64
    let local: LocalModels
    let membership: Membership
    let logger: Logger

    var servers: [any RuntimeServer] { runtimes.runtimes.compactMap { $0 as? any RuntimeServer } }

    func run() async throws {
        let servers = self.servers
        // A service that returns early stops the peer: without servers, it waits for the end.
        guard !servers.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for server in servers {
                group.addTask {
                    await server.supervise { event in await handle(event, of: server) }
                }
            }
            // The servers are watched until the peer stops.
            group.addTask { try? await gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
    }

    private func handle(_ event: RuntimeServerEvent, of server: any RuntimeServer) async {
        switch event {
        case .ready(let capacity):
            local.setCapacity(capacity, of: server.pool)
        case .lost:
            await local.poolLost(server.pool)
        }
        await publishPools()
    }

    /// Rewrites the peer's record with every pool's readiness and budget now.
    private func publishPools() async {
        let pools = runtimes.pools(builtinCapacity: builtinCapacity)
        do {
            try await membership.update { $0.publish(pools) }
        } catch {
            logger.warning("could not publish the runtime pools; peers see the change when the record is next written", metadata: ["error": "\(error)"])
        }
    }
}

import Logging
import MeshCore
import ServiceLifecycle

/// Runs ``LocalModels/auditCopyRecords(recorded:)`` every interval while the peer is registered
/// and its view of the cluster is in, so copy records in etcd converge on what the peer holds
/// after partitions, timed-out claims and missed events.
final class CopyAuditor: Service, Sendable {
    let peerID: PeerID
    let interval: Duration
    let local: LocalModels
    let mirror: ClusterMirror
    let registered: @Sendable () -> Bool

    init(peerID: PeerID, interval: Duration, local: LocalModels, mirror: ClusterMirror, registered: @escaping @Sendable () -> Bool) {
        self.peerID = peerID
        self.interval = interval
        self.local = local
        self.mirror = mirror
        self.registered = registered
    }

    func run() async throws {
        guard interval > .zero else { return }
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: self.interval)
                // Unregistered (cut off from etcd, or leaving): the records are not ours to fix.
                guard self.mirror.isSynced, self.registered() else { continue }
                let view = self.mirror.view
                guard view.peers[self.peerID] != nil else { continue }
                await self.local.auditCopyRecords(recorded: view.holdings[self.peerID]?.models ?? [])
            }
        }
    }
}

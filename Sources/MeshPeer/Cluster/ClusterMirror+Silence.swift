import MeshCore

/// The mirror's watch found stuck: etcd moved past what the watch delivered.
struct WatchWentSilent: Error {
    var mirrorRevision: Int64
    var storeRevision: Int64
}

extension ClusterMirror {
    /// Applies the store's changes after `revision`, and, when checking is on, checks the watch
    /// beside it; returns (or throws) when either ends, so the mirror reads everything again.
    func follow(from revision: Int64) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await batch in self.store.changes(after: revision) { self.apply(batch) }
            }
            if watchCheckInterval > .zero {
                group.addTask { try await self.watchForSilence(every: self.watchCheckInterval) }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Finds a watch that stopped delivering without its connection closing (a half-open
    /// connection, a frozen etcd member), which would leave routing on a stale view while
    /// keep-alives and reads fail over and the peer looks healthy.
    ///
    /// Every interval it reads etcd's revision through the request path. When the mirror has not
    /// reached the revision read one interval earlier, a short second watch replays history from
    /// the mirror's revision: anything in it means the main watch missed it (the mirror then
    /// reads everything again); nothing means the revisions were other keys' (a shared etcd),
    /// and the mirror counts as having seen them.
    func watchForSilence(every interval: Duration) async throws {
        var earlier: Int64?
        while true {
            try await Task.sleep(for: interval)
            let seen = view.revision
            if let earlier, seen < earlier {
                if try await store.changed(after: seen, timeout: min(interval, .seconds(2))) {
                    throw WatchWentSilent(mirrorRevision: seen, storeRevision: earlier)
                }
                advance(to: earlier)
            }
            // Unreachable etcd: nothing to compare; keep-alives and readiness handle that.
            earlier = try? await store.currentRevision()
        }
    }
}

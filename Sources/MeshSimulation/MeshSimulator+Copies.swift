import MeshCore

/// Loading, finishing and dropping copies, as `LocalModels` does on a real peer: the ledger
/// decides, the simulator writes the copy records a peer would write.
extension MeshSimulator {
    enum LoadStart { case started, present, refused }

    /// Claims a copy of `model` on `slot`: admission by ``LocalCache`` (evicting LRU models, or
    /// refusing under the churn guard), the copy record in state `loading`, and the load's end
    /// scheduled after the model's load time.
    mutating func startLoad(_ model: Int32, at slot: Int32, forScaler: Bool) -> LoadStart {
        let index = Int(slot)
        let id = catalog.ids[Int(model)]
        guard peers[index].cache.entry(id) == nil else { return .present }
        let size = catalog.records[Int(model)].sizeHintBytes ?? peers[index].measuredSizes[model] ?? configuration.defaultModelBytes
        let busy = peers[index].busyModels
        switch peers[index].cache.admit(id, sizeBytes: size, now: now, minChurnAge: configuration.minChurnAge, busy: busy) {
        case .admitted(let victims):
            for victim in victims {
                dropCopy(catalog.index(of: victim), at: slot)
                statistics.evictions += 1
            }
            peers[index].held.insert(model)
            apply(.copyPut(id, peers[index].id, CopyRecord(state: .loading, since: now, sizeBytes: size)))
            loadTokens += 1
            peers[index].loads[model] = PendingLoad(token: loadTokens, waiters: [])
            events.schedule(.loadFinished(peer: slot, model: model, token: loadTokens), at: clock + catalog.loadMillis[Int(model)])
            if forScaler { statistics.scalerLoads += 1 } else { statistics.requestLoads += 1 }
            return .started
        case .alreadyPresent:
            return .present
        case .wouldChurn:
            statistics.refusedByChurnGuard += 1
            return .refused
        case .tooLarge, .noRoom:
            statistics.refusedForRoom += 1
            return .refused
        }
    }

    /// The load ends: the ledger learns the true size (evicting if the estimate was low), the
    /// copy record turns `loaded`, and the requests waiting for it are served.
    mutating func finishLoad(_ model: Int32, at slot: Int32, token: UInt64) {
        let index = Int(slot)
        guard peers[index].alive, let pending = peers[index].loads[model], pending.token == token else { return }
        peers[index].loads[model] = nil
        let id = catalog.ids[Int(model)]
        let size = catalog.sizes[Int(model)]
        if catalog.records[Int(model)].sizeHintBytes == nil { peers[index].measuredSizes[model] = size }
        peers[index].cache.markLoaded(id, now: now)
        let victims = peers[index].cache.resize(id, to: size, now: now, busy: peers[index].busyModels)
        for victim in victims {
            dropCopy(catalog.index(of: victim), at: slot)
            statistics.resizeEvictions += 1
        }
        apply(.copyPut(id, peers[index].id, CopyRecord(state: .loaded, since: now, sizeBytes: size)))
        for waiter in pending.waiters {
            serve(waiter, at: slot, fromLoadedCopy: false)
        }
    }

    /// A copy the ledger has already let go of: its record goes from etcd.
    mutating func dropCopy(_ model: Int32, at slot: Int32) {
        let index = Int(slot)
        peers[index].held.remove(model)
        apply(.copyDeleted(catalog.ids[Int(model)], peers[index].id))
    }
}

import MeshCore

/// Copies, through each peer's ``CopyLedger`` as `LocalModels` drives it on a real peer: the
/// ledger decides, the simulator carries out its actions (the copy records a peer would write,
/// loads that take the model's load time, the requests waiting for them).
extension MeshSimulator {
    enum LoadStart {
        case started, present, refused(CopyFailure)
        /// No room now: ask again at this time, or when memory is freed (nil).
        case wait(until: Int64?)
    }

    /// Asks `slot`'s ledger for a copy of `model`; the claim always holds (one view, no races).
    mutating func startLoad(_ model: Int32, at slot: Int32, forScaler: Bool) -> LoadStart {
        let index = Int(slot)
        let id = catalog.ids[Int(model)]
        switch peers[index].ledger.requestLoad(id, record: catalog.records[Int(model)], view: view, now: now) {
        case .present:
            return .present
        case .refused(let failure, let refusal):
            if refusal == .tooLarge { statistics.refusedForRoom += 1 }
            return .refused(failure)
        case .mustWait(let failure, let refusal, let until):
            if refusal == .churnGuard { statistics.refusedByChurnGuard += 1 } else { statistics.refusedForRoom += 1 }
            // The copy scaler does not wait; a request waits (room frees when a request ends).
            if forScaler { return .refused(failure) }
            return .wait(until: until.map { max(clock + 1, ($0 - start).milliseconds) })
        case .claiming(let actions):
            perform(actions, at: slot)
            if forScaler { statistics.scalerLoads += 1 } else { statistics.requestLoads += 1 }
            return .started
        }
    }

    /// The load ends: the ledger learns the true size (evicting if the estimate was low), the
    /// copy record turns `loaded`, and the requests waiting for it are served.
    mutating func finishLoad(_ model: Int32, at slot: Int32, token: UInt64) {
        let index = Int(slot)
        guard peers[index].alive else { return }
        let actions = peers[index].ledger.loadSucceeded(
            catalog.ids[Int(model)], token: token, instance: (), sizeBytes: catalog.sizes[Int(model)], download: nil, now: now
        )
        perform(actions, at: slot)
        wakeRoomWaiters(slot)
    }

    /// Carries out a ledger's actions on `slot`.
    mutating func perform(_ actions: [CopyLedger<Void>.Action], at slot: Int32) {
        let index = Int(slot)
        for action in actions {
            switch action {
            case .claim(let model, let record, _, let token):
                apply(.copyPut(model, peers[index].id, record))
                perform(peers[index].ledger.claimSucceeded(model, token: token, now: now), at: slot)
            case .startLoad(let model, _, let token):
                let position = catalog.index(of: model)
                events.schedule(.loadFinished(peer: slot, model: position, token: token), at: clock + catalog.loadMillis[Int(position)])
            case .putRecord(let model, let record):
                apply(.copyPut(model, peers[index].id, record))
            case .deleteRecord(let model):
                apply(.copyDeleted(model, peers[index].id))
            case .settle(let token, let result):
                let waiting = peers[index].waiters.removeValue(forKey: token) ?? []
                for waiter in waiting {
                    switch result {
                    case .success:
                        if let failure = take(waiter, at: slot, afterLoad: true) { fail(waiter, FailureReason(failure)) }
                    case .failure(let failure):
                        fail(waiter, FailureReason(failure))
                    }
                }
            case .evicted(_, _, let cause):
                switch cause {
                case .makingRoom: statistics.evictions += 1
                case .resized: statistics.resizeEvictions += 1
                }
            case .recordFailure, .clearFailure, .unload, .releaseFiles:
                break
            }
        }
    }
}

import MeshCore

/// The copy scaler of every live peer (as `CopyScaler.tick`): for each model it holds and
/// decides, ``ScalingPolicy`` looks at the holders' rates and adds or removes copies; copies are
/// added through ``RequestRoute`` as the peer adds them.
extension MeshSimulator {
    mutating func scale() {
        for slot in live.slots {
            scale(on: slot)
        }
    }

    private mutating func scale(on slot: Int32) {
        let index = Int(slot)
        let me = peers[index].id
        guard view.peers[me].map({ !$0.shuttingDown }) ?? false else { return }
        let ownRates = peers[index].ledger.modelRates(now: now)
        // Pinned models (minCopies > 0) are not part of the simulated workload.
        let models = scalingPolicy.modelsToDecide(held: peers[index].ledger.copies.keys, view: view, me: me)
        // The scaler forgets models it no longer decides.
        if !peers[index].scaling.isEmpty {
            let decided = Set(models)
            peers[index].scaling = peers[index].scaling.filter { decided.contains($0.key) }
        }
        for id in models {
            let model = catalog.index(of: id)
            let rates = view.holderRates(of: id, me: me, own: ownRates[id], now: now, maxAge: configuration.reportMaxAge)
            let (decision, state) = scalingPolicy.decide(
                model: id, record: catalog.records[Int(model)], view: view, rates: rates,
                state: peers[index].scaling[id], now: now
            )
            peers[index].scaling[id] = state
            if let decision { carryOut(decision, model: model, on: slot) }
        }
    }

    private mutating func carryOut(_ decision: ScalingPolicy.Decision, model: Int32, on slot: Int32) {
        switch decision.action {
        case .add:
            for target in decision.peers { addCopy(model, preferring: target, from: slot) }
        case .remove:
            guard let victim = decision.peers.first, let victimSlot = slotByID[victim] else { return }
            removeCopy(model, at: victimSlot)
        }
    }

    /// A copy addition through the deciding peer's ``RequestRoute`` (goal `addCopy`), first on
    /// the peer the policy chose: a load-local hop there, or a load here.
    private mutating func addCopy(_ model: Int32, preferring target: PeerID, from slot: Int32) {
        let id = catalog.ids[Int(model)]
        let record = catalog.records[Int(model)]
        var route = RequestRoute(model: id, goal: .addCopy(preferring: target), me: peers[Int(slot)].id, deadline: nil, settings: routeSettings)
        while true {
            statistics.decisions += 1
            switch route.next(record: record, view: view, local: peers[Int(slot)].local(for: id), now: now, using: &random) {
            case .loadHere:
                switch startLoad(model, at: slot, forScaler: true) {
                case .started, .present: route.record(.loadStarted)
                case .refused(let failure): route.record(.local(failure))
                case .wait: return
                }
            case .forward(let peer, _):
                guard let targetSlot = slotByID[peer], peers[Int(targetSlot)].alive else {
                    route.record(.unreachable(peer, reason: "connection refused", refused: true))
                    continue
                }
                switch startLoad(model, at: targetSlot, forScaler: true) {
                case .started, .present: route.record(.copyAdded(peer))
                case .refused(let failure): route.record(.declined(peer, failure.declineOutcome, message: failure.description, revision: nil))
                case .wait: return
                }
            case .serveHere, .waitForView:
                continue
            case .finished, .fail:
                return
            }
        }
    }

    /// Scale-down deletes the copy record; the holder sees it go and drops the copy.
    private mutating func removeCopy(_ model: Int32, at slot: Int32) {
        let index = Int(slot)
        let id = catalog.ids[Int(model)]
        guard view.copies(of: id)[peers[index].id] != nil else { return }
        apply(.copyDeleted(id, peers[index].id))
        statistics.scaleDownRemovals += 1
        if peers[index].alive {
            perform(peers[index].ledger.remove(id, deleteRecord: false, now: now), at: slot)
        }
    }
}

import MeshCore

/// The copy scaler of every live peer (as `CopyScaler.tick`): for each model it holds and
/// decides, ``ScalingPolicy`` looks at the holders' rates and adds or removes copies.
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
        let ownRates = peers[index].modelRates(at: now)
        // Pinned models (minCopies > 0) are not part of the simulated workload.
        let candidates = peers[index].held.sorted()
        // The scaler forgets models it no longer holds.
        if !peers[index].scaling.isEmpty {
            let held = peers[index].held
            peers[index].scaling = peers[index].scaling.filter { held.contains(catalog.index(of: $0.key)) }
        }
        for model in candidates {
            let id = catalog.ids[Int(model)]
            guard scalingPolicy.decider(for: id, view: view) == me else { continue }
            let rates = view.holderRates(of: id, me: me, own: ownRates[id], now: now, maxAge: configuration.reportMaxAge)
            let (decision, state) = scalingPolicy.decide(
                model: id, record: catalog.records[Int(model)], view: view, rates: rates,
                state: peers[index].scaling[id], now: now
            )
            peers[index].scaling[id] = state
            if let decision { carryOut(decision, model: model) }
        }
    }

    private mutating func carryOut(_ decision: ScalingPolicy.Decision, model: Int32) {
        switch decision.action {
        case "add":
            for target in decision.peers {
                guard let slot = slotByID[target], peers[Int(slot)].alive else { continue }
                addCopy(model, at: slot)
            }
        default:
            guard let victim = decision.peers.first, let slot = slotByID[victim] else { return }
            removeCopy(model, at: slot)
        }
    }

    /// A load-local hop from the scaler: the target decides (it loads unless it holds a copy).
    private mutating func addCopy(_ model: Int32, at slot: Int32) {
        let decision = decide(model, on: Int(slot), hop: .loadLocal)
        if decision == .loadLocally { _ = startLoad(model, at: slot, forScaler: true) }
    }

    /// Scale-down deletes the copy record; the holder sees it go and drops the copy.
    private mutating func removeCopy(_ model: Int32, at slot: Int32) {
        let index = Int(slot)
        let id = catalog.ids[Int(model)]
        guard view.copies(of: id)[peers[index].id] != nil else { return }
        apply(.copyDeleted(id, peers[index].id))
        statistics.scaleDownRemovals += 1
        if peers[index].alive, peers[index].cache.remove(id) != nil {
            peers[index].held.remove(model)
        }
    }
}

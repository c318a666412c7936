import MeshCore

/// Peers joining (registration) and dying (SIGKILL: nothing is cleaned up until the lease ends).
extension MeshSimulator {
    mutating func applyMembership(_ change: MembershipEvent.Change) {
        switch change {
        case .join:
            join()
        case .kill:
            guard let slot = live.apply(change) else { return }
            kill(slot)
        }
    }

    /// A fresh peer registers with an empty memory.
    mutating func join() {
        let slot = live.apply(.join)!
        let zones = configuration.zones
        let record = PeerRecord(
            httpAddress: "sim", zone: zones > 0 ? "zone-\(Int(slot) % zones)" : nil,
            capacityBytes: configuration.peerCapacityBytes, version: "simulated", startTime: now, instance: "\(slot)"
        )
        let peer = SimulatedPeer(slot: slot, record: record, settings: configuration.ledgerSettings)
        precondition(Int(slot) == peers.count, "peer slots are handed out in order")
        peers.append(peer)
        slotByID[peer.id] = slot
        apply(.peerPut(peer.id, record))
        statistics.membership.append(MembershipRecord(time: clock, peer: peer.id, joined: true))
    }

    /// The process is gone: its memory, loads and in-flight work with it. Its records stay in
    /// etcd until the lease expires. Requests waiting on its loads for another entry peer are
    /// retried there (the hop broke); the rest fail.
    mutating func kill(_ slot: Int32) {
        let index = Int(slot)
        let dead = peers[index].id
        let waiting = peers[index].waiters.sorted { $0.key < $1.key }.flatMap(\.value)
        let parked = peers[index].parked.sorted { $0.key < $1.key }.map(\.value.request)
        peers[index].die()
        for var request in parked {
            // Waiting for room on a hop's target: the entry tries elsewhere; on its own entry: gone.
            guard request.waitsAsHop, peers[Int(request.entry)].alive else {
                fail(request, .peerDied)
                continue
            }
            request.waitsAsHop = false
            request.route.record(.unreachable(dead, reason: "connection closed before the answer", refused: false))
            route(request)
        }
        statistics.membership.append(MembershipRecord(time: clock, peer: dead, joined: false))
        events.schedule(.leaseExpired(peer: slot), at: clock + configuration.leaseTTL.milliseconds)
        for waiter in waiting {
            guard waiter.forwardedTo != nil, peers[Int(waiter.entry)].alive else {
                fail(waiter, .peerDied)
                continue
            }
            releaseOutstanding(at: waiter.entry, on: slot)
            var retry = waiter
            retry.forwardedTo = nil
            retry.route.record(.unreachable(dead, reason: "connection closed before the answer", refused: false))
            route(retry)
        }
    }

    /// The lease ran out: etcd deletes the peer's record and every copy record bound to it.
    mutating func expireLease(of slot: Int32) {
        let id = peers[Int(slot)].id
        for model in view.holdings(of: id).models.sorted() {
            apply(.copyDeleted(model, id))
            statistics.copiesLostWithPeers += 1
        }
        apply(.peerDeleted(id))
    }

    /// Memory and copies right now, over the live peers.
    func sample() -> ResidencySample {
        var sample = ResidencySample(time: clock, usedBytes: 0, capacityBytes: 0, bands: bands.count)
        var copies: [Int32: Int] = [:]
        for slot in live.slots {
            let ledger = peers[Int(slot)].ledger
            sample.usedBytes += ledger.cache.usedBytes
            sample.capacityBytes += ledger.cache.capacityBytes
            for model in ledger.copies.keys { copies[catalog.index(of: model), default: 0] += 1 }
        }
        for (model, count) in copies {
            sample.add(copies: count, band: bands.band(ofRank: catalog.ranks[Int(model)]))
        }
        return sample
    }
}

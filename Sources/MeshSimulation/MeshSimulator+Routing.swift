import MeshCore

/// The routing loop of `RequestRouter`, attempt by attempt, with MeshCore deciding each step.
extension MeshSimulator {
    /// A request reaches the peer the client's draw picks among the live ones.
    mutating func arrive(_ index: Int) {
        let model = trace.models[index]
        guard let entry = live.entry(for: trace.entryDraws[index]) else {
            fail(PendingRequest(index: Int32(index), model: model, entry: -1, excluded: []), .noPeers)
            return
        }
        let excluded = peers[Int(entry)].unreachable(at: now)
        route(PendingRequest(index: Int32(index), model: model, entry: entry, excluded: excluded))
    }

    /// Decides attempt after attempt on the entry peer until the request is served, waits for a
    /// load, or runs out of options.
    mutating func route(_ pending: PendingRequest) {
        var request = pending
        let entry = Int(request.entry)
        let id = catalog.ids[Int(request.model)]
        while request.attempts < configuration.maxAttempts {
            request.attempts += 1
            let decision = decide(request.model, on: entry, hop: .external, excluded: request.excluded)
            switch decision {
            case .serveLocally:
                guard let state = peers[entry].cache.entry(id)?.state else {
                    request.excluded.insert(peers[entry].id)
                    continue
                }
                take(request, at: request.entry, loaded: state == .loaded)
                return
            case .forward(let target, let hop):
                guard view.peers[target] != nil, let slot = slotByID[target] else {
                    request.excluded.insert(target)
                    continue
                }
                guard peers[Int(slot)].alive else {
                    // A refused connection: the entry peer stops trying that peer for a while.
                    statistics.deadPeerForwards.append(DeadPeerForward(time: clock, request: request.index, entry: peers[entry].id, target: target))
                    request.excluded.insert(target)
                    peers[entry].unreachableUntil[target] = now + configuration.quarantine
                    continue
                }
                if receive(&request, at: slot, hop: hop) { return }
                request.excluded.insert(target)
            case .loadLocally:
                switch startLoad(request.model, at: request.entry, forScaler: false) {
                case .started: request.startedLoad = true
                case .present: break
                case .refused: request.excluded.insert(peers[entry].id)
                }
            case .notHere:
                request.excluded.insert(peers[entry].id)
            case .fail(let failure):
                fail(request, FailureReason(failure))
                return
            }
        }
        fail(request, .attemptsExhausted)
    }

    /// The receiving peer's side of a hit-only or load-local hop: one decision, plus the serve
    /// that follows a load. Returns false when it declines (the entry then excludes it).
    mutating func receive(_ request: inout PendingRequest, at slot: Int32, hop: Hop) -> Bool {
        let target = Int(slot)
        let id = catalog.ids[Int(request.model)]
        for _ in 0..<2 {
            let decision = decide(request.model, on: target, hop: hop, excluded: request.excluded)
            switch decision {
            case .serveLocally:
                guard let state = peers[target].cache.entry(id)?.state else { return false }
                request.forwardedTo = slot
                peers[Int(request.entry)].outstanding[peers[target].id, default: 0] += 1
                take(request, at: slot, loaded: state == .loaded)
                return true
            case .loadLocally:
                switch startLoad(request.model, at: slot, forScaler: false) {
                case .started: request.startedLoad = true
                case .present: break
                case .refused: return false
                }
            case .notHere, .forward, .fail:
                return false
            }
        }
        return false
    }

    /// Serves now from a loaded copy, or queues behind the load in progress.
    mutating func take(_ request: PendingRequest, at slot: Int32, loaded: Bool) {
        if loaded {
            serve(request, at: slot, fromLoadedCopy: true)
        } else if peers[Int(slot)].loads[request.model] != nil {
            peers[Int(slot)].loads[request.model]!.waiters.append(request)
        } else {
            assertionFailure("a copy in state loading without a load in progress")
            fail(request, .other)
        }
    }

    /// The request occupies its copy for the inference time.
    mutating func serve(_ request: PendingRequest, at slot: Int32, fromLoadedCopy: Bool) {
        let index = Int(slot)
        // The client's connection went with its entry peer.
        guard request.forwardedTo == nil || peers[Int(request.entry)].alive else {
            fail(request, .peerDied)
            return
        }
        let id = catalog.ids[Int(request.model)]
        peers[index].inFlight[id, default: 0] += 1
        peers[index].totalInFlight += 1
        peers[index].cache.touch(id, now: now)
        peers[index].rates.record(id, at: now)
        events.schedule(.served(peer: slot, model: request.model, entry: request.entry), at: clock + configuration.inferenceLatency.milliseconds)
        let outcome: RequestOutcome
        if fromLoadedCopy {
            outcome = request.attempts > 1 ? .hitAfterRetries : request.forwardedTo == nil ? .localHit : .forwardedHit
        } else {
            outcome = request.startedLoad ? .causedLoad : .joinedLoad
        }
        record(request, outcome)
    }

    mutating func finishServing(_ model: Int32, at slot: Int32, entry: Int32) {
        let index = Int(slot)
        if peers[index].alive {
            let id = catalog.ids[Int(model)]
            let remaining = (peers[index].inFlight[id] ?? 1) - 1
            peers[index].inFlight[id] = remaining > 0 ? remaining : nil
            peers[index].totalInFlight -= 1
        }
        if entry != slot { releaseOutstanding(at: entry, on: slot) }
    }

    mutating func releaseOutstanding(at entry: Int32, on slot: Int32) {
        let index = Int(entry)
        guard peers[index].alive else { return }
        let target = peers[Int(slot)].id
        let remaining = (peers[index].outstanding[target] ?? 1) - 1
        peers[index].outstanding[target] = remaining > 0 ? remaining : nil
    }

    mutating func fail(_ request: PendingRequest, _ reason: FailureReason) {
        statistics.failures[reason, default: 0] += 1
        statistics.windowFailures[windows.window(of: trace.times[Int(request.index)])] += 1
        record(request, .failed)
    }

    private mutating func record(_ request: PendingRequest, _ outcome: RequestOutcome) {
        statistics.outcomes[outcome.rawValue] += 1
        statistics.tally.record(
            window: windows.window(of: trace.times[Int(request.index)]),
            band: bands.band(ofRank: catalog.ranks[Int(request.model)]),
            hit: outcome.isHit
        )
    }

    /// MeshCore's routing decision for `model` on the peer at `index`, counted.
    mutating func decide(_ model: Int32, on index: Int, hop: Hop, excluded: Set<PeerID> = []) -> RouteDecision {
        statistics.decisions += 1
        let id = catalog.ids[Int(model)]
        return planner.decide(
            RoutePlanner.Request(model: id, record: catalog.records[Int(model)], hop: hop, excluded: excluded, sizeBytes: plannedSize(model)),
            local: RoutePlanner.Local(peer: peers[index].id, copy: peers[index].cache.entry(id)?.state,
                                      inFlight: peers[index].totalInFlight, outstanding: peers[index].outstanding),
            view: view, now: now, using: &random
        )
    }

    /// The size routing plans with (as `RequestRouter.sizeEstimate`): the registration's hint,
    /// else the measured size of a loaded copy elsewhere, else the default.
    func plannedSize(_ model: Int32) -> Int64 {
        view.plannedSize(of: catalog.ids[Int(model)], record: catalog.records[Int(model)], defaultBytes: configuration.defaultModelBytes)
    }
}

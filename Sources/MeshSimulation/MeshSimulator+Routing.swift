import MeshCore

/// Requests, driven through ``RequestRoute`` exactly as a peer's router drives it: the entry
/// peer's route decides attempt after attempt; a hop runs the receiving peer's own route.
extension MeshSimulator {
    /// A request reaches the peer the client's draw picks among the live ones.
    mutating func arrive(_ index: Int) {
        let model = trace.models[index]
        let id = catalog.ids[Int(model)]
        guard let entry = live.entry(for: trace.entryDraws[index]) else {
            let route = RequestRoute(model: id, me: PeerID(trusted: "none"), deadline: nil, settings: routeSettings)
            fail(PendingRequest(index: Int32(index), model: model, entry: -1, route: route), .noPeers)
            return
        }
        let excluded = peers[Int(entry)].unreachable(at: now)
        let routing = RequestRoute(model: id, me: peers[Int(entry)].id, excluded: excluded, deadline: nil, settings: routeSettings)
        route(PendingRequest(index: Int32(index), model: model, entry: entry, route: routing))
    }

    /// Carries out the entry peer's route until the request is served, waits for a load, or fails.
    mutating func route(_ pending: PendingRequest) {
        var request = pending
        let entry = Int(request.entry)
        let record = catalog.records[Int(request.model)]
        while true {
            statistics.decisions += 1
            let id = request.route.model
            switch request.route.next(record: record, view: view, local: peers[entry].local(for: id), now: now, using: &random) {
            case .serveHere:
                if let failure = take(request, at: request.entry) { request.route.record(.local(failure)) } else { return }
            case .forward(let target, let hop):
                guard let slot = slotByID[target], peers[Int(slot)].alive else {
                    // A refused connection: the entry peer stops trying that peer for a while.
                    statistics.deadPeerForwards.append(DeadPeerForward(time: clock, request: request.index, entry: peers[entry].id, target: target))
                    peers[entry].unreachableUntil[target] = now + configuration.quarantine
                    request.route.record(.unreachable(target, reason: "connection refused", refused: true))
                    continue
                }
                switch receive(&request, at: slot, hop: hop) {
                case nil: return
                case let decline?: request.route.record(.declined(target, decline, message: "", revision: nil))
                }
            case .loadHere:
                switch startLoad(request.model, at: request.entry, forScaler: false) {
                case .started:
                    request.startedLoad = true
                    request.route.record(.loadStarted)
                case .present:
                    request.route.record(.loadStarted)
                case .refused(let failure):
                    request.route.record(.local(failure))
                case .wait(let until):
                    park(request, at: request.entry, until: until)
                    return
                }
            case .waitForView:
                // One view for every peer: it is never behind.
                continue
            case .finished:
                return
            case .fail:
                fail(request, request.route.routingFailure.map(FailureReason.init) ?? .attemptsExhausted)
                return
            }
        }
    }

    /// The receiving peer's side of a hit-only or load-local hop: its own route of the request.
    /// Returns nil when the request is served (or waits for a load) there, else how it declined.
    mutating func receive(_ request: inout PendingRequest, at slot: Int32, hop: Hop) -> HopDecline.Outcome? {
        let target = Int(slot)
        let id = request.route.model
        var route = RequestRoute(model: id, hop: hop, me: peers[target].id, excluded: request.route.excluded, deadline: nil, settings: routeSettings)
        let record = catalog.records[Int(request.model)]
        while true {
            statistics.decisions += 1
            switch route.next(record: record, view: view, local: peers[target].local(for: id), now: now, using: &random) {
            case .serveHere:
                request.forwardedTo = slot
                peers[Int(request.entry)].outstanding[peers[target].id, default: 0] += 1
                guard let failure = take(request, at: slot) else { return nil }
                peers[Int(request.entry)].outstanding[peers[target].id, default: 1] -= 1
                request.forwardedTo = nil
                route.record(.local(failure))
            case .loadHere:
                switch startLoad(request.model, at: slot, forScaler: false) {
                case .started:
                    request.startedLoad = true
                    route.record(.loadStarted)
                case .present:
                    route.record(.loadStarted)
                case .refused(let failure):
                    route.record(.local(failure))
                case .wait(let until):
                    request.waitsAsHop = true
                    park(request, at: slot, until: until)
                    return nil
                }
            case .fail(let error):
                return error.decline?.outcome ?? .unavailable
            case .forward, .waitForView, .finished:
                return .unavailable
            }
        }
    }

    /// A request whose load must wait for room parks on the peer (as `LocalModels.load` waits on
    /// a real one): until `until` (the churn limit's next allowance), or until memory is freed
    /// there (`until` nil), and at most until its deadline.
    mutating func park(_ request: PendingRequest, at slot: Int32, until: Int64?) {
        lastParkTicket += 1
        peers[Int(slot)].parked[lastParkTicket] = (request, clock, until == nil)
        let deadline = trace.times[Int(request.index)] + configuration.requestTimeout.milliseconds
        events.schedule(.retryLoad(peer: slot, ticket: lastParkTicket), at: min(until ?? deadline, deadline))
    }

    /// Memory may have been freed on `slot`: the request that has waited longest for room there
    /// asks again (one per change, so a crowd of waiters does not all retry each time).
    mutating func wakeRoomWaiters(_ slot: Int32) {
        guard let (ticket, _) = peers[Int(slot)].parked.filter({ $0.value.forRoom }).min(by: { $0.key < $1.key }) else { return }
        peers[Int(slot)].parked[ticket]?.forRoom = false
        events.schedule(.retryLoad(peer: slot, ticket: ticket), at: clock)
    }

    /// Asks for the parked request's load again; once it starts, the request continues where it
    /// waited: its own route on the entry peer, or served by the hop's target.
    mutating func retryLoad(_ ticket: UInt64, at slot: Int32) {
        guard let parked = peers[Int(slot)].parked.removeValue(forKey: ticket) else { return }
        var request = parked.request
        statistics.roomWaitMillis += clock - parked.since
        guard peers[Int(request.entry)].alive else {
            fail(request, .peerDied)
            return
        }
        guard clock - trace.times[Int(request.index)] < configuration.requestTimeout.milliseconds else {
            fail(request, .deadline)
            return
        }
        switch startLoad(request.model, at: slot, forScaler: false) {
        case .wait(let until):
            park(request, at: slot, until: until)
        case .started, .present:
            request.startedLoad = true
            if request.waitsAsHop {
                request.waitsAsHop = false
                request.forwardedTo = slot
                peers[Int(request.entry)].outstanding[peers[Int(slot)].id, default: 0] += 1
                if let failure = take(request, at: slot) { fail(request, FailureReason(failure)) }
            } else {
                request.route.record(.loadStarted)
                route(request)
            }
        case .refused(let failure):
            if request.waitsAsHop {
                request.waitsAsHop = false
                request.route.record(.declined(peers[Int(slot)].id, failure.declineOutcome, message: failure.description, revision: nil))
            } else {
                request.route.record(.local(failure))
            }
            route(request)
        }
    }

    /// Serves now from a loaded copy, or queues behind the load in progress; nil when taken.
    /// `afterLoad`: the request waited for this copy's load.
    mutating func take(_ request: PendingRequest, at slot: Int32, afterLoad: Bool = false) -> CopyFailure? {
        let index = Int(slot)
        let id = request.route.model
        switch peers[index].ledger.acquire(id, now: now) {
        case .ready(_, let token):
            serve(request, at: slot, token: token, fromLoadedCopy: !afterLoad)
            return nil
        case .wait(let token):
            peers[index].waiters[token, default: []].append(request)
            return nil
        case .unavailable(let failure):
            return failure
        }
    }

    /// The request occupies its copy for the inference time.
    mutating func serve(_ request: PendingRequest, at slot: Int32, token: UInt64, fromLoadedCopy: Bool) {
        // The client's connection went with its entry peer.
        guard request.forwardedTo == nil || peers[Int(request.entry)].alive else {
            _ = peers[Int(slot)].ledger.release(request.route.model, token: token)
            fail(request, .peerDied)
            return
        }
        events.schedule(.served(peer: slot, model: request.model, token: token, entry: request.entry),
                        at: clock + configuration.inferenceLatency.milliseconds)
        let outcome: RequestOutcome
        if fromLoadedCopy {
            outcome = request.route.attempts > 1 ? .hitAfterRetries : request.forwardedTo == nil ? .localHit : .forwardedHit
        } else {
            outcome = request.startedLoad ? .causedLoad : .joinedLoad
        }
        record(request, outcome)
    }

    mutating func finishServing(_ model: Int32, token: UInt64, at slot: Int32, entry: Int32) {
        let index = Int(slot)
        if peers[index].alive {
            perform(peers[index].ledger.release(catalog.ids[Int(model)], token: token), at: slot)
            wakeRoomWaiters(slot)
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
}

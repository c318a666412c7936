import MeshCore
import Testing

/// The copy machine, one test per state transition: claiming, loading, loaded, draining and
/// gone, with the actions each returns. Instances are strings so a test can tell them apart.
@Suite struct CopyLedgerTests {
    typealias Ledger = CopyLedger<String>
    let clock = SteppingClock()
    let view = MeshCoreTests.view(peers: ["a"])

    func ledger(capacity: Int64 = 100 * MiB, churnLimitPerSecond: Double = 20, maxLoadingConcurrency: Int = 4) -> Ledger {
        Ledger(me: peer("a"), capacityBytes: capacity, settings: .init(
            minChurnAge: .seconds(30), defaultModelSizeBytes: 40 * MiB,
            maxLoadingConcurrency: maxLoadingConcurrency, churnLimitPerSecond: churnLimitPerSecond))
    }

    /// Claims, loads and finishes `name` (40 MiB planned and measured) and returns its token.
    @discardableResult
    func load(_ name: String, into ledger: inout Ledger, size: Int64 = 40 * MiB) -> UInt64 {
        guard case .claiming(let actions) = ledger.requestLoad(model(name), record: modelRecord(), view: view, now: clock.now),
              case .claim(_, _, _, let token)? = actions.first else {
            Issue.record("no claim for \(name)")
            return 0
        }
        _ = ledger.claimSucceeded(model(name), token: token, now: clock.now)
        _ = ledger.loadSucceeded(model(name), token: token, instance: name, sizeBytes: size, download: nil, now: clock.now)
        return token
    }

    func claimToken(_ request: Ledger.LoadRequest) -> UInt64? {
        guard case .claiming(let actions) = request, case .claim(_, _, _, let token)? = actions.first else { return nil }
        return token
    }

    // MARK: Claiming

    @Test func aLoadRequestReservesMemoryAndAsksForTheClaim() throws {
        var ledger = ledger()
        let request = ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)
        guard case .claiming(let actions) = request, case .claim(let claimed, let record, let decidedAt, _)? = actions.first else {
            Issue.record("no claim: \(request)")
            return
        }
        #expect(claimed == model("m"))
        #expect(record.state == .loading && record.sizeBytes == 40 * MiB)
        #expect(decidedAt == view.revision)
        #expect(ledger.state(of: model("m")) == .loading)
        #expect(ledger.copies[model("m")]?.phase == .claiming)
        #expect(ledger.cache.usedBytes == 40 * MiB)
        guard case .present = ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now) else {
            Issue.record("a second request claimed again")
            return
        }
    }

    @Test func requestsWaitForAClaimingOrLoadingCopy() {
        var ledger = ledger()
        let token = claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now))
        guard case .wait(let waited) = ledger.acquire(model("m"), now: clock.now) else { Issue.record("did not wait"); return }
        #expect(waited == token)
        _ = ledger.claimSucceeded(model("m"), token: waited, now: clock.now)
        guard case .wait = ledger.acquire(model("m"), now: clock.now) else { Issue.record("did not wait while loading"); return }
    }

    @Test func aLostClaimGivesTheMemoryAndTheDisplacedCopiesBack() throws {
        var ledger = ledger()
        load("old1", into: &ledger)
        clock.advance(.seconds(60))
        load("old2", into: &ledger)
        clock.advance(.seconds(60))
        let token = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        // old1 is displaced (out of the ledger's memory) but still serves until the claim holds.
        #expect(ledger.cache.entry(model("old1")) == nil)
        guard case .ready(let instance, _) = ledger.acquire(model("old1"), now: clock.now) else { Issue.record("old1 stopped serving"); return }
        #expect(instance == "old1")
        let actions = ledger.claimFailed(model("m"), token: token, .lostRace(model("m"), holders: [peer("b")], revision: 9))
        guard case .settle(let settled, .failure(.lostRace))? = actions.first else { Issue.record("waiters not failed: \(actions)"); return }
        #expect(settled == token)
        #expect(ledger.copies[model("m")] == nil)
        #expect(ledger.cache.entry(model("old1")) != nil)
        #expect(ledger.cache.usedBytes == 80 * MiB)
    }

    @Test func aHeldClaimEvictsTheDisplacedCopiesAndStartsTheLoad() throws {
        var ledger = ledger()
        load("old1", into: &ledger)
        clock.advance(.seconds(60))
        load("old2", into: &ledger)
        clock.advance(.seconds(60))
        let token = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        let actions = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        var evicted: [ModelID] = [], unloaded: [String] = [], deleted: [ModelID] = [], started = false
        for action in actions {
            switch action {
            case .evicted(let victim, let idle, .makingRoom(for: model("m"))): evicted.append(victim); #expect(idle == .seconds(120))
            case .unload(_, let instance): unloaded.append(instance)
            case .deleteRecord(let victim): deleted.append(victim)
            case .startLoad(let loading, _, let loadToken): started = loading == model("m") && loadToken == token
            default: break
            }
        }
        #expect(evicted == [model("old1")] && unloaded == ["old1"] && deleted == [model("old1")] && started)
        #expect(ledger.copies[model("m")]?.phase == .loading)
        #expect(ledger.copies[model("old1")] == nil)
    }

    // MARK: Loading while claiming

    /// The actions of a request for `name`: the claim's token, and whether the load starts with it.
    func claimAndEarlyLoad(_ name: String, into ledger: inout Ledger) -> (token: UInt64, loadsNow: Bool)? {
        guard case .claiming(let actions) = ledger.requestLoad(model(name), record: modelRecord(), view: view, now: clock.now),
              case .claim(_, _, _, let token)? = actions.first else { return nil }
        guard actions.count == 2 else { return (token, false) }
        guard case .startLoad(model(name), _, token)? = actions.last else { return nil }
        return (token, true)
    }

    /// A copy that evicts nothing starts loading with its claim. A load that ends first waits
    /// for the claim: no request is served and no record written until the claim holds.
    @Test func aCopyThatEvictsNothingLoadsWhileItClaims() throws {
        var ledger = ledger()
        let (token, loadsNow) = try #require(claimAndEarlyLoad("m", into: &ledger))
        #expect(loadsNow)
        #expect(ledger.copies[model("m")]?.phase == .claiming)
        #expect(ledger.loadSucceeded(model("m"), token: token, instance: "m", sizeBytes: 30 * MiB, download: nil, now: clock.now).isEmpty)
        guard case .wait = ledger.acquire(model("m"), now: clock.now) else { Issue.record("served before the claim held"); return }
        let held = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        guard case .settle(token, .success("m"))? = held.first else { Issue.record("waiters not served: \(held)"); return }
        #expect(held.contains { if case .putRecord(model("m"), let record) = $0 { record.state == .loaded } else { false } })
        #expect(ledger.copies[model("m")]?.phase == .loaded)
        #expect(ledger.cache.usedBytes == 30 * MiB)
        guard case .ready("m", _) = ledger.acquire(model("m"), now: clock.now) else { Issue.record("not served after the claim"); return }
    }

    /// A lost claim drops what its early load made: at once if the load ended, when it ends if not.
    @Test func aLostClaimDropsWhatItsEarlyLoadMade() throws {
        var ledger = ledger()
        let lost = CopyFailure.lostRace(model("m"), holders: [peer("b")], revision: 9)
        let (ended, _) = try #require(claimAndEarlyLoad("m", into: &ledger))
        _ = ledger.loadSucceeded(model("m"), token: ended, instance: "m", sizeBytes: 30 * MiB, download: nil, now: clock.now)
        let afterLoad = ledger.claimFailed(model("m"), token: ended, lost)
        guard case .settle(ended, .failure(.lostRace))? = afterLoad.first else { Issue.record("waiters not failed: \(afterLoad)"); return }
        #expect(afterLoad.contains { if case .unload(model("m"), "m") = $0 { true } else { false } })
        #expect(afterLoad.contains { if case .releaseFiles(model("m")) = $0 { true } else { false } })
        #expect(!afterLoad.contains { if case .deleteRecord = $0 { true } else { false } })
        #expect(ledger.copies[model("m")] == nil && ledger.cache.usedBytes == 0)

        let (running, _) = try #require(claimAndEarlyLoad("n", into: &ledger))
        let beforeLoad = ledger.claimFailed(model("n"), token: running, lost)
        #expect(!beforeLoad.contains { if case .unload = $0 { true } else { false } })
        let late = ledger.loadSucceeded(model("n"), token: running, instance: "n", sizeBytes: 30 * MiB, download: nil, now: clock.now)
        #expect(late.contains { if case .unload(model("n"), "n") = $0 { true } else { false } })
        #expect(ledger.copies[model("n")] == nil && ledger.cache.usedBytes == 0)

        // A load that failed is recorded even though the claim was lost; the record the claim
        // never wrote is not deleted.
        let (failed, _) = try #require(claimAndEarlyLoad("o", into: &ledger))
        #expect(ledger.loadFailed(model("o"), token: failed, message: "bad file", recordFailure: true, now: clock.now).isEmpty)
        let afterFailure = ledger.claimFailed(model("o"), token: failed, lost)
        #expect(afterFailure.contains { if case .recordFailure(model("o"), "bad file") = $0 { true } else { false } })
        #expect(!afterFailure.contains { if case .deleteRecord = $0 { true } else { false } })
    }

    /// An early load that fails is told when the claim holds: the record the claim wrote goes,
    /// the failure is recorded and the waiting requests fail.
    @Test func anEarlyLoadFailureIsSettledOnceTheClaimHolds() throws {
        var ledger = ledger()
        let (token, _) = try #require(claimAndEarlyLoad("m", into: &ledger))
        #expect(ledger.loadFailed(model("m"), token: token, message: "bad file", recordFailure: true, now: clock.now).isEmpty)
        let held = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        guard case .settle(token, .failure(.loadFailed))? = held.first else { Issue.record("waiters not failed: \(held)"); return }
        #expect(held.contains { if case .deleteRecord(model("m")) = $0 { true } else { false } })
        #expect(held.contains { if case .recordFailure(model("m"), "bad file") = $0 { true } else { false } })
        #expect(ledger.copies[model("m")] == nil && ledger.cache.usedBytes == 0)
    }

    /// Copies that evict, or come while every slot is busy or loads are queued, claim before they
    /// load: the displaced copies' memory is never held twice, and the queue keeps its order.
    @Test func aCopyThatEvictsOrWouldJumpTheQueueClaimsFirst() throws {
        var ledger = ledger(capacity: 80 * MiB, maxLoadingConcurrency: 1)
        let (first, firstEarly) = try #require(claimAndEarlyLoad("a", into: &ledger))
        #expect(firstEarly)
        let (second, secondEarly) = try #require(claimAndEarlyLoad("b", into: &ledger))
        #expect(!secondEarly)
        #expect(ledger.claimSucceeded(model("b"), token: second, now: clock.now).isEmpty)
        #expect(ledger.copies[model("b")]?.phase == .queued)
        #expect(ledger.claimSucceeded(model("a"), token: first, now: clock.now).isEmpty)
        let next = ledger.loadSucceeded(model("a"), token: first, instance: "a", sizeBytes: 40 * MiB, download: nil, now: clock.now)
        #expect(next.contains { if case .startLoad(model("b"), _, second) = $0 { true } else { false } })
        _ = ledger.loadSucceeded(model("b"), token: second, instance: "b", sizeBytes: 40 * MiB, download: nil, now: clock.now)
        clock.advance(.seconds(60))
        let (_, evictingEarly) = try #require(claimAndEarlyLoad("c", into: &ledger))
        #expect(!evictingEarly)
    }

    // MARK: Refusals

    @Test func loadsAreRefusedWithTheirReason() {
        var ledger = ledger(capacity: 100 * MiB)
        var huge = modelRecord()
        huge.sizeHintBytes = 200 * MiB
        guard case .refused(_, .tooLarge) = ledger.requestLoad(model("huge"), record: huge, view: view, now: clock.now) else {
            Issue.record("a model larger than the peer was admitted"); return
        }
        guard case .refused(_, .unsupported) = ledger.requestLoad(model("x"), record: modelRecord(), view: view, now: clock.now, pool: nil) else {
            Issue.record("an unsupported type was admitted"); return
        }
        ledger.stopAcceptingLoads()
        guard case .refused(.shuttingDown, .shuttingDown) = ledger.requestLoad(model("n"), record: modelRecord(), view: view, now: clock.now) else {
            Issue.record("a load was taken while shutting down"); return
        }
    }

    @Test func evictingRecentlyUsedCopiesIsRateLimitedAndTheLoadWaits() throws {
        var ledger = ledger(churnLimitPerSecond: 1)
        load("a1", into: &ledger)
        load("a2", into: &ledger)
        // Both copies were used just now; one second's worth of churn (one eviction) is allowed.
        let first = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("m"), token: first, now: clock.now)
        guard case .mustWait(let failure, .churnGuard, let until) = ledger.requestLoad(model("n"), record: modelRecord(), view: view, now: clock.now) else {
            Issue.record("a second young copy was evicted within the same second"); return
        }
        #expect(failure.description.contains("faster than the churn limit allows (1.0 per second)"))
        #expect(until == clock.now + .seconds(1))
        #expect(ledger.state(of: model("n")) == nil)
        // A second later the budget has refilled and the load goes ahead.
        clock.advance(.seconds(1))
        #expect(claimToken(ledger.requestLoad(model("n"), record: modelRecord(), view: view, now: clock.now)) != nil)
        #expect(ledger.loadReport(now: clock.now).thrashEvictionsPerMinute ?? 0 >= 1)
    }

    @Test func oldCopiesAreEvictedBeforeRecentOnesWithoutSpendingTheChurnBudget() throws {
        var ledger = ledger(churnLimitPerSecond: 1)
        load("old", into: &ledger)
        clock.advance(.seconds(60))
        load("young", into: &ledger)
        for name in ["m", "n"] {
            let token = try #require(claimToken(ledger.requestLoad(model(name), record: modelRecord(), view: view, now: clock.now)))
            _ = ledger.claimSucceeded(model(name), token: token, now: clock.now)
            _ = ledger.loadSucceeded(model(name), token: token, instance: name, sizeBytes: 40 * MiB, download: nil, now: clock.now)
        }
        // m displaced the old copy for free; n spent the one young eviction (young or m, both
        // used just now).
        #expect(ledger.copies[model("old")] == nil)
        #expect([model("young"), model("m")].filter { ledger.copies[$0] == nil }.count == 1)
        guard case .mustWait(_, .churnGuard, _) = ledger.requestLoad(model("o"), record: modelRecord(), view: view, now: clock.now) else {
            Issue.record("the churn budget was not spent"); return
        }
    }

    // MARK: Queueing

    @Test func loadsBeyondTheConcurrencyLimitQueueAndRequestsGoFirst() throws {
        var ledger = ledger(capacity: 1000 * MiB, maxLoadingConcurrency: 1)
        // The actions that start loads: with the claim (a free slot) or once it holds.
        func claim(_ name: String, _ priority: Ledger.Priority) throws -> (UInt64, [Ledger.Action]) {
            let request = ledger.requestLoad(model(name), record: modelRecord(), view: view, now: clock.now, priority: priority)
            let token = try #require(claimToken(request))
            guard case .claiming(let withClaim) = request else { return (token, []) }
            return (token, withClaim + ledger.claimSucceeded(model(name), token: token, now: clock.now))
        }
        func started(_ actions: [Ledger.Action]) -> [ModelID] {
            actions.compactMap { if case .startLoad(let model, _, _) = $0 { return model } else { return nil } }
        }
        let (running, startsRunning) = try claim("running", .request)
        #expect(started(startsRunning) == [model("running")])
        let (_, startsBackground) = try claim("background", .background)
        let (_, startsRequest) = try claim("request", .request)
        #expect(started(startsBackground).isEmpty && started(startsRequest).isEmpty)
        #expect(ledger.queuedLoads == 2)
        #expect(ledger.copies[model("background")]?.phase == .queued)
        // The slot frees: the request load goes before the background one queued earlier.
        let next = ledger.loadSucceeded(model("running"), token: running, instance: "running", sizeBytes: 40 * MiB, download: nil, now: clock.now)
        #expect(started(next) == [model("request")])
        #expect(ledger.queuedLoads == 1)
    }

    @Test func aRequestForAQueuedBackgroundLoadMovesItUp() throws {
        var ledger = ledger(capacity: 1000 * MiB, maxLoadingConcurrency: 1)
        var tokens: [String: UInt64] = [:]
        for (name, priority) in [("running", Ledger.Priority.request), ("first", .background), ("second", .background)] {
            let token = try #require(claimToken(ledger.requestLoad(model(name), record: modelRecord(), view: view, now: clock.now, priority: priority)))
            _ = ledger.claimSucceeded(model(name), token: token, now: clock.now)
            tokens[name] = token
        }
        guard case .wait = ledger.acquire(model("second"), now: clock.now) else { Issue.record("did not wait for the queued load"); return }
        let next = ledger.loadSucceeded(model("running"), token: tokens["running"]!, instance: "running", sizeBytes: 40 * MiB, download: nil, now: clock.now)
        #expect(next.contains { if case .startLoad(model("second"), _, _) = $0 { return true } else { return false } })
    }

    // MARK: Loading

    @Test func aFinishedLoadServesTheWaitersAndPublishesTheLoadedRecord() throws {
        var ledger = ledger()
        let token = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        clock.advance(.seconds(2))
        let actions = ledger.loadSucceeded(model("m"), token: token, instance: "m", sizeBytes: 30 * MiB, download: nil, now: clock.now)
        guard case .settle(token, .success("m"))? = actions.first else { Issue.record("waiters not woken: \(actions)"); return }
        let records = actions.compactMap { action -> CopyRecord? in if case .putRecord(_, let record) = action { return record } else { return nil } }
        #expect(records == [CopyRecord(state: .loaded, since: clock.now, sizeBytes: 30 * MiB)])
        #expect(actions.contains { if case .clearFailure = $0 { return true } else { return false } })
        #expect(ledger.state(of: model("m")) == .loaded)
        #expect(ledger.cache.usedBytes == 30 * MiB)
        #expect(ledger.measuredSizes[model("m")] == 30 * MiB)
        // The next load of the same model plans with what was measured.
        #expect(ledger.plannedSize(of: model("m"), record: modelRecord(), view: view) == 30 * MiB)
    }

    @Test func aLoadLargerThanPlannedEvictsIdleCopies() throws {
        var ledger = ledger()
        load("idle", into: &ledger)
        clock.advance(.seconds(60))
        let token = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        let actions = ledger.loadSucceeded(model("m"), token: token, instance: "m", sizeBytes: 90 * MiB, download: nil, now: clock.now)
        #expect(actions.contains { if case .evicted(model("idle"), _, .resized(model("m"))) = $0 { return true } else { return false } })
        #expect(ledger.copies[model("idle")] == nil)
        #expect(ledger.cache.usedBytes == 90 * MiB)
    }

    @Test func aFailedLoadFailsItsWaitersDeletesTheRecordAndRecordsTheFailure() throws {
        var ledger = ledger()
        let token = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        let actions = ledger.loadFailed(model("m"), token: token, message: "bad file", recordFailure: true, now: clock.now)
        guard case .settle(token, .failure(.loadFailed(_, "bad file")))? = actions.first else { Issue.record("\(actions)"); return }
        #expect(actions.contains { if case .deleteRecord(model("m")) = $0 { return true } else { return false } })
        #expect(actions.contains { if case .recordFailure(model("m"), "bad file") = $0 { return true } else { return false } })
        #expect(ledger.copies.isEmpty && ledger.cache.usedBytes == 0)
        // Cancelled by a shutdown: no failure record.
        let second = try #require(claimToken(ledger.requestLoad(model("n"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("n"), token: second, now: clock.now)
        let quiet = ledger.loadFailed(model("n"), token: second, message: "shut down", recordFailure: false, now: clock.now)
        #expect(!quiet.contains { if case .recordFailure = $0 { return true } else { return false } })
    }

    @Test func aLoadThatFinishesAfterItsCopyWasRemovedIsUnloaded() throws {
        var ledger = ledger()
        let token = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("m"), token: token, now: clock.now)
        let removal = ledger.remove(model("m"), deleteRecord: true, now: clock.now)
        #expect(removal.contains { if case .settle(token, .failure(.removed)) = $0 { return true } else { return false } })
        let late = ledger.loadSucceeded(model("m"), token: token, instance: "m", sizeBytes: MiB, download: nil, now: clock.now)
        guard case .unload(model("m"), "m")? = late.first, late.count == 1 else { Issue.record("\(late)"); return }
    }

    // MARK: Record deletions seen by the watch

    /// A failed load's record is deleted; the watch reports that deletion only after the next
    /// copy of the model has claimed (and written its own record): the new copy stays.
    @Test func theDeletionOfAnEarlierCopysRecordLeavesTheNextCopy() throws {
        var ledger = ledger()
        let first = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("m"), token: first, revision: 10, now: clock.now)
        let failed = ledger.loadFailed(model("m"), token: first, message: "corrupt", recordFailure: true, now: clock.now)
        #expect(failed.contains { if case .deleteRecord(model("m")) = $0 { true } else { false } })
        // The next copy claims before the deletion (revision 11) is seen...
        let second = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        #expect(ledger.recordDeleted(model("m"), revision: 11, now: clock.now).isEmpty)
        // ...and its claim, written at revision 12, holds.
        _ = ledger.claimSucceeded(model("m"), token: second, revision: 12, now: clock.now)
        #expect(ledger.copies[model("m")]?.phase == .loading)
        // Seen once the claim held, the old deletion changes nothing either.
        #expect(ledger.recordDeleted(model("m"), revision: 11, now: clock.now).isEmpty)
        #expect(ledger.copies[model("m")]?.recordRevision == 12)
        // A deletion of the new record removes the copy; its waiters fail.
        let removed = ledger.recordDeleted(model("m"), revision: 13, now: clock.now)
        #expect(removed.contains { if case .settle(second, .failure(.removed)) = $0 { true } else { false } })
        #expect(!removed.contains { if case .deleteRecord = $0 { true } else { false } })
        #expect(ledger.copies.isEmpty && ledger.cache.usedBytes == 0)
    }

    /// The claim's record was written and deleted (its lease expired) before the claim's answer
    /// came back: the copy never comes to be, and nothing writes its record again.
    @Test func aClaimWhoseRecordWasDeletedBeforeItsAnswerGivesTheCopyUp() throws {
        var ledger = ledger()
        let request = ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)
        let token = try #require(claimToken(request))
        guard case .claiming(let actions) = request, actions.contains(where: { if case .startLoad = $0 { true } else { false } }) else {
            Issue.record("the load did not start with the claim: \(request)")
            return
        }
        _ = ledger.loadSucceeded(model("m"), token: token, instance: "m", sizeBytes: 40 * MiB, download: nil, now: clock.now)
        #expect(ledger.recordDeleted(model("m"), revision: 21, now: clock.now).isEmpty)
        let answer = ledger.claimSucceeded(model("m"), token: token, revision: 20, now: clock.now)
        #expect(answer.contains { if case .settle(token, .failure(.removed)) = $0 { true } else { false } })
        #expect(answer.contains { if case .unload(model("m"), "m") = $0 { true } else { false } })
        #expect(!answer.contains { if case .putRecord = $0 { true } else { false } })
        #expect(ledger.copies.isEmpty && ledger.cache.usedBytes == 0)
    }

    // MARK: Serving and removing

    @Test func servingCountsRequestsAndTouchesTheCopy() {
        var ledger = ledger()
        let token = load("m", into: &ledger)
        clock.advance(.seconds(5))
        guard case .ready("m", token) = ledger.acquire(model("m"), now: clock.now) else { Issue.record("not ready"); return }
        #expect(ledger.inFlight == 1)
        #expect(ledger.cache.entry(model("m"))?.lastUsed == clock.now)
        #expect(ledger.release(model("m"), token: token).isEmpty)
        #expect(ledger.inFlight == 0)
        // A release with no request in flight changes nothing.
        #expect(ledger.release(model("m"), token: token).isEmpty)
        #expect(ledger.inFlight == 0)
    }

    @Test func removingAnIdleCopyUnloadsItAtOnce() {
        var ledger = ledger()
        load("m", into: &ledger)
        let actions = ledger.remove(model("m"), deleteRecord: true, now: clock.now)
        #expect(actions.contains { if case .unload(model("m"), "m") = $0 { return true } else { return false } })
        #expect(actions.contains { if case .deleteRecord(model("m")) = $0 { return true } else { return false } })
        #expect(actions.contains { if case .releaseFiles(model("m")) = $0 { return true } else { return false } })
        #expect(ledger.copies.isEmpty && ledger.cache.usedBytes == 0)
    }

    @Test func aBusyCopyDrainsAndUnloadsWithItsLastRequest() {
        var ledger = ledger()
        load("m", into: &ledger)
        guard case .ready(_, let token) = ledger.acquire(model("m"), now: clock.now),
              case .ready = ledger.acquire(model("m"), now: clock.now) else { Issue.record("not ready"); return }
        let removal = ledger.remove(model("m"), deleteRecord: false, now: clock.now)
        #expect(!removal.contains { if case .unload = $0 { return true } else { return false } })
        #expect(ledger.state(of: model("m")) == nil)
        #expect(ledger.draining[token]?.copy.phase == .draining)
        #expect(ledger.release(model("m"), token: token).isEmpty)
        guard case .unload(model("m"), "m")? = ledger.release(model("m"), token: token).first else { Issue.record("not unloaded"); return }
        #expect(ledger.draining.isEmpty && ledger.inFlight == 0)
    }

    @Test func aNewCopyCanLoadWhileTheOldOneDrains() throws {
        var ledger = ledger()
        let old = load("m", into: &ledger)
        guard case .ready = ledger.acquire(model("m"), now: clock.now) else { Issue.record("not ready"); return }
        _ = ledger.remove(model("m"), deleteRecord: false, now: clock.now)
        let fresh = try #require(claimToken(ledger.requestLoad(model("m"), record: modelRecord(), view: view, now: clock.now)))
        #expect(fresh != old)
        guard case .unload(_, "m")? = ledger.release(model("m"), token: old).first else { Issue.record("old copy kept"); return }
        #expect(ledger.copies[model("m")]?.token == fresh)
    }

    // MARK: Lease changes and shutdown

    @Test func recordsAreRestoredForLoadingAndLoadedCopiesAndDroppedForAll() throws {
        var ledger = ledger()
        load("loaded", into: &ledger, size: 10 * MiB)
        let token = try #require(claimToken(ledger.requestLoad(model("loading"), record: modelRecord(), view: view, now: clock.now)))
        _ = ledger.claimSucceeded(model("loading"), token: token, now: clock.now)
        let restored = ledger.recordsToRestore().compactMap { action -> (ModelID, CopyRecord.State)? in
            if case .putRecord(let model, let record) = action { return (model, record.state) } else { return nil }
        }
        #expect(restored.map(\.0) == [model("loaded"), model("loading")])
        #expect(restored.map(\.1) == [.loaded, .loading])
        #expect(ledger.recordsToDrop().count == 2)
    }

    @Test func removingEverythingUnloadsAndFailsPendingLoads() throws {
        var ledger = ledger()
        load("loaded", into: &ledger, size: 10 * MiB)
        let token = try #require(claimToken(ledger.requestLoad(model("loading"), record: modelRecord(), view: view, now: clock.now)))
        let actions = ledger.removeAll()
        #expect(actions.contains { if case .unload(_, "loaded") = $0 { return true } else { return false } })
        #expect(actions.contains { if case .settle(token, .failure(.shuttingDown)) = $0 { return true } else { return false } })
        #expect(ledger.copies.isEmpty && ledger.cache.usedBytes == 0)
    }

    @Test func theReportCountsLoadsRequestsAndMemory() {
        var ledger = ledger()
        load("m", into: &ledger, size: 10 * MiB)
        _ = ledger.requestLoad(model("n"), record: modelRecord(), view: view, now: clock.now)
        guard case .ready = ledger.acquire(model("m"), now: clock.now) else { Issue.record("not ready"); return }
        let report = ledger.loadReport(now: clock.now)
        #expect(report.inFlight == 1 && report.loading == 1 && report.modelCount == 2)
        #expect(report.usedBytes == 50 * MiB && report.capacityBytes == 100 * MiB)
        #expect(report.rates.map(\.model) == [model("m")])
    }
}

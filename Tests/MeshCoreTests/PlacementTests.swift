import MeshCore
import Testing

@Suite struct PlacementTests {
    let policy = PlacementPolicy(minChurnAge: .seconds(30), reportMaxAge: .seconds(5))
    let clock = FakeClock()

    func choose(_ view: ClusterView, model name: String = "m", record: ModelRecord = modelRecord(), size: Int64 = 100 * MiB, excluded: Set<PeerID> = []) -> Placement {
        policy.choose(for: model(name), record: record, sizeBytes: size, view: view, excluded: excluded, now: clock.now)
    }

    @Test func prefersFewestModelsThenMostFreeMemory() {
        var view = view(peers: ["a", "b", "c"])
        view.addCopy(model("x"), on: peer("a"))
        view.addCopy(model("y"), on: peer("b"), size: 10 * MiB)
        view.addCopy(model("z"), on: peer("b"), size: 10 * MiB)
        #expect(choose(view) == .peer(peer("c")))
        view.addCopy(model("w"), on: peer("c"), size: 500 * MiB)
        // a and c hold one model each; a has more free memory.
        #expect(choose(view) == .peer(peer("a")))
    }

    @Test func skipsExcludedShuttingDownFailedAndHoldingPeers() {
        var view = view(peers: ["a", "b", "c", "d"], records: ["b": peerRecord(shuttingDown: true)])
        view.addCopy(model("m"), on: peer("c"))
        view.apply(.failurePut(model("m"), peer("d"), FailureRecord(time: clock.now, message: "boom")))
        #expect(choose(view) == .peer(peer("a")))
        #expect(choose(view, excluded: [peer("a")]) == .none(.noPeerLeft(model: model("m"), holders: 1, excluded: 1))
            || choose(view, excluded: [peer("a")]) == .none(.allFailed(model: model("m"), lastError: "boom")))
    }

    /// When no peer is a candidate, the refusal names the first filter nobody passed.
    @Test func refusalsNameTheFirstFilterNoPeerPasses() {
        #expect(choose(ClusterView()) == .none(.noPeers))
        var view = view(peers: ["a", "b", "c"], records: ["c": peerRecord(shuttingDown: true)])
        view.addCopy(model("m"), on: peer("a"))
        // Holding or tried, with no failure recorded: nobody is left.
        #expect(choose(view, excluded: [peer("b")]) == .none(.noPeerLeft(model: model("m"), holders: 1, excluded: 1)))
        // The one peer left lacks the labels; then it is too small; then its load failed.
        #expect(choose(view, record: modelRecord(labels: ["gpu"])) == .none(.missingLabels(model: model("m"), labels: ["gpu"])))
        #expect(choose(view, size: 2048 * MiB) == .none(.tooLarge(model: model("m"), neededBytes: 2048 * MiB, largestCapacityBytes: 1024 * MiB)))
        view.apply(.failurePut(model("m"), peer("b"), FailureRecord(time: clock.now, message: "bad weights")))
        #expect(choose(view) == .none(.allFailed(model: model("m"), lastError: "bad weights")))
    }

    @Test func everyEligiblePeerFailedNamesTheError() {
        var view = view(peers: ["a"])
        view.apply(.failurePut(model("m"), peer("a"), FailureRecord(time: clock.now, message: "bad weights")))
        #expect(choose(view) == .none(.allFailed(model: model("m"), lastError: "bad weights")))
    }

    @Test func modelLargerThanEveryPeerIsRefusedWithSizes() {
        let view = view(peers: ["a", "b"], records: ["a": peerRecord(capacity: 100 * MiB), "b": peerRecord(capacity: 200 * MiB)])
        let placement = choose(view, size: 300 * MiB)
        #expect(placement == .none(.tooLarge(model: model("m"), neededBytes: 300 * MiB, largestCapacityBytes: 200 * MiB)))
        if case .none(let refusal) = placement {
            #expect(refusal.description == "m needs 300.0 MiB but the largest peer holds 200.0 MiB; it fits nowhere")
        }
    }

    @Test func requiredLabelsRestrictPeers() {
        let view = view(peers: ["cpu", "gpu"], records: ["gpu": peerRecord(labels: ["gpu", "fast"])])
        #expect(choose(view, record: modelRecord(labels: ["gpu"])) == .peer(peer("gpu")))
        #expect(choose(view, record: modelRecord(labels: ["tpu"])) == .none(.missingLabels(model: model("m"), labels: ["tpu"])))
    }

    @Test func fullPeersComeLastAndTheOldestLRUWins() {
        var view = view(peers: ["a", "b", "c"], records: [
            "a": peerRecord(capacity: 100 * MiB), "b": peerRecord(capacity: 100 * MiB), "c": peerRecord(capacity: 100 * MiB),
        ])
        for name in ["a", "b", "c"] { view.addCopy(model("x-\(name)"), on: peer(name), size: 100 * MiB) }
        func report(_ name: String, lruAge: Duration) -> LoadReport {
            LoadReport(peer: peer(name), time: clock.now, inFlight: 0, loading: 0, usedBytes: 100 * MiB, capacityBytes: 100 * MiB,
                       modelCount: 1, lruTime: clock.now - lruAge, rates: [])
        }
        view.receive(report("a", lruAge: .seconds(60)))
        view.receive(report("b", lruAge: .seconds(600)))
        view.receive(report("c", lruAge: .seconds(5)))
        #expect(choose(view, size: 50 * MiB) == .peer(peer("b")))
        // c's LRU model was used 5 s ago: c is still a candidate (a load waits rather than fail),
        // but the last one.
        let ranked = policy.rank(for: model("m"), record: modelRecord(), sizeBytes: 50 * MiB, view: view, excluded: [], now: clock.now)
        #expect((try? ranked.get()) == [peer("b"), peer("a"), peer("c")])
    }

    /// With cost-aware peers, each model's misses go to its two homes, the one with the cheaper
    /// victim first, wherever the oldest LRU model is.
    @Test func fullCostAwarePeersTakeAModelAtOneOfItsTwoHomes() {
        let names = (0..<6).map { "p\($0)" }
        // Every peer full; LRU ages grow with the index, so p5 has the oldest LRU model.
        func fullView(costAware: Set<String>) -> ClusterView {
            var full = view(peers: names, records: Dictionary(uniqueKeysWithValues: names.map { ($0, peerRecord(capacity: 100 * MiB)) }))
            for (index, name) in names.enumerated() {
                full.addCopy(model("x-\(name)"), on: peer(name), size: 100 * MiB)
                var report = LoadReport(peer: peer(name), time: clock.now, inFlight: 0, loading: 0, usedBytes: 100 * MiB, capacityBytes: 100 * MiB,
                                        modelCount: 1, lruTime: clock.now - .seconds(100 + 60 * index), rates: [])
                report.evictionValue = costAware.contains(name) ? Double(index + 1) : nil
                full.receive(report)
            }
            return full
        }
        func ranked(_ name: String, _ view: ClusterView) -> [PeerID] {
            (try? policy.rank(for: model(name), record: modelRecord(), sizeBytes: 50 * MiB, view: view, excluded: [], now: clock.now).get()) ?? []
        }
        let allCostAware = fullView(costAware: Set(names))
        var firstChoices: [PeerID: Int] = [:]
        for index in 0..<60 {
            let order = ranked("miss-\(index)", allCostAware)
            guard order.count == names.count else { Issue.record("miss-\(index) ranked \(order)"); continue }
            // Of its two homes, the peer whose cheapest copy is worth less comes first.
            let values = order.prefix(2).map { Int($0.rawValue.dropFirst())! }
            #expect(values[0] < values[1])
            firstChoices[order[0], default: 0] += 1
        }
        // Homes spread over the peers instead of all going to p5 (oldest LRU model).
        #expect(firstChoices.count >= 3, "\(firstChoices)")
        // Peers that report no value (the LRU policy) are never homes.
        let mixed = fullView(costAware: ["p0", "p1"])
        for index in 0..<20 {
            #expect(Set(ranked("miss-\(index)", mixed).prefix(2)) == [peer("p0"), peer("p1")])
        }
    }

    @Test func fullPeersWithinOneChurnAgeOfTheOldestShareTheMisses() {
        let names = (0..<8).map { "p\($0)" }
        var view = view(peers: names + ["young"], records: Dictionary(uniqueKeysWithValues: (names + ["young"]).map { ($0, peerRecord(capacity: 100 * MiB)) }))
        func report(_ name: String, lruAge: Duration) -> LoadReport {
            LoadReport(peer: peer(name), time: clock.now, inFlight: 0, loading: 0, usedBytes: 100 * MiB, capacityBytes: 100 * MiB,
                       modelCount: 1, lruTime: clock.now - lruAge, rates: [])
        }
        for (index, name) in names.enumerated() {
            view.addCopy(model("x-\(name)"), on: peer(name), size: 100 * MiB)
            // LRU ages 200 s down to 186 s: all within one churn age (30 s) of the oldest.
            view.receive(report(name, lruAge: .seconds(200 - 2 * index)))
        }
        // 100 s younger than the oldest: eligible, but never preferred to the others.
        view.addCopy(model("x-young"), on: peer("young"), size: 100 * MiB)
        view.receive(report("young", lruAge: .seconds(100)))
        var chosen: [PeerID: Int] = [:]
        for index in 0..<200 {
            guard case .peer(let target) = choose(view, model: "miss-\(index)", size: 50 * MiB) else {
                Issue.record("miss-\(index) was not placed")
                continue
            }
            chosen[target, default: 0] += 1
        }
        // Not a herd on p0 (the oldest): different models land on different peers of the oldest step.
        #expect(chosen.count >= 6, "\(chosen)")
        #expect(chosen[peer("young")] == nil)
        #expect(chosen.values.max() ?? 0 < 100, "\(chosen)")
    }

    /// A peer full of recently used models is still a place for the model: it evicts (or waits
    /// for room), it does not refuse.
    @Test func aPeerFullOfRecentModelsIsStillChosen() {
        var view = view(peers: ["a"], records: ["a": peerRecord(capacity: 100 * MiB)])
        view.addCopy(model("x"), on: peer("a"), size: 100 * MiB)
        view.receive(LoadReport(peer: peer("a"), time: clock.now, inFlight: 0, loading: 0, usedBytes: 100 * MiB, capacityBytes: 100 * MiB,
                                modelCount: 1, lruTime: clock.now - .seconds(2), rates: []))
        #expect(choose(view, size: 50 * MiB) == .peer(peer("a")))
    }

    @Test func copiesSpreadAcrossZones() {
        var view = view(peers: ["a1", "a2", "b1"], records: [
            "a1": peerRecord(zone: "zone-a"), "a2": peerRecord(zone: "zone-a"), "b1": peerRecord(zone: "zone-b"),
        ])
        view.addCopy(model("m"), on: peer("a1"))
        // a2 has fewer models than b1, but b1 is in a zone without a copy.
        view.addCopy(model("other"), on: peer("b1"))
        #expect(choose(view) == .peer(peer("b1")))
    }

    @Test func tiesBreakByModelSoModelsSpreadAndDecidersAgree() {
        let view = view(peers: ["a", "b", "c", "d"])
        var chosen = Set<PeerID>()
        for index in 0..<40 {
            guard case .peer(let target) = choose(view, model: "model-\(index)") else {
                Issue.record("no placement")
                return
            }
            chosen.insert(target)
            // The same inputs give the same answer.
            #expect(choose(view, model: "model-\(index)") == .peer(target))
        }
        #expect(chosen.count == 4)
    }
}

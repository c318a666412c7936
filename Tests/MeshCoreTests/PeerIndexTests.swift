import MeshCore
import Testing

/// Placement scans a dense per-peer index that the view keeps up to date change by change. These
/// tests drive a view through random changes and check that every placement it makes is the one
/// a view rebuilt from scratch with the same state makes: an index that drifted (a slot left
/// behind by a removal, a stale pool list, holdings or a report not carried over) shows up as a
/// different ranking or refusal.
@Suite struct PeerIndexTests {
    static let pools: [[RuntimePool]?] = [
        nil,
        [RuntimePool(name: RuntimePool.builtin, formats: ["onnx", "synthetic"], capacityBytes: 800 * MiB)],
        [RuntimePool(name: RuntimePool.builtin, formats: ["onnx", "synthetic"], capacityBytes: 400 * MiB),
         RuntimePool(name: "mlserver", formats: ["sklearn", "xgboost"], capacityBytes: 600 * MiB)],
        [RuntimePool(name: RuntimePool.builtin, formats: ["onnx"], capacityBytes: 400 * MiB),
         RuntimePool(name: "mlserver", formats: ["sklearn"], capacityBytes: 600 * MiB, ready: false)],
    ]

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func placementOnAViewChangedStepByStepEqualsPlacementOnTheSameViewBuiltAtOnce(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var clock = FakeClock()
        var view = ClusterView()
        let peers = (0..<12).map { peer("p\($0)") }
        let models = (0..<24).map { model("m\($0)") }
        for step in 0..<600 {
            let target = peers.randomElement(using: &random)!
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1:
                view.apply(.peerPut(target, randomRecord(using: &random)))
            case 2:
                view.apply(.peerDeleted(target))
            case 3, 4:
                view.apply(.copyPut(models.randomElement(using: &random)!, target,
                                    CopyRecord(state: .loaded, since: .epoch, sizeBytes: Int64.random(in: 1...300, using: &random) * MiB)))
            case 5:
                view.apply(.copyDeleted(models.randomElement(using: &random)!, target))
            case 6, 7:
                view.receive(randomReport(of: target, at: clock.now, using: &random))
            case 8:
                clock.advance(.seconds(Int64.random(in: 1...20, using: &random)))
                view.expireReports(now: clock.now, maxAge: .seconds(30))
            default:
                // (Failures at distinct times: the refusal quotes the latest.)
                clock.advance(.milliseconds(1))
                view.apply(.failurePut(models.randomElement(using: &random)!, target,
                                       FailureRecord(time: clock.now, message: "load failed at step \(step)")))
            }
            guard step % 20 == 19 else { continue }
            let rebuilt = rebuild(view)
            for type in ["synthetic", "sklearn", "pytorch"] {
                for held in models.prefix(6) {
                    let record = ModelRecord(type: type, sizeHintBytes: 100 * MiB, labels: step % 40 == 19 ? ["gpu"] : [], created: .epoch)
                    let tried: Set<PeerID> = [peers[step % peers.count]]
                    let policy = PlacementPolicy()
                    let stepwise = policy.rank(for: held, record: record, sizeBytes: 100 * MiB, view: view, excluded: tried, now: clock.now)
                    let atOnce = policy.rank(for: held, record: record, sizeBytes: 100 * MiB, view: rebuilt, excluded: tried, now: clock.now)
                    #expect(stepwise == atOnce, "step \(step), \(held) of type \(type)")
                    #expect(policy.choose(for: held, record: record, sizeBytes: 100 * MiB, view: view, excluded: tried, now: clock.now)
                        == policy.choose(for: held, record: record, sizeBytes: 100 * MiB, view: rebuilt, excluded: tried, now: clock.now))
                }
            }
        }
    }

    @Test func aRemovedPeerIsNeverPlacedOnAndTheOneMovedIntoItsPlaceKeepsItsState() {
        var view = view(peers: ["a", "b", "c"])
        // c fills up and reports it; b has a copy of m.
        view.addCopy(model("m"), on: peer("b"), size: 100 * MiB)
        view.addCopy(model("x"), on: peer("c"), size: 1000 * MiB)
        view.apply(.peerDeleted(peer("a")))
        let record = modelRecord()
        let ranked = PlacementPolicy().rank(for: model("n"), record: record, sizeBytes: 100 * MiB, view: view, excluded: [], now: .epoch)
        // a is gone; c (moved into a's slot) is still full, so b comes first.
        #expect(ranked == .success([peer("b"), peer("c")]))
        #expect(PlacementPolicy().choose(for: model("m"), record: record, sizeBytes: 100 * MiB, view: view, excluded: [], now: .epoch)
            == .peer(peer("c")))
    }

    private func randomRecord(using random: inout SeededRandom) -> PeerRecord {
        var record = PeerRecord(
            httpAddress: "127.0.0.1:1", zone: [nil, "z0", "z1", "z2"].randomElement(using: &random)!,
            labels: Bool.random(using: &random) ? ["gpu"] : [], capacityBytes: Int64.random(in: 50...1200, using: &random) * MiB,
            version: "test", startTime: .epoch, shuttingDown: Int.random(in: 0..<8, using: &random) == 0, instance: "i")
        if let pools = Self.pools.randomElement(using: &random)! { record.publish(pools) }
        return record
    }

    private func randomReport(of peer: PeerID, at time: MeshTime, using random: inout SeededRandom) -> LoadReport {
        var report = LoadReport(peer: peer, time: time, inFlight: Int.random(in: 0...20, using: &random), loading: Int.random(in: 0...2, using: &random),
                                usedBytes: Int64.random(in: 0...1200, using: &random) * MiB, capacityBytes: 1200 * MiB,
                                modelCount: Int.random(in: 0...10, using: &random),
                                lruTime: Bool.random(using: &random) ? time - .seconds(Int64.random(in: 0...600, using: &random)) : nil, rates: [])
        report.evictionValue = Bool.random(using: &random) ? Double.random(in: 0...100, using: &random) : nil
        report.poolUsedBytes = Bool.random(using: &random) ? ["mlserver": Int64.random(in: 0...600, using: &random) * MiB] : nil
        return report
    }

    /// The same state applied to a fresh view in one go.
    private func rebuild(_ view: ClusterView) -> ClusterView {
        var changes: [ClusterView.Change] = view.peers.map { .peerPut($0.key, $0.value) }
        for (model, holders) in view.copies { for (peer, copy) in holders { changes.append(.copyPut(model, peer, copy)) } }
        for (model, failures) in view.failures { for (peer, failure) in failures { changes.append(.failurePut(model, peer, failure)) } }
        var rebuilt = ClusterView()
        rebuilt.reset(revision: view.revision, changes: changes.shuffled())
        for report in view.loads.values { rebuilt.receive(report) }
        return rebuilt
    }
}

import MeshCore
import Testing

/// Runtime pools: which formats a pool runs, placement only on peers whose ready pool runs the
/// model's format and fits it, each pool's own memory budget, and a pool lost with its server.
@Suite struct RuntimePoolTests {
    func pooled(_ pools: [RuntimePool]) -> PeerRecord {
        var record = peerRecord(capacity: pools.reduce(0) { $0 + $1.capacityBytes })
        record.pools = pools
        return record
    }

    func record(type: String) -> ModelRecord {
        ModelRecord(type: type, storage: .uri("file:///m"), created: .epoch)
    }

    let builtin = RuntimePool(name: RuntimePool.builtin, formats: ["onnx", "synthetic"], capacityBytes: 1024 * MiB)
    let mlserver = RuntimePool(name: "mlserver", formats: ["sklearn", "xgboost:2"], capacityBytes: 512 * MiB)

    @Test func formatsMatchByNameAndVersionWhenBothGiveOne() {
        #expect(ModelFormat("sklearn").runs(ModelFormat("sklearn:1")))
        #expect(ModelFormat("sklearn:1").runs(ModelFormat("sklearn")))
        #expect(ModelFormat("sklearn:1").runs(ModelFormat("SKLearn:1")))
        #expect(!ModelFormat("sklearn:1").runs(ModelFormat("sklearn:0")))
        #expect(!ModelFormat("xgboost").runs(ModelFormat("sklearn")))
        #expect(ModelFormat("onnx:1").description == "onnx:1")
        #expect(mlserver.runs(type: "xgboost"))
        #expect(!mlserver.runs(type: "xgboost:1"))
        #expect(!mlserver.runs(type: "onnx"))
    }

    @Test func aPeerOffersTheFirstReadyPoolThatRunsTheFormat() {
        var down = mlserver
        down.ready = false
        #expect(pooled([builtin, mlserver]).pool(for: "sklearn") == .pool(mlserver))
        #expect(pooled([builtin, down]).pool(for: "sklearn") == .notReady)
        #expect(pooled([builtin, down]).pool(for: "tensorflow") == .none)
        // A peer of an earlier version publishes no pools: it runs everything in one budget.
        if case .pool(let pool) = peerRecord().pool(for: "anything") {
            #expect(pool.capacityBytes == 1024 * MiB)
        } else {
            Issue.record("a peer without pools should take any type")
        }
    }

    @Test func placementChoosesOnlyPeersWhosePoolRunsTheType() {
        let cluster = view(peers: ["a", "b"], records: ["a": pooled([builtin]), "b": pooled([builtin, mlserver])])
        let policy = PlacementPolicy()
        #expect(policy.choose(for: model("m"), record: record(type: "sklearn"), sizeBytes: 10 * MiB, view: cluster, excluded: [], now: .epoch) == .peer(peer("b")))
        guard case .success(let both) = policy.rank(for: model("m"), record: record(type: "onnx"), sizeBytes: 10 * MiB, view: cluster, excluded: [], now: .epoch) else {
            Issue.record("both peers run onnx")
            return
        }
        #expect(Set(both) == [peer("a"), peer("b")])
        guard case .none(.noRuntime(_, let type, let served)) = policy.choose(
            for: model("m"), record: record(type: "tensorflow"), sizeBytes: 10 * MiB, view: cluster, excluded: [], now: .epoch) else {
            Issue.record("no peer runs tensorflow")
            return
        }
        #expect(type == "tensorflow")
        #expect(served == ["onnx", "sklearn", "synthetic", "xgboost:2"])
        // The only peer that runs it was tried already: none left, not "nobody runs it".
        #expect(policy.choose(for: model("m"), record: record(type: "sklearn"), sizeBytes: MiB, view: cluster, excluded: [peer("b")], now: .epoch)
            == .none(.noPeerLeft(model: model("m"), holders: 0, excluded: 1)))
    }

    @Test func placementWaitsForARuntimeThatIsDownAndMeasuresItsPool() {
        var down = mlserver
        down.ready = false
        let policy = PlacementPolicy()
        let cluster = view(peers: ["a"], records: ["a": pooled([builtin, down])])
        #expect(policy.choose(for: model("m"), record: record(type: "sklearn"), sizeBytes: MiB, view: cluster, excluded: [], now: .epoch)
            == .none(.runtimeNotReady(model: model("m"), type: "sklearn")))
        // 600 MiB fits the peer (1.5 GiB) but not its MLServer pool (512 MiB).
        let up = view(peers: ["a"], records: ["a": pooled([builtin, mlserver])])
        #expect(policy.choose(for: model("m"), record: record(type: "sklearn"), sizeBytes: 600 * MiB, view: up, excluded: [], now: .epoch)
            == .none(.tooLarge(model: model("m"), neededBytes: 600 * MiB, largestCapacityBytes: 512 * MiB)))
    }

    @Test func eachPoolEvictsOnlyItsOwnModels() {
        var cache = LocalCache(pools: [RuntimePool.builtin: 100 * MiB, "mlserver": 50 * MiB], policy: .leastRecentlyUsed)
        var now = MeshTime.epoch
        for name in ["b1", "b2"] {
            #expect(cache.admit(model(name), sizeBytes: 40 * MiB, now: now, minChurnAge: .zero) == .admitted(evicting: []))
            cache.markLoaded(model(name), now: now)
            now = now + .seconds(1)
        }
        #expect(cache.admit(model("s1"), sizeBytes: 40 * MiB, pool: "mlserver", now: now, minChurnAge: .zero) == .admitted(evicting: []))
        cache.markLoaded(model("s1"), now: now)
        now = now + .seconds(1)
        // The MLServer pool is full: its own model goes, although built-in ones are older.
        #expect(cache.admit(model("s2"), sizeBytes: 40 * MiB, pool: "mlserver", now: now, minChurnAge: .zero) == .admitted(evicting: [model("s1")]))
        #expect(cache.pools["mlserver"]?.usedBytes == 40 * MiB)
        #expect(cache.pools[RuntimePool.builtin]?.usedBytes == 80 * MiB)
        #expect(cache.capacityBytes == 150 * MiB)
        #expect(cache.admit(model("s3"), sizeBytes: 60 * MiB, pool: "mlserver", now: now, minChurnAge: .zero)
            == .tooLarge(neededBytes: 60 * MiB, capacityBytes: 50 * MiB))
        cache.setCapacity(200 * MiB, of: "mlserver")
        #expect(cache.capacityBytes == 300 * MiB)
    }

    @Test func aLostPoolTakesItsCopiesAndFailsItsWaitingLoads() {
        var ledger = CopyLedger<String>(me: peer("a"), pools: [RuntimePool.builtin: 100 * MiB, "mlserver": 100 * MiB])
        let cluster = view(peers: ["a"])
        func claim(_ name: String, pool: String) -> UInt64 {
            guard case .claiming(let actions) = ledger.requestLoad(model(name), record: record(type: "x"), view: cluster, now: .epoch, pool: pool),
                  case .claim(_, _, _, let token)? = actions.first else { return 0 }
            _ = ledger.claimSucceeded(model(name), token: token, now: .epoch)
            return token
        }
        let loaded = claim("loaded", pool: "mlserver")
        _ = ledger.loadSucceeded(model("loaded"), token: loaded, instance: "loaded", sizeBytes: 10 * MiB, download: nil, now: .epoch)
        let loading = claim("loading", pool: "mlserver")
        let other = claim("builtin", pool: RuntimePool.builtin)
        _ = ledger.loadSucceeded(model("builtin"), token: other, instance: "builtin", sizeBytes: 10 * MiB, download: nil, now: .epoch)
        let report = ledger.loadReport(now: .epoch)
        #expect(report.poolUsedBytes?["mlserver"] == 10 * MiB + ledger.cache.entry(model("loading"))!.sizeBytes)

        let actions = ledger.poolLost("mlserver", now: .epoch)
        let deleted = actions.compactMap { action -> ModelID? in if case .deleteRecord(let m) = action { return m } else { return nil } }
        #expect(Set(deleted) == [model("loaded"), model("loading")])
        // No unload: the server lost them already.
        #expect(!actions.contains { if case .unload = $0 { return true } else { return false } })
        #expect(actions.contains { if case .settle(let token, .failure) = $0 { return token == loading } else { return false } })
        #expect(ledger.state(of: model("loaded")) == nil)
        #expect(ledger.state(of: model("builtin")) == .loaded)
        #expect(ledger.cache.pools["mlserver"]?.usedBytes == 0)
    }
}

import Benchmark
import MeshCore

func mirrorBenchmarks() {
    let base = Fixtures.view(peers: 50, models: 5_000, copiesPerModel: 2)
    let copy = CopyRecord(state: .loaded, since: Fixtures.now, sizeBytes: 64 << 20)

    Benchmark("ClusterView.apply copy put + delete (50 peers, 10k copies)") { benchmark in
        var view = base
        for index in benchmark.scaledIterations {
            let model = Fixtures.model(index % 5_000)
            view.apply(.copyPut(model, Fixtures.peer(49), copy))
            view.apply(.copyDeleted(model, Fixtures.peer(49)))
        }
        blackHole(view)
    }

    // A full cache (10,000 records, the default --record-cache-size): hits, watch events, and
    // misses that insert and evict.
    var full = RecordCache<ModelID, ModelRecord>(capacity: 10_000)
    for index in 0..<10_000 { full.finishRead(Fixtures.model(index), record: Fixtures.record, revision: 1) }
    let keys = (0..<10_000).map(Fixtures.model)

    Benchmark("RecordCache.lookup hit (10k records)") { benchmark in
        var cache = full
        for index in benchmark.scaledIterations {
            blackHole(cache.lookup(keys[index % keys.count]))
        }
    }
    Benchmark("RecordCache.apply watch event (10k records)") { benchmark in
        var cache = full
        for index in benchmark.scaledIterations {
            cache.apply(keys[index % keys.count], record: Fixtures.record, revision: Int64(index + 2))
        }
        blackHole(cache)
    }
    // The only count that varies from run to run (by up to 1.5% here): eviction order follows the
    // hash table's order, which Swift seeds per process.
    Benchmark("RecordCache miss: read and insert, evicting (10k records)",
              configuration: .init(thresholds: [.mallocCountTotal: .init(relative: [.p90: 5.0])])) { benchmark in
        var cache = full
        for index in benchmark.scaledIterations {
            let key = ModelID(trusted: "other-\(index)")
            cache.beginRead(key)
            blackHole(cache.finishRead(key, record: Fixtures.record, revision: 2))
        }
    }
}

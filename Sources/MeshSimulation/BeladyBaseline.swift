/// Baseline 2, the upper bound: one cache the size of the whole cluster's memory, loads that take
/// no time, and Belady's MIN replacement — with the whole trace known in advance, evict the model
/// whose next request is furthest in the future. For models of equal size that is the optimal
/// hit ratio; with unequal sizes it is the classic offline heuristic (the exact optimum is
/// NP-hard), still far above what any online policy sees.
public enum BeladyBaseline {
    public static func run(configuration: SimulationConfiguration, catalog: ModelCatalog, trace: Trace) -> CacheRunResult {
        let bands = PopularityBands(models: catalog.count)
        let windows = TraceWindows(count: configuration.windows, durationMillis: trace.durationMillis)
        var result = CacheRunResult(tally: HitTally(windows: windows.count, bands: bands.count))
        let capacity = Int64(configuration.peers) * configuration.peerCapacityBytes
        let never = Int32.max
        // The position of each request's model's next request.
        var nextUse = [Int32](repeating: never, count: trace.count)
        var seen = [Int32](repeating: never, count: catalog.count)
        for request in stride(from: trace.count - 1, through: 0, by: -1) {
            let model = Int(trace.models[request])
            nextUse[request] = seen[model]
            seen[model] = Int32(request)
        }
        // Cached models: the next use each is queued under (or -1), and a max-heap of
        // (next use, model) with stale entries skipped when they surface.
        var queuedUse = [Int32](repeating: -1, count: catalog.count)
        var heap = FurthestFirstHeap()
        var used: Int64 = 0
        var cachedPerBand = [Int](repeating: 0, count: bands.count)
        var cached = 0
        var schedule = SampleSchedule(interval: configuration.sampleInterval.milliseconds, end: trace.durationMillis)

        for request in 0..<trace.count {
            let time = trace.times[request]
            while let due = schedule.due(before: time) {
                var sample = ResidencySample(time: due, usedBytes: used, capacityBytes: capacity, bands: bands.count)
                sample.copies = cached
                sample.distinctModels = cached
                sample.bandCopies = cachedPerBand
                sample.bandModels = cachedPerBand
                sample.bandMaxCopies = cachedPerBand.map { min($0, 1) }
                result.samples.append(sample)
            }
            let model = Int(trace.models[request])
            let band = bands.band(ofRank: catalog.ranks[model])
            let hit = queuedUse[model] >= 0
            result.tally.record(window: windows.window(of: time), band: band, hit: hit)
            if !hit {
                let size = catalog.sizes[model]
                guard size <= capacity else {
                    result.failed += 1
                    continue
                }
                while used + size > capacity, let entry = heap.pop() {
                    let victim = Int(entry.model)
                    guard queuedUse[victim] == entry.use else { continue }
                    queuedUse[victim] = -1
                    used -= catalog.sizes[victim]
                    cached -= 1
                    cachedPerBand[bands.band(ofRank: catalog.ranks[victim])] -= 1
                    result.evictions += 1
                }
                used += size
                cached += 1
                cachedPerBand[band] += 1
                result.loads += 1
            }
            queuedUse[model] = nextUse[request]
            heap.push(use: nextUse[request], model: Int32(model))
        }
        return result
    }
}

/// A max-heap of (next use, model) packed in one integer: furthest next use first.
struct FurthestFirstHeap {
    private var keys: [UInt64] = []

    mutating func push(use: Int32, model: Int32) {
        keys.append(UInt64(UInt32(bitPattern: use)) << 32 | UInt64(UInt32(bitPattern: model)))
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] > keys[parent] else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (use: Int32, model: Int32)? {
        guard !keys.isEmpty else { return nil }
        keys.swapAt(0, keys.count - 1)
        let key = keys.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < keys.count else { break }
            let right = left + 1
            let child = right < keys.count && keys[right] > keys[left] ? right : left
            guard keys[child] > keys[parent] else { break }
            keys.swapAt(child, parent)
            parent = child
        }
        return (Int32(bitPattern: UInt32(key >> 32)), Int32(bitPattern: UInt32(key & 0xFFFF_FFFF)))
    }
}

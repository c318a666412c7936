import MeshCore

/// Baseline 1: every peer is an independent LRU cache and the client's request goes to a random
/// peer (the same peer the mesh's entry draw picks), which loads the model itself on a miss.
/// The ledger is MeshCore's ``LocalCache`` without a churn guard; loads take the model's load
/// time, and requests meanwhile wait (a miss), as in the mesh.
public enum RandomLRUBaseline {
    public static func run(configuration: SimulationConfiguration, catalog: ModelCatalog, trace: Trace) -> CacheRunResult {
        let bands = PopularityBands(models: catalog.count)
        let windows = TraceWindows(count: configuration.windows, durationMillis: trace.durationMillis)
        var result = CacheRunResult(tally: HitTally(windows: windows.count, bands: bands.count))
        var caches: [LocalCache?] = Array(repeating: LocalCache(capacityBytes: configuration.peerCapacityBytes, policy: .leastRecentlyUsed), count: configuration.peers)
        var live = LivePeers(initial: configuration.peers)
        var loads = EventQueue<(slot: Int32, model: Int32)>()
        var schedule = SampleSchedule(interval: configuration.sampleInterval.milliseconds, end: trace.durationMillis)
        let start = MeshSimulator.startTime

        func takeSamples(upTo time: Int64) {
            while let due = schedule.due(before: time) {
                result.samples.append(sample(at: due))
            }
        }
        func sample(at time: Int64) -> ResidencySample {
            var sample = ResidencySample(time: time, usedBytes: 0, capacityBytes: 0, bands: bands.count)
            var copies: [ModelID: Int] = [:]
            for slot in live.slots {
                guard let cache = caches[Int(slot)] else { continue }
                sample.usedBytes += cache.usedBytes
                sample.capacityBytes += cache.capacityBytes
                for model in cache.entries.keys { copies[model, default: 0] += 1 }
            }
            for (model, count) in copies {
                sample.add(copies: count, band: bands.band(ofRank: catalog.ranks[Int(catalog.index(of: model))]))
            }
            return sample
        }

        var nextChange = 0
        for request in 0..<trace.count {
            let time = trace.times[request]
            // Loads that ended and peers that died or joined before this request, in time order.
            while true {
                let loadTime = loads.nextTime ?? Int64.max
                let changeTime = nextChange < trace.membership.count ? trace.membership[nextChange].time : Int64.max
                let next = min(loadTime, changeTime)
                guard next <= time else { break }
                takeSamples(upTo: next)
                if loadTime == next, let load = loads.pop()?.event {
                    caches[Int(load.slot)]?.markLoaded(catalog.ids[Int(load.model)], now: start + .milliseconds(loadTime))
                } else {
                    let change = trace.membership[nextChange].change
                    if let slot = live.apply(change) {
                        if case .kill = change {
                            caches[Int(slot)] = nil
                        } else {
                            caches.append(LocalCache(capacityBytes: configuration.peerCapacityBytes, policy: .leastRecentlyUsed))
                        }
                    }
                    nextChange += 1
                }
            }
            takeSamples(upTo: time)
            let model = trace.models[request]
            let window = windows.window(of: time)
            let band = bands.band(ofRank: catalog.ranks[Int(model)])
            guard let slot = live.entry(for: trace.entryDraws[request]) else {
                result.failed += 1
                result.tally.record(window: window, band: band, hit: false)
                continue
            }
            let now = start + .milliseconds(time)
            let id = catalog.ids[Int(model)]
            if let entry = caches[Int(slot)]!.entry(id) {
                caches[Int(slot)]!.touch(id, now: now)
                result.tally.record(window: window, band: band, hit: entry.state == .loaded)
                continue
            }
            result.tally.record(window: window, band: band, hit: false)
            switch caches[Int(slot)]!.admit(id, sizeBytes: catalog.sizes[Int(model)], now: now, minChurnAge: .zero) {
            case .admitted(let victims):
                result.evictions += victims.count
                result.loads += 1
                loads.schedule((slot, model), at: time + catalog.loadMillis[Int(model)])
            case .alreadyPresent:
                break
            case .tooLarge, .noRoom, .wouldChurn:
                result.failed += 1
            }
        }
        takeSamples(upTo: trace.durationMillis)
        return result
    }
}

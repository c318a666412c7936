import Benchmark
import MeshCore

func routingBenchmarks() {
    let view = Fixtures.view(peers: 50, models: 5_000, copiesPerModel: 2)
    let planner = RoutePlanner()
    // model-0 has copies on peer-0 and peer-1.
    let hit = RoutePlanner.Request(model: Fixtures.model(0), record: Fixtures.record, hop: .external, sizeBytes: 64 << 20)
    let miss = RoutePlanner.Request(model: ModelID(trusted: "never-loaded"), record: Fixtures.record, hop: .external, sizeBytes: 64 << 20)

    Benchmark("RoutePlanner.decide local hit (50 peers, 10k copies)") { benchmark in
        var random = SystemRandomNumberGenerator()
        let local = RoutePlanner.Local(peer: Fixtures.peer(0), copy: .loaded, inFlight: 0)
        for _ in benchmark.scaledIterations {
            blackHole(planner.decide(hit, local: local, view: view, now: Fixtures.now, using: &random))
        }
    }
    Benchmark("RoutePlanner.decide forward to a holder (50 peers, 10k copies)") { benchmark in
        var random = SystemRandomNumberGenerator()
        let local = RoutePlanner.Local(peer: Fixtures.peer(7), copy: nil, inFlight: 0)
        for _ in benchmark.scaledIterations {
            blackHole(planner.decide(hit, local: local, view: view, now: Fixtures.now, using: &random))
        }
    }
    Benchmark("RoutePlanner.decide miss, places the model (50 peers)") { benchmark in
        var random = SystemRandomNumberGenerator()
        let local = RoutePlanner.Local(peer: Fixtures.peer(7), copy: nil, inFlight: 0)
        for _ in benchmark.scaledIterations {
            blackHole(planner.decide(miss, local: local, view: view, now: Fixtures.now, using: &random))
        }
    }
}

func placementBenchmarks() {
    let view = Fixtures.view(peers: 1_000, models: 20_000, copiesPerModel: 2)
    let policy = PlacementPolicy()
    Benchmark("PlacementPolicy.choose over 1,000 peers", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(policy.choose(for: ModelID(trusted: "new-model"), record: Fixtures.record, sizeBytes: 64 << 20, view: view,
                                    excluded: [], now: Fixtures.now))
        }
    }
    // An extra copy of a held model, one peer already tried: holders and exclusions are marked.
    Benchmark("PlacementPolicy.choose over 1,000 peers, 2 holders, 1 tried", configuration: .init(scalingFactor: .one)) { benchmark in
        let tried: Set<PeerID> = [Fixtures.peer(500)]
        for _ in benchmark.scaledIterations {
            blackHole(policy.choose(for: Fixtures.model(0), record: Fixtures.record, sizeBytes: 64 << 20, view: view,
                                    excluded: tried, now: Fixtures.now))
        }
    }
}

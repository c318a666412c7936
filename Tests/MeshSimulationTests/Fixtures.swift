import MeshCore
@testable import MeshSimulation

let MiB: Int64 = 1 << 20

/// A small cluster and workload that runs in a fraction of a second.
func smallConfiguration(seed: UInt64 = 7) -> SimulationConfiguration {
    var configuration = SimulationConfiguration()
    configuration.peers = 12
    configuration.peerCapacityBytes = 2 << 30
    configuration.models = 1500
    configuration.requestsPerSecond = 60
    configuration.duration = .seconds(90)
    configuration.killEvery = .seconds(30)
    configuration.replaceAfter = .seconds(5)
    configuration.sampleInterval = .seconds(10)
    configuration.seed = seed
    return configuration
}

/// A configuration for traces written by hand: no churn, no zones, gossip that arrives at once.
func handConfiguration(peers: Int, capacity: Int64) -> SimulationConfiguration {
    var configuration = SimulationConfiguration()
    configuration.peers = peers
    configuration.peerCapacityBytes = capacity
    configuration.zones = 0
    configuration.killEvery = nil
    configuration.replaceAfter = nil
    configuration.gossipDelay = .zero
    configuration.inferenceLatency = .milliseconds(10)
    configuration.windows = 1
    return configuration
}

/// A trace of (millisecond, model, entry draw) requests.
func handTrace(_ requests: [(Int64, Int32, UInt32)], durationMillis: Int64) -> Trace {
    var trace = Trace(durationMillis: durationMillis)
    for (time, model, draw) in requests { trace.append(time: time, model: model, entryDraw: draw) }
    return trace
}

func runMesh(_ configuration: SimulationConfiguration, _ catalog: ModelCatalog, _ trace: Trace) -> MeshSimulator {
    var simulator = MeshSimulator(configuration: configuration, catalog: catalog, trace: trace)
    _ = simulator.run()
    return simulator
}

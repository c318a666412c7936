import Benchmark
import MeshCore
import OpenInference

/// Hot paths of a request and of the mirror, each measured per operation (`scalingFactor`
/// repeats the body so one iteration is long enough to time).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    routingBenchmarks()
    placementBenchmarks()
    codecBenchmarks()
    mirrorBenchmarks()
}

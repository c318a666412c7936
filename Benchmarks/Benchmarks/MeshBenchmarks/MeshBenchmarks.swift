import Benchmark
import MeshCore
import OpenInference

/// Hot paths of a request and of the mirror, each measured per operation (`scalingFactor`
/// repeats the body so one iteration is long enough to time).
///
/// Time is a report (this machine is noisy); allocations are counted exactly, so they carry
/// thresholds: `tools/bench-micro --check` fails when a benchmark allocates more (or fewer)
/// times per operation than `Thresholds/` records.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )
    routingBenchmarks()
    placementBenchmarks()
    codecBenchmarks()
    requestPathBenchmarks()
    mirrorBenchmarks()
}

import MeshCore

/// One run: a trace generated from the configuration, then the mesh and both baselines over it.
public enum Simulation {
    public static func run(_ configuration: SimulationConfiguration, progress: (String) -> Void = { _ in }) -> SimulationReport {
        let clock = ContinuousClock()
        var timings = SimulationReport.Timings()
        let started = clock.now
        progress("generating \(ReportFormatting.count(configuration.models)) models and a \(ReportFormatting.duration(configuration.duration)) trace")
        let catalog = ModelCatalog(configuration)
        let trace = Trace.generate(configuration, catalog: catalog)
        timings.trace = clock.now - started

        progress("mesh: \(ReportFormatting.count(trace.count)) requests over \(configuration.peers) peers")
        var mark = clock.now
        var simulator = MeshSimulator(configuration: configuration, catalog: catalog, trace: trace)
        let mesh = simulator.run()
        timings.mesh = clock.now - mark

        progress("baseline: per-peer LRU with random routing")
        mark = clock.now
        let randomLRU = RandomLRUBaseline.run(configuration: configuration, catalog: catalog, trace: trace)
        timings.randomLRU = clock.now - mark

        progress("baseline: offline optimal (Belady)")
        mark = clock.now
        let belady = BeladyBaseline.run(configuration: configuration, catalog: catalog, trace: trace)
        timings.belady = clock.now - mark
        timings.total = clock.now - started

        return SimulationReport(configuration: configuration, workload: .init(catalog: catalog, trace: trace),
                                mesh: mesh, randomLRU: randomLRU, belady: belady, timings: timings)
    }
}

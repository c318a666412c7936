import MeshCore

/// Runs a trace through the peer's own machines: ``RequestRoute`` for every request and hop
/// (with ``RoutePlanner`` and ``PlacementPolicy`` inside it), ``CopyLedger`` for every copy's
/// life (admission, eviction, loads, serving), ``ScalingPolicy`` for every model's decider each
/// scale interval. The simulator only plays the parts around them: the clock, etcd (one
/// ``ClusterView`` that every peer reads, changed exactly as the mirror would change it), gossip
/// (reports built from each peer's ledger, delivered after a delay), load times, and peers dying
/// and joining.
public struct MeshSimulator {
    let configuration: SimulationConfiguration
    let catalog: ModelCatalog
    let trace: Trace
    let routeSettings: RequestRoute.Settings
    let scalingPolicy: ScalingPolicy
    let bands: PopularityBands
    let windows: TraceWindows
    /// What etcd holds and gossip carries, as every peer sees it.
    var view = ClusterView()
    var revision: Int64 = 0
    var peers: [SimulatedPeer] = []
    var slotByID: [PeerID: Int32] = [:]
    var live: LivePeers
    var events = EventQueue<MeshEvent>()
    /// Routing's random choices (power of two choices).
    var random: SeededRandom
    var lastParkTicket: UInt64 = 0
    /// Milliseconds since the trace started, and the same as a wall-clock reading.
    var clock: Int64 = 0
    var now: MeshTime
    let start: MeshTime
    public internal(set) var statistics: MeshStatistics

    /// The simulated wall clock starts here (any fixed instant will do).
    public static let startTime = MeshTime(millisecondsSinceEpoch: 1_800_000_000_000)

    public init(configuration: SimulationConfiguration, catalog: ModelCatalog, trace: Trace) {
        self.configuration = configuration
        self.catalog = catalog
        self.trace = trace
        routeSettings = configuration.routeSettings
        scalingPolicy = configuration.scalingPolicy
        bands = PopularityBands(models: catalog.count)
        windows = TraceWindows(count: configuration.windows, durationMillis: trace.durationMillis)
        live = LivePeers(initial: 0)
        random = SeededRandom(seed: configuration.seed, stream: 3)
        start = MeshSimulator.startTime
        now = start
        statistics = MeshStatistics(windows: windows.count, bands: bands.count)
        for _ in 0..<configuration.peers { join() }
    }

    /// Plays the whole trace, then lets loads in progress finish so every request has an outcome.
    public mutating func run() -> MeshStatistics {
        let end = trace.durationMillis
        schedulePeriodic(.gossip, every: configuration.gossipInterval)
        schedulePeriodic(.scale, every: configuration.scaleInterval)
        schedulePeriodic(.sample, every: configuration.sampleInterval)
        var nextRequest = 0
        var nextChange = 0
        while true {
            let requestTime = nextRequest < trace.count ? trace.times[nextRequest] : Int64.max
            let changeTime = nextChange < trace.membership.count ? trace.membership[nextChange].time : Int64.max
            let eventTime = events.nextTime ?? Int64.max
            let time = min(requestTime, changeTime, eventTime)
            guard time != Int64.max else { break }
            advance(to: time)
            // At one instant: completions and ticks first, then deaths and joins, then arrivals.
            if eventTime == time, let popped = events.pop() {
                handle(popped.event, end: end)
            } else if changeTime == time {
                applyMembership(trace.membership[nextChange].change)
                nextChange += 1
            } else {
                arrive(nextRequest)
                nextRequest += 1
            }
        }
        return statistics
    }

    mutating func advance(to time: Int64) {
        clock = time
        now = start + .milliseconds(time)
    }

    private mutating func schedulePeriodic(_ event: MeshEvent, every interval: Duration) {
        guard interval > .zero else { return }
        events.schedule(event, at: interval.milliseconds)
    }

    private mutating func handle(_ event: MeshEvent, end: Int64) {
        switch event {
        case .loadFinished(let peer, let model, let token):
            finishLoad(model, at: peer, token: token)
        case .retryLoad(let peer, let ticket):
            retryLoad(ticket, at: peer)
        case .served(let peer, let model, let token, let entry):
            finishServing(model, token: token, at: peer, entry: entry)
        case .gossip:
            gossip()
            reschedule(event, every: configuration.gossipInterval, end: end)
        case .deliver(let reports):
            deliver(reports)
        case .scale:
            scale()
            reschedule(event, every: configuration.scaleInterval, end: end)
        case .sample:
            statistics.samples.append(sample())
            reschedule(event, every: configuration.sampleInterval, end: end)
        case .leaseExpired(let peer):
            expireLease(of: peer)
        }
    }

    private mutating func reschedule(_ event: MeshEvent, every interval: Duration, end: Int64) {
        let next = clock + interval.milliseconds
        if next <= end { events.schedule(event, at: next) }
    }

    /// Applies one etcd change to the view, as the mirror's watch would.
    mutating func apply(_ change: ClusterView.Change) {
        view.apply(change)
        revision += 1
        view.advance(to: revision)
    }
}

enum MeshEvent {
    case loadFinished(peer: Int32, model: Int32, token: UInt64)
    /// A request waiting for room on `peer` asks for its load again.
    case retryLoad(peer: Int32, ticket: UInt64)
    /// A request finished on `peer` with the copy `token`; `entry` forwarded it there (or is `peer` itself).
    case served(peer: Int32, model: Int32, token: UInt64, entry: Int32)
    case gossip
    case deliver([LoadReport])
    case scale
    case sample
    case leaseExpired(peer: Int32)
}

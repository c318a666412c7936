/// The workload every system in a run sees: request arrivals (time, model, which live peer the
/// client reaches) and the peer deaths and joins. Stored as parallel arrays: millions of requests
/// fit in tens of megabytes.
public struct Trace: Sendable {
    /// Milliseconds since the start of the trace, non-decreasing.
    public var times: [Int64] = []
    /// Model index of each request.
    public var models: [Int32] = []
    /// Picks the entry peer: index `draw % live peers` into the live peers in join order.
    public var entryDraws: [UInt32] = []
    public var membership: [MembershipEvent] = []
    public var durationMillis: Int64

    public var count: Int { times.count }

    public init(durationMillis: Int64) {
        self.durationMillis = durationMillis
    }

    public mutating func append(time: Int64, model: Int32, entryDraw: UInt32) {
        times.append(time)
        models.append(model)
        entryDraws.append(entryDraw)
    }

    /// A trace of `configuration.duration`: Poisson arrivals at the configured rate, models drawn
    /// by Zipf popularity, and a peer death every `killEvery` (replaced `replaceAfter` later).
    public static func generate(_ configuration: SimulationConfiguration, catalog: ModelCatalog) -> Trace {
        var random = SeededRandom(seed: configuration.seed, stream: 2)
        let zipf = ZipfDistribution(count: catalog.count, exponent: configuration.zipfExponent)
        let durationMillis = configuration.duration.milliseconds
        var trace = Trace(durationMillis: durationMillis)
        let expected = Int(configuration.requestsPerSecond * configuration.duration.seconds * 1.01)
        trace.times.reserveCapacity(expected)
        trace.models.reserveCapacity(expected)
        trace.entryDraws.reserveCapacity(expected)
        let meanGap = 1000 / configuration.requestsPerSecond
        var clock = random.exponential(mean: meanGap)
        while clock < Double(durationMillis) {
            let model = catalog.modelsByRank[zipf.sample(using: &random)]
            trace.append(time: Int64(clock), model: model, entryDraw: UInt32(truncatingIfNeeded: random.next()))
            clock += random.exponential(mean: meanGap)
        }
        trace.membership = churn(configuration, durationMillis: durationMillis, random: &random)
        return trace
    }

    private static func churn(_ configuration: SimulationConfiguration, durationMillis: Int64, random: inout SeededRandom) -> [MembershipEvent] {
        guard let every = configuration.killEvery?.milliseconds, every > 0 else { return [] }
        var events: [MembershipEvent] = []
        var time = every
        while time < durationMillis {
            events.append(MembershipEvent(time: time, change: .kill(draw: UInt32(truncatingIfNeeded: random.next()))))
            if let after = configuration.replaceAfter?.milliseconds, time + after < durationMillis {
                events.append(MembershipEvent(time: time + after, change: .join))
            }
            time += every
        }
        // Stable: a join and a kill at the same millisecond keep their generation order.
        return events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }
}

public struct MembershipEvent: Sendable, Hashable {
    public enum Change: Sendable, Hashable {
        /// The live peer at index `draw % live peers` dies without warning.
        case kill(draw: UInt32)
        /// A new peer with an empty memory joins.
        case join
    }

    public var time: Int64
    public var change: Change

    public init(time: Int64, change: Change) {
        self.time = time
        self.change = change
    }
}

/// The live peers in join order, shared by the mesh and the per-peer LRU baseline so that both
/// route a request's draw to the same peer and kill the same peer at each death.
public struct LivePeers: Sendable {
    /// Slots of live peers, in join order.
    public private(set) var slots: [Int32]
    /// Slots handed out so far (a joining peer gets the next one).
    public private(set) var issued: Int32

    public init(initial: Int) {
        slots = (0..<Int32(initial)).map { $0 }
        issued = Int32(initial)
    }

    public var isEmpty: Bool { slots.isEmpty }

    public func entry(for draw: UInt32) -> Int32? {
        slots.isEmpty ? nil : slots[Int(draw % UInt32(slots.count))]
    }

    /// Applies a membership change; returns the slot that died or joined (nil: nobody left to kill).
    public mutating func apply(_ change: MembershipEvent.Change) -> Int32? {
        switch change {
        case .kill(let draw):
            guard !slots.isEmpty else { return nil }
            return slots.remove(at: Int(draw % UInt32(slots.count)))
        case .join:
            let slot = issued
            issued += 1
            slots.append(slot)
            return slot
        }
    }
}

import MeshCore

/// Popularity bands for per-band figures: ranks 1–10, 11–100, 101–1,000, ... up to the model count.
public struct PopularityBands: Sendable, Hashable {
    /// Exclusive upper rank of each band (0-based ranks), the last one the model count.
    public let upperBounds: [Int]

    public init(models: Int) {
        var bounds: [Int] = []
        var bound = 10
        while bound < models {
            bounds.append(bound)
            bound *= 10
        }
        bounds.append(models)
        upperBounds = bounds
    }

    public var count: Int { upperBounds.count }

    public func band(ofRank rank: Int32) -> Int {
        var band = 0
        while Int(rank) >= upperBounds[band] { band += 1 }
        return band
    }

    public func lowerBound(of band: Int) -> Int { band == 0 ? 0 : upperBounds[band - 1] }
    public func size(of band: Int) -> Int { upperBounds[band] - lowerBound(of: band) }

    /// "1–10", "11–100", ... (1-based ranks, as people count them).
    public func label(of band: Int) -> String {
        "\(Formatting.grouped(lowerBound(of: band) + 1))–\(Formatting.grouped(upperBounds[band]))"
    }
}

/// Requests and hits per time window and per popularity band, for one system.
public struct HitTally: Sendable, Hashable {
    public private(set) var windowRequests: [Int]
    public private(set) var windowHits: [Int]
    public private(set) var bandRequests: [Int]
    public private(set) var bandHits: [Int]

    public init(windows: Int, bands: Int) {
        windowRequests = Array(repeating: 0, count: windows)
        windowHits = Array(repeating: 0, count: windows)
        bandRequests = Array(repeating: 0, count: bands)
        bandHits = Array(repeating: 0, count: bands)
    }

    public mutating func record(window: Int, band: Int, hit: Bool) {
        windowRequests[window] += 1
        bandRequests[band] += 1
        if hit {
            windowHits[window] += 1
            bandHits[band] += 1
        }
    }

    public var requests: Int { windowRequests.reduce(0, +) }
    public var hits: Int { windowHits.reduce(0, +) }
    public var hitRatio: Double { ratio(hits, requests) }

    /// Hits over requests in the second half of the windows: the cluster once warmed up.
    public var steadyHitRatio: Double {
        let half = windowRequests.count / 2
        return ratio(windowHits[half...].reduce(0, +), windowRequests[half...].reduce(0, +))
    }
}

/// Which window of the trace a time falls in.
public struct TraceWindows: Sendable, Hashable {
    public let count: Int
    public let durationMillis: Int64

    public init(count: Int, durationMillis: Int64) {
        self.count = max(1, count)
        self.durationMillis = max(1, durationMillis)
    }

    public func window(of time: Int64) -> Int {
        min(count - 1, max(0, Int(time * Int64(count) / durationMillis)))
    }
}

/// What memory held at one moment.
public struct ResidencySample: Sendable, Hashable {
    public var time: Int64
    public var usedBytes: Int64
    public var capacityBytes: Int64
    /// Copies (a model loaded on three peers counts three times), loading ones included.
    public var copies: Int
    /// Models with at least one copy.
    public var distinctModels: Int
    /// Per popularity band: copies, models with a copy, and the most copies of one model.
    public var bandCopies: [Int]
    public var bandModels: [Int]
    public var bandMaxCopies: [Int]

    public init(time: Int64, usedBytes: Int64, capacityBytes: Int64, bands: Int) {
        self.time = time
        self.usedBytes = usedBytes
        self.capacityBytes = capacityBytes
        copies = 0
        distinctModels = 0
        bandCopies = Array(repeating: 0, count: bands)
        bandModels = Array(repeating: 0, count: bands)
        bandMaxCopies = Array(repeating: 0, count: bands)
    }

    /// Counts `copies` copies of one model in `band`.
    public mutating func add(copies count: Int, band: Int) {
        guard count > 0 else { return }
        copies += count
        distinctModels += 1
        bandCopies[band] += count
        bandModels[band] += 1
        bandMaxCopies[band] = max(bandMaxCopies[band], count)
    }
}

/// Means over the samples taken in the second half of the trace (the warmed-up cluster).
public struct ResidencySummary: Sendable, Hashable {
    public var usedBytes: Double = 0
    public var capacityBytes: Double = 0
    public var copies: Double = 0
    public var distinctModels: Double = 0
    public var bandCopies: [Double]
    public var bandModels: [Double]
    public var bandMaxCopies: [Int]

    public init(_ samples: [ResidencySample], durationMillis: Int64, bands: Int) {
        bandCopies = Array(repeating: 0, count: bands)
        bandModels = Array(repeating: 0, count: bands)
        bandMaxCopies = Array(repeating: 0, count: bands)
        let steady = samples.filter { $0.time >= durationMillis / 2 }
        guard !steady.isEmpty else { return }
        let n = Double(steady.count)
        usedBytes = steady.reduce(0) { $0 + Double($1.usedBytes) } / n
        capacityBytes = steady.reduce(0) { $0 + Double($1.capacityBytes) } / n
        copies = steady.reduce(0) { $0 + Double($1.copies) } / n
        distinctModels = steady.reduce(0) { $0 + Double($1.distinctModels) } / n
        for band in 0..<bands {
            bandCopies[band] = steady.reduce(0) { $0 + Double($1.bandCopies[band]) } / n
            bandModels[band] = steady.reduce(0) { $0 + Double($1.bandModels[band]) } / n
            bandMaxCopies[band] = steady.map { $0.bandMaxCopies[band] }.max() ?? 0
        }
    }
}

/// Sample times due as a run's clock moves: every `interval` from `interval` to the end.
struct SampleSchedule {
    let interval: Int64
    let end: Int64
    private(set) var next: Int64

    init(interval: Int64, end: Int64) {
        self.interval = max(1, interval)
        self.end = end
        next = self.interval
    }

    /// The next sample time at or before `time`, if one is due; call until it returns nil.
    mutating func due(before time: Int64) -> Int64? {
        guard next <= time, next <= end else { return nil }
        defer { next += interval }
        return next
    }
}

func ratio(_ part: Int, _ whole: Int) -> Double {
    whole == 0 ? 0 : Double(part) / Double(whole)
}

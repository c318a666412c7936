import AsyncHTTPClient
import NIOSSL
import NIOCore
import NIOHTTP1
import Synchronization

/// Drives one run: opens connections, sends the warm-up, then measures.
public struct LoadRunner: Sendable {
    public let options: LoadOptions
    let plan: RequestPlan
    let client: HTTPClient
    /// The REST body, headers and timeout in the client's types, made once: the client shares
    /// the cores with the server it measures, so its per-request work is kept small.
    let body: ByteBuffer
    let headers: HTTPHeaders
    let timeout: TimeAmount

    /// `client` should allow at least as many connections per host as requests in flight;
    /// ``makeClient(connections:)`` builds one that does.
    public init(options: LoadOptions, client: HTTPClient) throws(LoadOptions.Invalid) {
        try options.validate()
        self.options = options
        self.plan = RequestPlan(options)
        self.client = client
        self.body = ByteBuffer(bytes: plan.body)
        self.headers = HTTPHeaders(plan.headers)
        self.timeout = TimeAmount(options.requestTimeout)
    }

    /// An HTTP/1.1 keep-alive client with `connections` per host.
    /// `trustingAnyCertificate`: https targets are reached without checking their certificate
    /// (benchmarks of a mesh whose test CA the client does not know).
    public static func makeClient(connections: Int, trustingAnyCertificate: Bool = false) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        if trustingAnyCertificate {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            configuration.tlsConfiguration = tls
        }
        configuration.httpVersion = .http1Only
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connections)
        configuration.connectionPool.idleTimeout = .seconds(60)
        configuration.timeout.connect = .seconds(2)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func run() async -> LoadReport {
        await measure().report
    }

    /// The run's raw figures, which can be merged with other runs' (interleaved rounds).
    public func measure() async -> LoadMeasurement {
        let targets = plan.grpcTargets
        guard !targets.isEmpty else { return await measure(grpc: .none) }
        do {
            return try await GRPCConnections.with(targets) { await measure(grpc: $0) }
        } catch {
            return LoadMeasurement(requests: 1, errors: ["gRPC connections failed: \(error)": 1])
        }
    }

    private func measure(grpc: GRPCConnections) async -> LoadMeasurement {
        let started = ContinuousClock.now
        let tally = SharedTally(trackingSince: started)
        if options.warmup > .zero {
            await phase(duration: options.warmup, maxRequests: nil, into: tally, recording: false, grpc: grpc)
        }
        let measureStart = ContinuousClock.now
        await phase(duration: options.duration, maxRequests: options.maxRequests, into: tally, recording: true, grpc: grpc)
        let seconds = (ContinuousClock.now - measureStart).secondsDouble
        return tally.measurement(seconds: seconds)
    }

    private func phase(duration: Duration?, maxRequests: Int?, into tally: SharedTally, recording: Bool, grpc: GRPCConnections) async {
        switch options.mode {
        case .closedLoop(let concurrency):
            let end = duration.map { ContinuousClock.now + $0 }
            let issued = IssuedCount()
            await withDiscardingTaskGroup { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var local = Tally()
                        var random = SystemRandomNumberGenerator()
                        while true {
                            if let end, ContinuousClock.now >= end { break }
                            let index = issued.next()
                            if let maxRequests, index >= maxRequests { break }
                            let destination = plan.destination(index &+ worker, using: &random)
                            let begun = ContinuousClock.now
                            let outcome = await send(to: destination, grpc: grpc)
                            if recording { local.record(outcome, latency: .now - begun) }
                            tally.see(outcome)
                        }
                        tally.merge(local)
                    }
                }
            }

        case .openLoop(let rate):
            guard let duration else { return }
            let schedule = OpenLoopSchedule(start: .now, requestsPerSecond: rate, duration: duration)
            let limit = min(schedule.count, maxRequests ?? .max)
            await withDiscardingTaskGroup { group in
                var random = SystemRandomNumberGenerator()
                var index = 0
                while index < limit {
                    let due = schedule.due(index)
                    if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                    // Everything due by now goes out at once: a late sender must not thin the rate.
                    let stop = max(min(limit, schedule.dueCount(at: .now)), index + 1)
                    while index < stop {
                        let destination = plan.destination(index, using: &random)
                        let intended = schedule.due(index)
                        group.addTask {
                            let outcome = await send(to: destination, grpc: grpc)
                            let latency = ContinuousClock.now - intended
                            if recording { tally.record(outcome, latency: latency) }
                            tally.see(outcome)
                        }
                        index += 1
                    }
                }
            }
        }
    }

    private func send(to destination: RequestPlan.Destination, grpc: GRPCConnections) async -> Outcome {
        if let target = destination.grpc {
            return await grpc.infer(plan.grpcMessages[destination.model] ?? [], at: target, timeout: options.requestTimeout,
                                    trackHeader: options.trackHeader)
        }
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 64 << 20)
            let tracked = options.trackHeader.flatMap { response.headers.first(name: $0) }
            guard response.status == .ok else {
                let text = String(buffer: body).prefix(160)
                return Outcome(error: "HTTP \(response.status.code): \(text)", tracked: tracked)
            }
            return Outcome(error: nil, tracked: tracked)
        } catch {
            return Outcome(error: String("\(error)".prefix(160)), tracked: nil)
        }
    }
}

/// Hands out request numbers to the workers of a closed loop.
final class IssuedCount: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

struct Outcome: Sendable {
    var error: String?
    var tracked: String? = nil
}

/// One worker's counts, merged at the end so the hot loop takes no lock.
struct Tally: Sendable {
    var recorder = LatencyRecorder()
    var requests = 0
    var errors: [String: Int] = [:]

    mutating func record(_ outcome: Outcome, latency: Duration) {
        requests += 1
        if let error = outcome.error {
            errors[error, default: 0] += 1
        } else {
            recorder.record(latency)
        }
    }

    mutating func merge(_ other: Tally) {
        recorder.merge(other.recorder)
        requests += other.requests
        errors.merge(other.errors, uniquingKeysWith: +)
    }
}

final class SharedTally: Sendable {
    private let state = Mutex(Tally())
    private let firstSeen = Mutex<[String: Double]>([:])
    private let trackingSince: ContinuousClock.Instant

    init(trackingSince: ContinuousClock.Instant) {
        self.trackingSince = trackingSince
    }

    func record(_ outcome: Outcome, latency: Duration) {
        state.withLock { $0.record(outcome, latency: latency) }
    }

    func merge(_ tally: Tally) {
        state.withLock { $0.merge(tally) }
    }

    func see(_ outcome: Outcome) {
        guard let value = outcome.tracked, outcome.error == nil else { return }
        let at = (ContinuousClock.now - trackingSince).secondsDouble
        firstSeen.withLock { seen in
            if seen[value] == nil { seen[value] = at }
        }
    }

    func measurement(seconds: Double) -> LoadMeasurement {
        let tally = state.withLock { $0 }
        return LoadMeasurement(recorder: tally.recorder, requests: tally.requests, errors: tally.errors, seconds: seconds,
                               firstSeen: firstSeen.withLock { $0 })
    }
}

/// Raw figures of one or more runs.
public struct LoadMeasurement: Sendable {
    public var recorder: LatencyRecorder
    public var requests: Int
    public var errors: [String: Int]
    public var seconds: Double
    public var firstSeen: [String: Double]

    public init(recorder: LatencyRecorder = LatencyRecorder(), requests: Int = 0, errors: [String: Int] = [:], seconds: Double = 0,
                firstSeen: [String: Double] = [:]) {
        self.recorder = recorder
        self.requests = requests
        self.errors = errors
        self.seconds = seconds
        self.firstSeen = firstSeen
    }

    /// Adds another run's figures (its time adds to the measured time).
    public mutating func merge(_ other: LoadMeasurement) {
        recorder.merge(other.recorder)
        requests += other.requests
        errors.merge(other.errors, uniquingKeysWith: +)
        seconds += other.seconds
        firstSeen.merge(other.firstSeen) { min($0, $1) }
    }

    public var errorCount: Int { errors.values.reduce(0, +) }

    public var report: LoadReport {
        let samples = Dictionary(uniqueKeysWithValues: errors.sorted { $0.value > $1.value }.prefix(10).map { ($0.key, $0.value) })
        return LoadReport(requests: requests, errors: errorCount, errorSamples: samples, seconds: seconds, latency: recorder.summary,
                          firstSeen: firstSeen)
    }
}

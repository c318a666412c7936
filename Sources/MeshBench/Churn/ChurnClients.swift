import AsyncHTTPClient
import Foundation
import LoadGenerator
import MeshCore
import NIOCore
import Synchronization

/// Closed-loop clients that each send one inference at a time to one peer, choosing the model
/// of every request by Zipf rank, and remember the order the requests were sent in (the trace
/// the pooled LRU replays).
struct ChurnClients: Sendable {
    let client: HTTPClient
    let entry: String
    let models: [String]
    let sampler: ZipfSampler
    let timeout: Duration

    struct Result: Sendable {
        var measurement: LoadMeasurement
        /// Model names in the order their requests were sent.
        var trace: [String]
    }

    /// Runs `clients` workers for `duration`.
    func run(clients: Int, duration: Duration, seed: UInt64) async -> Result {
        let collected = Collected()
        let started = ContinuousClock.now
        let end = started + duration
        await withDiscardingTaskGroup { group in
            for worker in 0..<clients {
                group.addTask {
                    var random = SplitMix(seed: seed &+ UInt64(worker) &* 0x9E37_79B9_7F4A_7C15)
                    var local = LoadMeasurement()
                    var sent: [(Int, Int)] = []
                    while ContinuousClock.now < end {
                        let rank = sampler.next(using: &random)
                        sent.append((collected.nextSequence(), rank))
                        let begun = ContinuousClock.now
                        let error = await Self.infer(models[rank], at: entry, client: client, timeout: timeout)
                        local.requests += 1
                        if let error { local.errors[error, default: 0] += 1 } else { local.recorder.record(.now - begun) }
                    }
                    collected.add(local, sent: sent)
                }
            }
        }
        var (tally, sent) = collected.result
        tally.seconds = (ContinuousClock.now - started).secondsDouble
        return Result(measurement: tally, trace: sent.sorted { $0.0 < $1.0 }.map { models[$0.1] })
    }

    /// `count` requests for `model` at once.
    func burst(_ model: String, count: Int) async -> LoadMeasurement {
        let collected = Collected()
        let started = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            for _ in 0..<count {
                group.addTask {
                    let begun = ContinuousClock.now
                    let error = await Self.infer(model, at: entry, client: client, timeout: timeout)
                    var one = LoadMeasurement(requests: 1)
                    if let error { one.errors[error] = 1 } else { one.recorder.record(.now - begun) }
                    collected.add(one, sent: [])
                }
            }
        }
        var tally = collected.result.tally
        tally.seconds = (ContinuousClock.now - started).secondsDouble
        return tally
    }

    /// One inference of a four-element tensor; nil on success, else what went wrong.
    static func infer(_ model: String, at base: String, client: HTTPClient, timeout: Duration) async -> String? {
        var request = HTTPClientRequest(url: "\(base)/v2/models/\(model)/infer")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"inputs": [{"name": "INPUT0", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { return "HTTP \(response.status.code): \(String(buffer: body).prefix(200))" }
            return nil
        } catch {
            return String("\(error)".prefix(200))
        }
    }
}

/// What the workers measured and the order they sent in, gathered once per worker.
final class Collected: Sendable {
    private let sequence = Atomic<Int>(0)
    private let state = Mutex<(tally: LoadMeasurement, sent: [(Int, Int)])>((LoadMeasurement(), []))

    func nextSequence() -> Int { sequence.add(1, ordering: .relaxed).oldValue }

    func add(_ measurement: LoadMeasurement, sent: [(Int, Int)]) {
        state.withLock {
            $0.tally.merge(measurement)
            $0.sent += sent
        }
    }

    var result: (tally: LoadMeasurement, sent: [(Int, Int)]) { state.withLock { $0 } }
}

/// A small seeded generator, so each client's choices replay.
struct SplitMix: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_E484_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

import Foundation
import MeshCore
import OpenInference
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs a workload over many models through every live peer while killing peers (and, if asked,
/// etcd members) at an interval and restarting them; then checks that every model registered at
/// the start is still registered and servable.
public enum ChaosRun {
    public static func run(_ options: ChaosOptions, log: @escaping @Sendable (String) -> Void = { print($0) }) async throws -> ChaosReport {
        let mesh = try await LocalMesh.start(peers: options.peers, etcdMembers: options.etcdMembers,
                                             arguments: options.peerArguments, networkLab: options.networkLab)
        do {
            let report = try await run(options, on: mesh, log: log)
            await mesh.destroy()
            return report
        } catch {
            await mesh.destroy()
            throw error
        }
    }

    static func run(_ options: ChaosOptions, on mesh: LocalMesh, log: @escaping @Sendable (String) -> Void) async throws -> ChaosReport {
        let models = (0..<options.models).map { "chaos-\($0)" }
        let definition = #"{"loadMillis": \#(options.loadMillis), "inferMillis": \#(options.inferMillis)}"#
        for model in models {
            let path = try mesh.syntheticModel(model, json: definition)
            let reply = try await TestHTTP.post(mesh.peers[0].url + "/v1/models",
                                                json: #"{"id": "\#(model)", "type": "synthetic", "storageUri": "file://\#(path)"}"#)
            guard reply.status == 201 else { throw TestSupportError("registering \(model): HTTP \(reply.status) \(reply.text)") }
        }
        log("registered \(models.count) models; running for \(Int(options.duration.seconds)) s")
        let state = ChaosState(peers: mesh.peers)
        let start = ContinuousClock.now
        let end = start + options.duration

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await drive(options, models: models, state: state, until: end) }
            group.addTask { await inject(options, mesh: mesh, models: models, state: state, start: start, until: end, log: log) }
        }

        var report = ChaosReport(options: options)
        report.registeredAtStart = models.count
        state.results.withLock { results in
            report.requests = results.requests
            report.succeeded = results.succeeded
            report.errors = results.errors
            report.latenciesMillis = results.latencies
        }
        let samples = state.results.withLock { $0.samples }
        report.kills = state.kills.withLock { $0 }.map { $0.summary(samples: samples, start: start, settle: options.restartAfter) }
        // Every registration must have survived, and every model must still serve.
        let live = mesh.peers.filter(\.isRunning)
        let registered = try await listModels(through: live[0])
        report.lostRegistrations = models.filter { !registered.contains($0) }
        for model in models {
            let result = try? await infer(model, through: live, deadline: .now + options.requestDeadline)
            if result?.status != 200 { report.unservable.append(model) }
        }
        // Records and holdings must agree again within two lease TTLs.
        let settle = ContinuousClock.now + options.leaseTTL * 2
        repeat {
            report.copyRecordMismatches = (try? await mesh.copyRecordMismatches(among: live)) ?? ["could not read the copy records"]
            if report.copyRecordMismatches.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < settle
        log("done: \(report.requests) requests, \(report.errors.count) errors, \(report.lostRegistrations.count) lost registrations")
        return report
    }

    /// Offers requests at `options.rate`, each to a live peer; a refused or dropped connection is
    /// retried on another peer within the request's deadline, as a client behind a Service would.
    static func drive(_ options: ChaosOptions, models: [String], state: ChaosState, until end: ContinuousClock.Instant) async {
        let interval = Duration.seconds(1 / options.rate)
        var next = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            var index = 0
            while next < end {
                try? await Task.sleep(until: next, clock: .continuous)
                next += interval
                let model = models[Int.random(in: 0..<models.count)]
                let ordinal = index
                index += 1
                group.addTask {
                    let started = ContinuousClock.now
                    let deadline = started + options.requestDeadline
                    let outcome: String?
                    do {
                        let result = try await infer(model, through: state.livePeers(), deadline: deadline, first: ordinal)
                        outcome = result.status == 200 ? nil : "\(model): HTTP \(result.status) \(result.text.prefix(200))"
                        if result.status == 200 { state.served(model, at: .now) }
                    } catch {
                        outcome = "\(model): \(error)"
                    }
                    let elapsed = ContinuousClock.now - started
                    state.results.withLock { results in
                        results.samples.append(.init(started: started, millis: elapsed.seconds * 1000, failed: outcome != nil))
                        results.requests += 1
                        if let outcome { results.errors.append(outcome) } else {
                            results.succeeded += 1
                            results.latencies.append(elapsed.seconds * 1000)
                        }
                    }
                }
            }
        }
    }

    /// One request, retried on other peers while connections fail and the deadline allows.
    static func infer(_ model: String, through peers: [MeshPeerProcess], deadline: ContinuousClock.Instant, first: Int = 0) async throws -> TestHTTP.Reply {
        let body = RESTEncoding.request(InferenceRequest(inputs: [Tensor(name: "INPUT0", shape: [1], floats: [1])])).bytes
        var attempt = first
        var lastError: (any Error)?
        while ContinuousClock.now < deadline, !peers.isEmpty {
            let peer = peers[attempt % peers.count]
            attempt += 1
            let remaining = deadline - .now
            do {
                return try await TestHTTP.send(.POST, peer.url + "/v2/models/\(model)/infer", body: body,
                                               headers: [("mm-timeout-ms", String(max(1, remaining.milliseconds)))], timeout: remaining)
            } catch {
                lastError = error
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        throw lastError ?? TestSupportError("no live peer to send \(model) to")
    }

    /// Starts a fault every `killEvery`, taking `options.faults` in turn: a peer killed and
    /// restarted or frozen and thawed (the models it held are probed at once, to time how long
    /// until each serves again), or an etcd member killed or frozen.
    static func inject(
        _ options: ChaosOptions, mesh: LocalMesh, models: [String], state: ChaosState,
        start: ContinuousClock.Instant, until end: ContinuousClock.Instant, log: @escaping @Sendable (String) -> Void
    ) async {
        let faults = options.faults.filter { ($0.onEtcd ? mesh.etcdMembers.count > 1 : true) && (!$0.needsLab || mesh.lab != nil) }
        guard !faults.isEmpty else { return }
        var nextFault = start + options.killEvery
        var turn = 0
        while nextFault + options.restartAfter < end {
            try? await Task.sleep(until: nextFault, clock: .continuous)
            nextFault += options.killEvery
            let fault = faults[turn % faults.count]
            turn += 1
            let faultAt = ContinuousClock.now
            if fault.onEtcd {
                let member = mesh.etcdMembers.randomElement()!
                log("\(fault.rawValue): \(member.name)")
                let index = state.beginFault(fault, target: member.name, at: (faultAt - start).seconds, affected: [], startedAt: faultAt)
                if fault == .killEtcd { await member.kill9() } else { member.send(SIGSTOP) }
                try? await Task.sleep(for: options.restartAfter)
                if fault == .killEtcd { try? await member.restart() } else { member.send(SIGCONT) }
                state.kills.withLock { $0[index].restartedIn = ContinuousClock.now - faultAt }
                continue
            }
            let victim = mesh.peers.randomElement()!
            let held = (try? await placement(through: state.livePeers().first { $0.id != victim.id }, of: victim.id)) ?? []
            // A Service stops sending clients to a pod whose readiness probe fails; a lossy
            // peer stays ready and keeps its clients.
            if fault != .loss { state.markDown(victim.id) }
            let startedAt = ContinuousClock.now
            switch fault {
            case .kill: await victim.kill9()
            case .partition: try? mesh.lab?.isolate(victim.id, from: mesh.etcdMembers.map(\.host.name) + mesh.peers.map(\.id))
            case .loss: try? mesh.lab?.degrade(victim.id, lossPercent: options.lossPercent)
            default: victim.send(SIGSTOP)
            }
            let index = state.beginFault(fault, target: victim.id, at: (startedAt - start).seconds, affected: held, startedAt: startedAt)
            log("\(fault.rawValue): \(victim.id) holding \(held.count) models")
            async let probed: Void = probe(held, state: state, deadline: startedAt + options.requestDeadline)
            try? await Task.sleep(for: options.restartAfter)
            do {
                switch fault {
                case .kill: try await victim.restart()
                case .partition, .loss: try mesh.lab?.healAll()
                default: victim.send(SIGCONT)
                }
                try await victim.waitUntilReady()
                state.markUp(victim.id)
                state.kills.withLock { $0[index].restartedIn = ContinuousClock.now - startedAt }
            } catch {
                log("bringing \(victim.id) back failed: \(error)")
            }
            await probed
        }
    }

    /// Sends one request for each model, a few at a time, through the live peers.
    static func probe(_ models: Set<String>, state: ChaosState, deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            var pending = Array(models).makeIterator()
            func next(_ group: inout TaskGroup<Void>) {
                guard let model = pending.next() else { return }
                group.addTask {
                    if let reply = try? await infer(model, through: state.livePeers(), deadline: deadline), reply.status == 200 {
                        state.served(model, at: .now)
                    }
                }
            }
            for _ in 0..<16 { next(&group) }
            for await _ in group { next(&group) }
        }
    }

    static func placement(through peer: MeshPeerProcess?, of victim: String) async throws -> Set<String> {
        guard let peer else { return [] }
        let reply = try await TestHTTP.get(peer.url + "/v1/placement", timeout: .seconds(2))
        let copies = try JSONParser.parse(reply.body)["copies"]?.arrayValue ?? []
        return Set(copies.filter { $0["peer"]?.stringValue == victim }.compactMap { $0["model"]?.stringValue })
    }

    static func listModels(through peer: MeshPeerProcess) async throws -> Set<String> {
        var names = Set<String>()
        var after: String?
        repeat {
            let reply = try await TestHTTP.get(peer.url + "/v1/models?limit=1000" + (after.map { "&after=\($0)" } ?? ""))
            let page = try JSONParser.parse(reply.body)
            for model in page["models"]?.arrayValue ?? [] { if let id = model["id"]?.stringValue { names.insert(id) } }
            after = page["next"]?.stringValue
        } while after != nil
        return names
    }
}

/// State shared between the workload and the fault injector.
final class ChaosState: Sendable {
    struct Results {
        var requests = 0
        var succeeded = 0
        var errors: [String] = []
        var latencies: [Double] = []
        var samples: [Sample] = []
    }

    /// One request: when it started, how long it took, whether the client saw an error.
    struct Sample {
        var started: ContinuousClock.Instant
        var millis: Double
        var failed: Bool
    }

    struct KillRecord {
        var fault: ChaosFault
        var target: String
        var at: Double
        var killedAt: ContinuousClock.Instant
        var waiting: Set<String>
        var affected: Int
        var recovery: Duration?
        var restartedIn: Duration?

        /// The fault's line: requests started from the fault until `settle` after it ended count.
        func summary(samples: [Sample], start: ContinuousClock.Instant, settle: Duration) -> ChaosReport.Kill {
            let windowEnd = killedAt + (restartedIn ?? .seconds(60)) + settle
            let during = samples.filter { $0.started >= killedAt && $0.started < windowEnd }
            let latencies = during.filter { !$0.failed }.map(\.millis)
            return ChaosReport.Kill(
                fault: fault, target: target, at: at, affectedModels: affected, recovery: waiting.isEmpty ? recovery ?? .zero : nil,
                restartedIn: restartedIn, requests: during.count, errors: during.filter(\.failed).count,
                p99Millis: ChaosReport.percentile(0.99, of: latencies)
            )
        }
    }

    let peers: [MeshPeerProcess]
    let down = Mutex<Set<String>>([])
    let results = Mutex(Results())
    let kills = Mutex<[KillRecord]>([])

    init(peers: [MeshPeerProcess]) {
        self.peers = peers
    }

    func livePeers() -> [MeshPeerProcess] {
        let down = self.down.withLock { $0 }
        return peers.filter { !down.contains($0.id) }
    }

    func markDown(_ peer: String) { _ = down.withLock { $0.insert(peer) } }
    func markUp(_ peer: String) { _ = down.withLock { $0.remove(peer) } }

    func beginFault(_ fault: ChaosFault, target: String, at: Double, affected: Set<String>, startedAt: ContinuousClock.Instant) -> Int {
        kills.withLock {
            $0.append(KillRecord(fault: fault, target: target, at: at, killedAt: startedAt, waiting: affected, affected: affected.count))
            return $0.count - 1
        }
    }

    /// A request for `model` succeeded: kills waiting for it may have recovered.
    func served(_ model: String, at time: ContinuousClock.Instant) {
        kills.withLock { kills in
            for index in kills.indices where kills[index].waiting.contains(model) && time > kills[index].killedAt {
                kills[index].waiting.remove(model)
                if kills[index].waiting.isEmpty { kills[index].recovery = time - kills[index].killedAt }
            }
        }
    }
}

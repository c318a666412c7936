import Logging
import MeshCore
import ModelRuntimes
import NIOHTTP1
import OpenInference
import Synchronization

/// Drives an Open Inference server with the repository extension (MLServer, Triton) running
/// beside the peer: a load writes the model's repository entry (``RepositoryLayout``) and asks
/// `POST /v2/repository/models/{m}/load`; an unload asks `.../unload` and removes the entry;
/// inference is relayed to `POST /v2/models/{m}/infer`. A model's size is its files' bytes times
/// `sizeMultiplier`, as ModelMesh's adapters estimate it.
///
/// ``supervise(_:)`` checks `GET /v2/health/ready` every `probeInterval`: a refused connection (or
/// three failed checks in a row) means the server stopped and lost its models; when it answers
/// again, the entries the peer wrote are unloaded and removed before it counts as ready.
public final class OpenInferenceServerRuntime: RuntimeServer {
    public let configuration: RuntimeServerConfiguration
    public var name: String { configuration.name }
    public let modelTypes: Set<String>
    public var pool: String { configuration.name }
    public var capacityBytes: Int64? { configuration.capacityBytes }
    public var isReady: Bool { state.withLock { $0.ready } }

    let layout: RepositoryLayout
    let http: ServerHTTP
    let logger: Logger
    let state = Mutex(State())
    private let checks = CheckSchedule()

    struct State {
        var ready = false
        /// Counts the server's lives as this peer saw them: a model loaded in an earlier one is gone.
        var generation = 0
        /// Loads and unloads under way: MLServer answers nothing else while it loads (one event
        /// loop), so a slow health check then is not a sign of trouble.
        var busy = 0
        /// The latest load of each model: an unload by an older copy of it (evicted, then loaded
        /// again before its unload ran) must not unload the new one.
        var latestLoad: [ModelID: UInt64] = [:]
        var loads: UInt64 = 0
    }

    /// Which load of a model an instance came from: the server's life and the load.
    struct LoadStamp: Sendable, Hashable {
        var generation: Int
        var token: UInt64
    }

    /// Bytes of a model with no files measured (ModelMesh's adapters' default).
    static let defaultModelSizeBytes: Int64 = 1_000_000

    public init(configuration: RuntimeServerConfiguration, maxResponseBytes: Int, logger: Logger) {
        precondition(configuration.runtimeProtocol == .openInference)
        self.configuration = configuration
        modelTypes = Set(configuration.formats)
        layout = RepositoryLayout(server: configuration.server, repository: configuration.repository ?? "/", implementations: configuration.implementations)
        let kind = configuration.server == .mlserver ? "MLServer" : "Triton"
        http = ServerHTTP(baseURL: configuration.restURL ?? "", label: "\(kind) \(configuration.name) at \(configuration.restURL ?? "")",
                          maxResponseBytes: maxResponseBytes)
        var logger = logger
        logger[metadataKey: "runtime"] = "\(configuration.name)"
        self.logger = logger
    }

    // MARK: ModelRuntime

    public func predictSize(of source: ModelSource) async -> Int64? {
        source.diskBytes > 0 ? Self.size(diskBytes: source.diskBytes, multiplier: configuration.sizeMultiplier) : source.sizeHintBytes
    }

    static func size(diskBytes: Int64, multiplier: Double) -> Int64 {
        let bytes = Double(diskBytes) * multiplier
        return bytes >= 9e18 ? Int64.max : max(1, Int64(bytes.rounded(.up)))
    }

    public func load(_ source: ModelSource) async throws -> any LoadedModel {
        let stamp = try beginLoad(source.id)
        try layout.write(source.id, type: source.type, path: source.path)
        let path = "/v2/repository/models/\(source.id.rawValue)/load"
        let reply: ServerHTTP.Reply
        state.withLock { $0.busy += 1 }
        defer { state.withLock { $0.busy -= 1 } }
        do {
            reply = try await http.send(.POST, path, body: Array("{}".utf8), timeout: .seconds(3600))
        } catch {
            // A cancelled or failed call may still load: the unload after it leaves nothing behind.
            schedulePurge(of: source.id, stamp: stamp)
            throw mapped(error, doing: "load \(source.id)")
        }
        guard reply.isSuccess else {
            layout.remove(source.id)
            throw MeshError.failedPrecondition("\(http.label) could not load \(source.id) (HTTP \(reply.status)): \(reply.message)")
        }
        // Loaded means ready to serve: a server that took the load but cannot serve it is a failed load.
        let ready = try? await http.send(.GET, "/v2/models/\(source.id.rawValue)/ready", timeout: .seconds(30))
        guard ready?.isSuccess == true else {
            schedulePurge(of: source.id, stamp: stamp)
            throw MeshError.failedPrecondition("\(http.label) loaded \(source.id) but does not report it ready (HTTP \(ready.map { "\($0.status)" } ?? "no answer"))")
        }
        let metadata = await fetchMetadata(source.id)
        let size = source.diskBytes > 0 ? Self.size(diskBytes: source.diskBytes, multiplier: configuration.sizeMultiplier)
                                         : source.sizeHintBytes ?? Self.defaultModelSizeBytes
        return OpenInferenceServerModel(id: source.id, runtime: self, stamp: stamp, sizeBytes: size, metadata: metadata)
    }

    /// The server's metadata for a model it loaded; a bare one if it has none to give.
    func fetchMetadata(_ model: ModelID) async -> ModelMetadata {
        let bare = ModelMetadata(name: model.rawValue, platform: configuration.server.rawValue, inputs: [], outputs: [])
        guard let reply = try? await http.send(.GET, "/v2/models/\(model.rawValue)", timeout: .seconds(10)), reply.isSuccess,
              let json = try? JSONParser.parse(reply.body) else { return bare }
        return ModelMetadata(serverJSON: json, name: model.rawValue) ?? bare
    }

    /// Stamps a new load of `model`, the latest from now on.
    func beginLoad(_ model: ModelID) throws(MeshError) -> LoadStamp {
        let stamp: LoadStamp? = state.withLock { state in
            guard state.ready else { return nil }
            state.loads += 1
            state.latestLoad[model] = state.loads
            return LoadStamp(generation: state.generation, token: state.loads)
        }
        guard let stamp else { throw MeshError.unavailable("\(http.label) is not ready") }
        return stamp
    }

    /// Whether the load stamped `stamp` may still be on the server and no later load replaced it.
    func isCurrent(_ model: ModelID, _ stamp: LoadStamp) -> Bool {
        state.withLock { $0.ready && $0.generation == stamp.generation && $0.latestLoad[model] == stamp.token }
    }

    /// Turns a failed call into the error its caller reports; a refused connection also wakes
    /// the supervisor to check the server now.
    func mapped(_ error: any Error, doing what: String) -> any Error {
        if error is CancellationError { return error }
        if let unreachable = error as? ServerHTTP.Unreachable {
            if unreachable.refused { checks.suspect() }
            return MeshError.unavailable("could not \(what): \(unreachable.description)")
        }
        return error
    }

    // MARK: Unloading

    func unload(_ model: ModelID, stamp: LoadStamp) async {
        guard isCurrent(model, stamp) else { return }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let reply = try await http.send(.POST, "/v2/repository/models/\(model.rawValue)/unload", body: Array("{}".utf8), timeout: .seconds(60))
                // 404/400: the server does not hold it, which is what an unload wants.
                if reply.isSuccess || reply.status == 404 || reply.status == 400 { break }
                logger.warning("unload refused", metadata: ["model": "\(model)", "status": "\(reply.status)", "error": "\(reply.message)"])
            } catch {
                logger.warning("unload failed", metadata: ["model": "\(model)", "error": "\(error)"])
            }
            guard attempt < 3, isCurrent(model, stamp) else { break }
            try? await Task.sleep(for: .seconds(1))
        }
        let removed = state.withLock { state in
            guard state.ready, state.generation == stamp.generation, state.latestLoad[model] == stamp.token else { return false }
            state.latestLoad[model] = nil
            return true
        }
        if removed { layout.remove(model) }
    }

    /// Loads that failed midway are unloaded by the supervisor (the failed task may be cancelled).
    private let purges = AsyncStream<(ModelID, LoadStamp)>.makeStream()

    private func schedulePurge(of model: ModelID, stamp: LoadStamp) {
        purges.continuation.yield((model, stamp))
    }

    // MARK: Supervision

    public func supervise(_ report: @escaping @Sendable (RuntimeServerEvent) async -> Void) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await (model, stamp) in self.purges.stream {
                    await self.unload(model, stamp: stamp)
                }
            }
            group.addTask {
                await self.watch(report)
                self.purges.continuation.finish()
            }
        }
        http.client.close()
    }

    private func watch(_ report: @escaping @Sendable (RuntimeServerEvent) async -> Void) async {
        var waitingSince = ContinuousClock.now
        var lastWaitLog = ContinuousClock.now - .seconds(60)
        while !Task.isCancelled {
            guard await probe() == .ready else {
                if ContinuousClock.now - lastWaitLog >= .seconds(30) {
                    logger.info("waiting for the runtime server", metadata: ["url": "\(http.baseURL)", "waited_s": "\(Int((ContinuousClock.now - waitingSince).seconds))"])
                    lastWaitLog = .now
                }
                try? await Task.sleep(for: configuration.probeInterval)
                continue
            }
            await purge()
            state.withLock { state in
                state.ready = true
                state.generation += 1
                state.latestLoad = [:]
            }
            logger.info("runtime server ready", metadata: ["url": "\(http.baseURL)", "formats": "\(configuration.formats.joined(separator: ","))"])
            await report(.ready(capacityBytes: configuration.capacityBytes ?? 0))
            let reason = await waitUntilLost()
            guard !Task.isCancelled else { return }
            state.withLock { $0.ready = false }
            logger.warning("runtime server lost; its models are gone", metadata: ["url": "\(http.baseURL)", "reason": "\(reason)"])
            await report(.lost(reason))
            waitingSince = .now
        }
    }

    private func waitUntilLost() async -> String {
        var failures = 0
        while !Task.isCancelled {
            await checks.waitForNextCheck(interval: configuration.probeInterval)
            switch await probe() {
            case .ready: failures = 0
            case .refused: return "connection refused"
            case .failed(let reason):
                guard state.withLock({ $0.busy == 0 }) else { continue }
                failures += 1
                if failures >= 3 { return reason }
            }
        }
        return "stopping"
    }

    enum Probe: Equatable {
        case ready, refused
        case failed(String)
    }

    func probe() async -> Probe {
        do {
            let reply = try await http.send(.GET, "/v2/health/ready", timeout: min(.seconds(2), configuration.probeInterval * 2))
            return reply.isSuccess ? .ready : .failed("readiness answered HTTP \(reply.status)")
        } catch let error as ServerHTTP.Unreachable {
            return error.refused ? .refused : .failed(error.description)
        } catch {
            return .failed("\(error)")
        }
    }

    /// Unloads what the server holds of the peer's entries and removes them: the peer starting
    /// (or the server restarting) means no copy here knows of them.
    private func purge() async {
        let entries = layout.purge()
        var unloaded = 0
        for name in entries {
            if let reply = try? await http.send(.POST, "/v2/repository/models/\(name)/unload", body: Array("{}".utf8), timeout: .seconds(60)),
               reply.isSuccess {
                unloaded += 1
            }
        }
        if !entries.isEmpty {
            logger.info("purged the runtime server", metadata: ["entries": "\(entries.count)", "unloaded": "\(unloaded)"])
        }
    }
}

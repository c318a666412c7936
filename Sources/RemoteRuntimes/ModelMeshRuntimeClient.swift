import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import MeshCore
import MeshManagementGRPC
import ModelRuntimes
import OpenInference
import OpenInferenceGRPC
import Synchronization

/// A runtime written for ModelMesh (`mmesh.ModelRuntime`, a runtime adapter or a custom runtime)
/// beside the peer, called as ModelMesh calls it:
///
/// - at start (and when the runtime comes back) `runtimeStatus` until it answers READY, which
///   purges it; its capacity, load concurrency, load timeout, default model size and method
///   infos come from that answer;
/// - `loadModel` with the model's id, type, local path and key (JSON), counted per id
///   (``LoadReferences``), at most `maxLoadingConcurrency` at once, each within
///   `modelLoadingTimeoutMs`; a load that fails after it may have started is followed by an
///   `unloadModel`; a size of 0 asks `modelSize`;
/// - `unloadModel` when the last copy goes, NOT_FOUND counting as done, retried every
///   `unloadRetryInterval` up to `unloadRetries` times, after which the id is refused;
/// - inference relayed to `inference.GRPCInferenceService/ModelInfer` on the same endpoint with
///   the model id injected at the method's `idInjectionPath` and in the `mm-model-id` header.
///
/// The runtime counts as lost when its port refuses connections (checked every
/// `probeInterval`, and at once when a call is refused).
public final class ModelMeshRuntimeClient: RuntimeServer {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    public let configuration: RuntimeServerConfiguration
    public var name: String { configuration.name }
    public let modelTypes: Set<String>
    public var pool: String { configuration.name }
    public var capacityBytes: Int64? { state.withLock { $0.capacityBytes } ?? configuration.capacityBytes }
    public var isReady: Bool { state.withLock { $0.ready } }

    static let inferMethod = "inference.GRPCInferenceService/ModelInfer"
    static let modelIDHeader = "mm-model-id"

    let grpc: Client
    let host: String
    let port: Int
    let maxMessageBytes: Int
    let logger: Logger
    let references = LoadReferences()
    let loadSlots = LoadSlots()
    let state = Mutex(State())
    private let checks = CheckSchedule()

    struct State {
        var ready = false
        var generation = 0
        var capacityBytes: Int64?
        var loadTimeout: Duration?
        var defaultModelSizeBytes: Int64 = 1_000_000
        /// Where ModelInfer requests carry the model id (nil: the header only).
        var inferIDPath: [UInt32]?
        /// The runtime lists methods and ModelInfer is not among them.
        var inferRefused = false
        var maxLoadingConcurrency = 1
        var version = ""
    }

    public init(configuration: RuntimeServerConfiguration, maxMessageBytes: Int, logger: Logger) throws {
        precondition(configuration.runtimeProtocol == .modelMesh)
        guard let address = configuration.grpcAddress, let (host, port) = GRPCAddress.split(address) else {
            throw MeshError.invalidArgument("runtime server \(configuration.name): \"grpc\" must be host:port")
        }
        self.configuration = configuration
        self.host = host
        self.port = port
        self.maxMessageBytes = maxMessageBytes
        modelTypes = Set(configuration.formats)
        var logger = logger
        logger[metadataKey: "runtime"] = "\(configuration.name)"
        self.logger = logger
        let target: any ResolvableTarget = host.contains(":") ? .ipv6(address: host, port: port)
            : host.allSatisfy({ $0.isNumber || $0 == "." }) ? .ipv4(address: host, port: port) : .dns(host: host, port: port)
        let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: .defaults { config in
            config.backoff = .init(initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
        })
        grpc = GRPCClient(transport: transport)
    }

    var runtime: Mmesh_ModelRuntime.Client<HTTP2ClientTransport.Posix> { .init(wrapping: grpc) }
    var label: String { "ModelMesh runtime \(configuration.name) at \(host):\(port)" }

    func options(timeout: Duration?) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        options.maxRequestMessageBytes = maxMessageBytes
        options.maxResponseMessageBytes = maxMessageBytes
        return options
    }

    // MARK: ModelRuntime

    public func predictSize(of source: ModelSource) async -> Int64? {
        let (ready, fallback) = state.withLock { ($0.ready, $0.defaultModelSizeBytes) }
        guard ready else { return source.sizeHintBytes }
        var request = Mmesh_PredictModelSizeRequest()
        request.modelID = source.id.rawValue
        request.modelType = source.type
        request.modelPath = source.path
        request.modelKey = source.key
        // Optional for runtimes, and meant to answer at once.
        guard let size = try? await runtime.predictModelSize(request, options: options(timeout: .seconds(1))).sizeInBytes, size > 0 else {
            return source.sizeHintBytes ?? fallback
        }
        return Int64(clamping: size)
    }

    public func load(_ source: ModelSource) async throws -> any LoadedModel {
        let (ready, generation, timeout, fallbackSize, inferPath) = state.withLock {
            ($0.ready, $0.generation, $0.loadTimeout, $0.defaultModelSizeBytes, $0.inferIDPath)
        }
        guard ready else { throw MeshError.unavailable("\(label) is not ready") }
        switch await references.beginLoad(source.id) {
        case .reuse(let size):
            return ModelMeshRuntimeModel(id: source.id, runtime: self, generation: generation, sizeBytes: size > 0 ? size : fallbackSize,
                                         inferIDPath: inferPath)
        case .lost:
            throw MeshError.failedPrecondition("\(label) never confirmed unloading \(source.id) after \(configuration.unloadRetries) retries; its memory there is lost and it is not loaded there again until the runtime restarts")
        case .load:
            break
        }
        var request = Mmesh_LoadModelRequest()
        request.modelID = source.id.rawValue
        request.modelType = source.type
        request.modelPath = source.path
        request.modelKey = source.key
        let response: Mmesh_LoadModelResponse
        do {
            response = try await loadSlots.run(limit: state.withLock { $0.maxLoadingConcurrency }) { [request] in
                try await runtime.loadModel(request, options: options(timeout: timeout))
            }
        } catch {
            await references.loadFinished(source.id, sizeBytes: nil)
            // PRECONDITION_FAILED and INVALID_ARGUMENT mean no load was attempted; anything else
            // (a timeout, a cancellation) may have left it half loaded.
            let code = (error as? RPCError)?.code
            if code != .failedPrecondition && code != .invalidArgument { cleanups.continuation.yield(source.id) }
            throw failure(error, doing: "load \(source.id)")
        }
        var size = Int64(clamping: response.sizeInBytes)
        if size == 0 {
            var sizeRequest = Mmesh_ModelSizeRequest()
            sizeRequest.modelID = source.id.rawValue
            size = (try? await runtime.modelSize(sizeRequest, options: options(timeout: .seconds(30))).sizeInBytes).map { Int64(clamping: $0) } ?? 0
        }
        if size == 0 { size = source.sizeHintBytes ?? fallbackSize }
        await references.loadFinished(source.id, sizeBytes: size)
        return ModelMeshRuntimeModel(id: source.id, runtime: self, generation: generation, sizeBytes: size, inferIDPath: inferPath)
    }

    /// Turns a failed call into the mesh's error; a refused connection wakes the supervisor.
    func failure(_ error: any Error, doing what: String) -> any Error {
        if error is CancellationError { return error }
        guard let rpc = error as? RPCError else { return MeshError.unavailable("\(label) failed to \(what): \(error)") }
        if rpc.code == .unavailable { checks.suspect() }
        switch rpc.code {
        case .invalidArgument:
            return MeshError.invalidArgument("\(label) could not \(what): \(rpc.message)")
        case .notFound:
            return MeshError.unavailable("\(label) could not \(what): \(rpc.message)")
        case .failedPrecondition, .alreadyExists, .outOfRange:
            return MeshError.failedPrecondition("\(label) could not \(what): \(rpc.message)")
        case .deadlineExceeded:
            return MeshError.deadlineExceeded("\(label) did not \(what) in time: \(rpc.message)")
        case .unavailable:
            return MeshError.unavailable("\(label) is unreachable (\(what)): \(rpc.message)")
        default:
            return MeshError.internalError("\(label) failed to \(what) (\(rpc.code)): \(rpc.message)")
        }
    }

    // MARK: Unloading

    /// Unloads after loads that failed midway; run by the supervisor, since the failed load's
    /// task may be cancelled.
    private let cleanups = AsyncStream<ModelID>.makeStream()

    func unload(_ model: ModelID, generation: Int) async {
        guard state.withLock({ $0.generation == generation }) else { return }
        guard await references.beginUnload(model) else { return }
        await unloadWithRetries(model, generation: generation)
    }

    private func unloadWithRetries(_ model: ModelID, generation: Int) async {
        var request = Mmesh_UnloadModelRequest()
        request.modelID = model.rawValue
        var retries = 0
        while true {
            var succeeded: Bool
            do {
                _ = try await runtime.unloadModel(request, options: options(timeout: .seconds(60)))
                succeeded = true
            } catch let error as RPCError where error.code == .notFound {
                succeeded = true
            } catch {
                succeeded = false
                logger.warning("unload failed; retrying", metadata: ["model": "\(model)", "retry": "\(retries + 1)", "error": "\(error)"])
            }
            // A restart purged it anyway.
            if !state.withLock({ $0.generation == generation }) { succeeded = true }
            guard await references.unloadAttempted(model, succeeded: succeeded) == .retry else { return }
            guard retries < configuration.unloadRetries else {
                await references.gaveUp(model)
                logger.error("unload never succeeded; the model's memory in the runtime is lost", metadata: ["model": "\(model)", "retries": "\(retries)"])
                return
            }
            retries += 1
            try? await Task.sleep(for: configuration.unloadRetryInterval)
            guard !Task.isCancelled, await references.retryUnload(model) else { return }
        }
    }

    // MARK: Supervision

    public func supervise(_ report: @escaping @Sendable (RuntimeServerEvent) async -> Void) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                do { try await self.grpc.runConnections() } catch {
                    self.logger.debug("runtime client stopped", metadata: ["error": "\(error)"])
                }
            }
            group.addTask {
                for await model in self.cleanups.stream where await self.references.phase(of: model) == nil {
                    // Unless a new load of it started meanwhile.
                    var request = Mmesh_UnloadModelRequest()
                    request.modelID = model.rawValue
                    _ = try? await self.runtime.unloadModel(request, options: self.options(timeout: .seconds(60)))
                }
            }
            await watch(report)
            cleanups.continuation.finish()
            grpc.beginGracefulShutdown()
        }
    }

    private func watch(_ report: @escaping @Sendable (RuntimeServerEvent) async -> Void) async {
        while !Task.isCancelled {
            guard let status = await waitForReady() else { return }
            await references.reset()
            let capacity = configuration.capacityBytes ?? (status.capacityInBytes > 0 ? Int64(clamping: status.capacityInBytes) : nil)
            state.withLock { state in
                state.ready = true
                state.generation += 1
                state.capacityBytes = capacity
                state.loadTimeout = status.modelLoadingTimeoutMs > 0 ? .milliseconds(Int64(status.modelLoadingTimeoutMs)) : nil
                state.maxLoadingConcurrency = max(1, Int(status.maxLoadingConcurrency))
                if status.defaultModelSizeInBytes > 0 { state.defaultModelSizeBytes = Int64(clamping: status.defaultModelSizeInBytes) }
                let info = status.methodInfos[Self.inferMethod]
                state.inferIDPath = info.flatMap { $0.idInjectionPath.isEmpty ? nil : $0.idInjectionPath }
                state.inferRefused = !status.methodInfos.isEmpty && !status.allowAnyMethod && info == nil
                state.version = status.runtimeVersion
            }
            logger.info("runtime ready", metadata: [
                "address": "\(host):\(port)", "version": "\(status.runtimeVersion)", "capacity": "\(capacity.map { "\($0)" } ?? "unknown")",
                "max_loading_concurrency": "\(status.maxLoadingConcurrency)", "load_timeout_ms": "\(status.modelLoadingTimeoutMs)",
            ])
            if capacity == nil {
                logger.error("the runtime reports no capacity and --runtime-servers gives no memory; nothing can be placed in it")
            }
            await report(.ready(capacityBytes: capacity ?? 0))
            let reason = await waitUntilLost()
            guard !Task.isCancelled else { return }
            state.withLock { $0.ready = false }
            logger.warning("runtime lost; its models are gone", metadata: ["address": "\(host):\(port)", "reason": "\(reason)"])
            await report(.lost(reason))
        }
    }

    /// Calls `runtimeStatus` until READY (the runtime purges before answering it); nil when cancelled.
    private func waitForReady() async -> Mmesh_RuntimeStatusResponse? {
        var lastLog = ContinuousClock.now - .seconds(60)
        while !Task.isCancelled {
            do {
                let status = try await runtime.runtimeStatus(Mmesh_RuntimeStatusRequest(), options: options(timeout: .seconds(5)))
                if status.status == .ready { return status }
            } catch let error as RPCError where error.code == .unimplemented {
                if ContinuousClock.now - lastLog >= .seconds(30) {
                    logger.error("the runtime does not implement runtimeStatus; ModelMesh's older runtime API is not supported")
                    lastLog = .now
                }
            } catch {
                if ContinuousClock.now - lastLog >= .seconds(30) {
                    logger.info("waiting for the runtime", metadata: ["address": "\(host):\(port)", "error": "\(error)"])
                    lastLog = .now
                }
            }
            try? await Task.sleep(for: configuration.probeInterval)
        }
        return nil
    }

    private func waitUntilLost() async -> String {
        while !Task.isCancelled {
            await checks.waitForNextCheck(interval: configuration.probeInterval)
            if let refusal = await TCPProbe.refusal(host: host, port: port, timeout: .seconds(2)) { return refusal }
        }
        return "stopping"
    }
}

import AsyncHTTPClient
import Foundation
import NIOSSL
import EtcdGateway
import Hummingbird
import HummingbirdTLS
import HummingbirdCore
import Logging
import MeshCore
import ModelRuntimes
import ModelStorage
import NIOCore
import NIOPosix
import OpenInference
import Prometheus
import ServiceLifecycle
import Synchronization

/// One peer of the mesh: the services it runs and the state they share.
public final class PeerNode: Sendable {
    public let configuration: PeerConfiguration
    public var peerID: PeerID { configuration.peerID }
    let store: any MeshStore
    let clock: any PeerClock
    let mirror: ClusterMirror
    let membership: Membership
    let local: LocalModels
    let router: RequestRouter
    let forwarder: PeerForwarder
    let health: PeerHealth
    let metrics: MeshMetrics
    let runtimes: RuntimeRegistry
    let gossip: LoadGossip
    let scaler: CopyScaler
    let storage: ModelStorage
    let storageHTTP: HTTPClient
    let credentials: PeerCredentials
    let gate: PeerGate
    let access: AccessControl
    let tls: PeerTLS?
    let bodyBudget: BodyBudget
    /// Data-plane calls run on their connection's event loop: executors over the loops they
    /// arrive on, the servers' shared loops and gRPC's own with ``PeerConfiguration/grpcOneLoop``.
    let eventLoops: EventLoopExecutors
    let prometheus: PrometheusCollectorRegistry?
    let logger: Logger
    // gRPC, vmodels and background work (see GRPC/ and VModels/).
    let grpcClients: GRPCPeerClients
    /// gRPC's own event loop (``PeerConfiguration/grpcOneLoop``); stopped after the services.
    let grpcLoop: MultiThreadedEventLoopGroup?
    let grpcListening = Promise<Void>()
    let background = BackgroundWork()
    let vmodelTransitions: VModelTransitions
    private let serverRunning = Promise<Void>()
    private let shuttingDown = Atomic<Bool>(false)

    /// Builds a peer: reads the storage configuration, prepares the disk cache.
    public static func make(
        configuration: PeerConfiguration, runtimes: RuntimeRegistry, prometheus: PrometheusCollectorRegistry?, logger: Logger
    ) async throws -> PeerNode {
        // Files that can refuse the start are read before anything that must be shut down.
        let credentials = try configuration.clusterSecretFile.map { path throws(MeshError) in try PeerCredentials(secretFile: path) } ?? .none
        let tokens = try configuration.authTokensFile.map { path throws(MeshError) in
            try BearerTokens(path: path, interval: configuration.authReloadInterval, logger: logger)
        }
        let tls = try configuration.tlsCertificateFile.map { _ throws(MeshError) in try PeerTLS(configuration: configuration, logger: logger) }
        let etcdTLS = try EtcdAccess.tls(configuration)
        let etcdCredentials = try EtcdAccess.credentials(configuration)
        let configurationStore: StorageConfigurationStore
        if let path = configuration.storageConfigPath {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw MeshError.invalidArgument("the storage configuration \(path) does not exist (--storage-config)")
            }
            configurationStore = try await StorageConfigurationStore(
                source: isDirectory.boolValue ? .directory(path) : .file(path), logger: logger)
        } else {
            configurationStore = StorageConfigurationStore(logger: logger)
        }
        var limits = StorageLimits()
        limits.maxCacheBytes = configuration.cacheBytes
        limits.maxModelBytes = configuration.maxModelBytes
        limits.allowedHTTPHosts = configuration.allowedHTTPHosts
        limits.egress = try configuration.egressPolicy()
        limits.localRoots = [configuration.modelsRoot]
        var httpConfiguration = HTTPClient.Configuration()
        // Storage follows redirects itself, checking each hop against the allowed hosts.
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.decompression = .disabled
        httpConfiguration.tracing.tracer = nil
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let cache = configuration.cacheDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("modelmesh-cache/\(configuration.peerID)").path
        let storage = ModelStorage(configuration: configurationStore, cacheDirectory: cache, limits: limits, httpClient: http, logger: logger)
        // The cache's recovery (listing, manifests, trimming) happens here rather than in the
        // first load; if it fails, the first fetch tries again and reports the error.
        do {
            try await storage.prepare()
        } catch {
            logger.warning("the model cache could not be prepared; the first load will try again", metadata: ["error": "\(error)"])
        }
        return PeerNode(configuration: configuration, runtimes: runtimes, storage: storage, storageHTTP: http, credentials: credentials,
                        access: AccessControl(policy: AccessPolicy(metricsOpen: configuration.metricsOpen), tokens: tokens),
                        tls: tls, etcdTLS: etcdTLS, etcdCredentials: etcdCredentials, prometheus: prometheus, logger: logger)
    }

    init(
        configuration: PeerConfiguration, runtimes: RuntimeRegistry, storage: ModelStorage, storageHTTP: HTTPClient,
        credentials: PeerCredentials, access: AccessControl = .open, tls: PeerTLS? = nil,
        etcdTLS: TLSConfiguration? = nil, etcdCredentials: EtcdClient.Configuration.Credentials? = nil, prometheus: PrometheusCollectorRegistry?, logger: Logger
    ) {
        self.credentials = credentials
        self.access = access
        self.tls = tls
        bodyBudget = BodyBudget(totalBytes: Int(clamping: configuration.bodyMemoryBytes))
        self.configuration = configuration
        let grpcLoop = configuration.grpcOneLoop ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        self.grpcLoop = grpcLoop
        eventLoops = EventLoopExecutors(groups: [.singleton] + (grpcLoop.map { [$0] } ?? []))
        self.runtimes = runtimes
        self.storage = storage
        self.storageHTTP = storageHTTP
        self.prometheus = prometheus
        self.logger = logger
        var etcdLogger = logger
        etcdLogger[metadataKey: "component"] = "etcd"
        // A keep-alive stuck on a frozen etcd member must move to another one well before the
        // lease runs out: each attempt gets a third of the TTL (at most the usual 5 s).
        let keepAliveTimeout: Duration = min(.seconds(5), .milliseconds(configuration.leaseTTLSeconds * 1000 / 3))
        store = EtcdMeshStore(endpoints: configuration.etcdEndpoints, layout: configuration.layout,
                              keepAliveTimeout: keepAliveTimeout, tls: etcdTLS, credentials: etcdCredentials, logger: etcdLogger)
        let clock = SystemClock()
        self.clock = clock
        metrics = MeshMetrics(perModel: configuration.perModelMetrics)
        health = PeerHealth(quarantine: configuration.peerQuarantine)
        mirror = ClusterMirror(store: store, recordCacheSize: configuration.recordCacheSize,
                               watchCheckInterval: configuration.watchCheckInterval, logger: logger)
        // Runtime servers start not ready; their pools open as their supervisors find them ready.
        let pools = runtimes.pools(builtinCapacity: configuration.capacityBytes)
        var record = PeerRecord(
            httpAddress: configuration.httpAddress, grpcAddress: configuration.grpcAddress, zone: configuration.zone,
            labels: configuration.labels, capacityBytes: configuration.capacityBytes, version: configuration.version,
            startTime: .now, instance: UUID().uuidString.lowercased(), features: PeerFeature.all
        )
        record.publish(pools)
        membership = Membership(peerID: configuration.peerID, record: record, store: store,
                                leaseTTL: configuration.leaseTTLSeconds, logger: logger)
        var localSettings = LocalModels.Settings()
        localSettings.ledger = CopyLedger.Settings(
            minChurnAge: configuration.minChurnAge, defaultModelSizeBytes: configuration.defaultModelSizeBytes,
            policy: configuration.evictionPolicy, maxLoadingConcurrency: configuration.maxLoadingConcurrency,
            churnLimitPerSecond: configuration.churnLimitPerSecond)
        localSettings.loadTimeout = configuration.loadTimeout
        localSettings.failureExpiry = configuration.failureExpiry
        let membership = self.membership
        local = LocalModels(
            peerID: configuration.peerID, pools: Dictionary(pools.map { ($0.name, $0.capacityBytes) }, uniquingKeysWith: max),
            store: store, runtimes: runtimes,
            files: StoredModelFiles(storage: storage), settings: localSettings, metrics: metrics, clock: clock, logger: logger,
            lease: { membership.lease }
        )
        let loadReports = PiggybackedLoadReports()
        forwarder = PeerForwarder(selfID: configuration.peerID, maxResponseBytes: max(configuration.maxBodyBytes, 64 << 20),
                                  loadReports: loadReports, credentials: credentials, clock: clock,
                                  tls: tls.map { ($0.client, $0.clientContext) })
        var gossipSettings = LoadGossip.Settings()
        gossipSettings.interval = configuration.gossipInterval
        gossipSettings.fanout = configuration.gossipFanout
        gossipSettings.maxAge = configuration.reportMaxAge
        let gossipClient = forwarder.peers, peerID = configuration.peerID
        gossip = LoadGossip(peerID: configuration.peerID, mirror: mirror, local: local, health: health,
                            push: { _, record, body in
                                let parts = PeerOnlyRequest.restParts(method: "POST", path: PeerOnlyRequest.gossipPath, hop: nil, excluded: nil)
                                let signature = credentials.sign(parts, peer: peerID, now: clock.now)
                                try await GossipPush.send(body, to: record, http: gossipClient, signature: signature)
                            },
                            settings: gossipSettings, clock: clock, logger: logger,
                            probe: { [probeTimeout = configuration.hopProbeTimeout, probeClient = forwarder.probes] peer, record in
                                await PeerProbe.answersAsLive(record, peer: peer, http: probeClient, timeout: probeTimeout)
                            })
        let placement = PlacementPolicy(minChurnAge: configuration.minChurnAge, reportMaxAge: configuration.reportMaxAge)
        var scaling = ScalingPolicy(
            scaleUpRequestsPerSecond: configuration.scaleUpRequestsPerSecond, scaleUpInFlight: configuration.scaleUpInFlight,
            idleRequestsPerSecond: configuration.idleRequestsPerSecond, scaleDownAfter: configuration.scaleDownAfter,
            removalCooldown: min(.seconds(10), configuration.scaleDownAfter), placement: placement
        )
        scaling.defaultModelSizeBytes = configuration.defaultModelSizeBytes
        var requestRouter = RequestRouter(
            peerID: configuration.peerID,
            settings: RequestRoute.Settings(
                planner: RoutePlanner(placement: placement, maxLoadFailures: configuration.maxLoadFailures),
                maxAttempts: configuration.maxAttempts, defaultModelSizeBytes: configuration.defaultModelSizeBytes
            ),
            mirror: mirror, local: local, health: health, clock: clock, logger: logger
        )
        if configuration.hopProbeAfter > .zero {
            let http = forwarder.probes, probeTimeout = configuration.hopProbeTimeout
            let budgets = HopBudgets(floor: configuration.hopProbeFloor, ceiling: configuration.hopProbeAfter)
            requestRouter.watchdog = HopWatchdog(budgets: budgets, eventLoops: eventLoops) { peer, record in
                await PeerProbe.answersAsLive(record, peer: peer, http: http, timeout: probeTimeout)
            }
        }
        self.router = requestRouter
        let router = self.router, forwarder = self.forwarder, loadTimeout = configuration.loadTimeout
        scaler = CopyScaler(
            peerID: configuration.peerID, policy: scaling, interval: configuration.scaleInterval,
            mirror: mirror, local: local, store: store,
            addCopy: { model, target in try await router.addCopy(of: model, preferring: target, forwarder: forwarder, deadline: .now + loadTimeout) },
            registration: { (membership.isRegistered, membership.lease) }, clock: clock, logger: logger
        )
        grpcClients = GRPCPeerClients(selfID: configuration.peerID, maxMessageBytes: GRPCServerService.transportLimit(configuration.maxBodyBytes),
                                      loadReports: loadReports, credentials: credentials, clock: clock,
                                      transportSecurity: tls?.grpcClient ?? .plaintext, eventLoopGroup: grpcLoop, logger: logger)
        gate = PeerGate(credentials: credentials, mirror: mirror, clock: clock,
                        grace: .seconds(2 * configuration.leaseTTLSeconds),
                        certificatesIdentifyPeers: tls != nil && configuration.tlsRequireClientCertificates)
        vmodelTransitions = VModelTransitions(
            peerID: configuration.peerID, store: store, mirror: mirror, router: router, forwarder: forwarder,
            loadTimeout: configuration.loadTimeout, logger: logger
        )
        wire()
    }

    /// Connects the parts that react to each other.
    private func wire() {
        let local = self.local
        let health = self.health
        let membership = self.membership
        let mirror = self.mirror
        let peerID = self.peerID
        mirror.onEvent { event in
            local.handle(event, peerRegistered: { mirror.view.peers[peerID] != nil && membership.isRegistered })
            switch event {
            case .peerChanged(let peer), .peerRemoved(let peer): health.clear(peer)
            default: break
            }
        }
        membership.onLeaseRenewed { lease in
            await local.restoreCopyRecords(lease: lease)
        }
        let gossip = self.gossip
        forwarder.loadReports.connect { peer, report in gossip.receive(piggybackedFrom: peer, report) }
        let grpcClients = self.grpcClients
        let vmodelTransitions = self.vmodelTransitions
        mirror.onEvent { event in
            vmodelTransitions.handle(event)
            if case .peerRemoved = event {
                // The record is gone; forget clients to addresses no live peer has.
                let live = Set(mirror.view.peers.values.compactMap(\.grpcAddress))
                grpcClients.forget(allBut: live)
            }
        }
    }

    var vmodels: VModelManager {
        VModelManager(store: store, mirror: mirror, router: router, transitions: vmodelTransitions, loads: background,
                      forwarder: forwarder, peerID: peerID, logger: logger)
    }

    /// The gRPC server (`inference.GRPCInferenceService` and `mmesh.ModelMesh`), or nil when
    /// `--grpc-port` is 0; the peer registers once it listens.
    func makeGRPCServer() -> GRPCServerService? {
        guard let port = configuration.grpcPort else {
            grpcListening.succeed(())
            return nil
        }
        return GRPCServerService(
            host: configuration.listenHost, port: port, maxMessageBytes: configuration.maxBodyBytes, idleTimeout: configuration.idleTimeout,
            peer: peerID.rawValue,
            services: [InferenceService(node: self, clients: grpcClients), ManagementService(node: self)],
            interceptors: (MeshTracing.isEnabled ? [TracingServerInterceptor()] : [])
                + [ManagementOnPoolInterceptor(), PeerGateInterceptor(gate: gate), AccessInterceptor(access: access, logger: logger)],
            transportSecurity: tls?.grpcServer ?? .plaintext, oneLoop: grpcLoop,
            inferFastPath: grpcInferFastPath(),
            listening: grpcListening, logger: logger
        )
    }

    /// Makes the handler that answers `ModelInfer` on each HTTP/2 stream, unless turned off;
    /// traced calls take grpc-swift's way, where the tracing interceptor is, and so do messages
    /// larger than a small body (the handler holds a message's frames as well as the message).
    private func grpcInferFastPath() -> (@Sendable () -> GRPCInferFastPath)? {
        guard configuration.grpcFastPath, !MeshTracing.isEnabled else { return nil }
        let maxMessageBytes = min(configuration.maxBodyBytes, bodyBudget.smallBytes)
        return { GRPCInferFastPath(node: self, maxMessageBytes: maxMessageBytes) }
    }

    // MARK: Running

    public enum StartupError: Error, CustomStringConvertible {
        case etcdUnreachable(String)
        public var description: String {
            switch self {
            case .etcdUnreachable(let reason): return "cannot start: \(reason)"
            }
        }
    }

    /// Runs the peer until SIGTERM or SIGINT, then shuts down gracefully. `first` run before
    /// everything else and stop after it (the trace exporter, which flushes last).
    public func run(first: [any Service] = []) async throws {
        do {
            try await store.checkReachable()
        } catch {
            throw StartupError.etcdUnreachable("\(error)")
        }
        let app = try makeApplication()
        let lifecycle = PeerLifecycle(node: self)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = first.map { .init(service: $0) }
        if let tokens = access.tokens { services.append(.init(service: tokens)) }
        if let tls { services.append(.init(service: tls.reloader)) }
        if configuration.storageConfigPath != nil {
            let store = storage.configuration
            services.append(.init(service: ClosureService {
                // Cancellation is how this loop ends; it is not a failure.
                try? await cancelWhenGracefulShutdown { try await store.watchForChanges() }
            }))
        }
        // gRPC: the client pool outlives the servers that relay through it.
        let grpc: [ServiceGroupConfiguration.ServiceConfiguration] = makeGRPCServer().map { [.init(service: $0)] } ?? []
        // Graceful shutdown runs through these in reverse: the lifecycle migrates models and
        // leaves routing, vmodel transitions stop, the gRPC and HTTP servers drain their
        // requests, the lease is revoked, models unload.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services + [
                .init(service: mirror),
                .init(service: local),
                .init(service: RuntimeSupervision(runtimes: runtimes, builtinCapacity: configuration.capacityBytes, local: local,
                                                  membership: membership, logger: logger)),
                .init(service: grpcClients),
                .init(service: background),
                .init(service: membership),
                .init(service: gossip),
                .init(service: scaler),
                .init(service: CopyAuditor(peerID: peerID, interval: configuration.copyAuditInterval, local: local, mirror: mirror,
                                           registered: { [membership] in membership.isRegistered })),
                .init(service: app),
            ] + grpc + [
                .init(service: vmodelTransitions),
                .init(service: lifecycle, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        do {
            try await group.run()
        } catch {
            await shutdownClients()
            throw error
        }
        await shutdownClients()
        if let failure = lifecycle.failure { throw failure }
    }

    private func shutdownClients() async {
        try? await forwarder.shutdown()
        try? await storageHTTP.shutdown()
        await store.close()
        try? await grpcLoop?.shutdownGracefully()
    }

    func makeApplication() throws -> some Service {
        let router = Hummingbird.Router(context: MeshRequestContext.self)
        // First, so the gate and access checks are inside the request's span.
        if MeshTracing.isEnabled { router.add(middleware: TracingMiddleware()) }
        router.add(middleware: PeerGateMiddleware(gate: gate))
        router.add(middleware: AccessMiddleware(access: access, logger: logger))
        DataPlaneRoutes(node: self).register(on: router)
        ManagementRoutes(node: self).register(on: router)
        VModelRoutes(node: self).register(on: router)
        router.post(RouterPath(PeerOnlyRequest.gossipPath)) { request, _ in
            var request = request
            let body: ByteBuffer
            do throws(MeshError) {
                body = try await request.collectBody(limit: 1 << 20)
            } catch {
                return HTTPReply.error(error).response
            }
            self.gossip.receive(Array(body.readableBytesView))
            return Response(status: .noContent)
        }
        router.get("/metrics") { _, _ in
            let text = self.prometheus?.emitToBuffer() ?? []
            return HTTPReply(status: 200, headers: [("content-type", "text/plain; version=0.0.4")], body: ByteBuffer(bytes: text)).response
        }
        // Last: it wraps only the not-found responder (unknown paths, and methods a path lacks).
        router.add(middleware: UnmatchedRouteMiddleware(routes: RouteMethods(router.routes.map { ($0.path, $0.method) })))
        let serverRunning = self.serverRunning
        let http1Configuration = HTTP1Channel.Configuration(idleTimeout: TimeAmount(configuration.idleTimeout))
        let http1 = configuration.restFastPath
            ? HTTPServerBuilder { responder in FastPathHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: http1Configuration), node: self) }
            : HTTPServerBuilder.http1(configuration: http1Configuration)
        let server = try tls.map { tls in try HTTPServerBuilder.tls(http1, tlsConfiguration: tls.server) } ?? http1
        return Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.listenHost, port: configuration.httpPort), serverName: "swift-model-mesh",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)
            ),
            onServerRunning: { _ in serverRunning.succeed(()) },
            logger: logger
        )
    }

    /// Waits for the HTTP server and the cluster view, then registers; keeps the lease alive.
    func register() async throws {
        try await serverRunning.wait()
        try await grpcListening.wait()
        try await mirror.waitUntilSynced()
        try await membership.register(http: forwarder.peers)
    }

    /// The first step of a graceful shutdown: take no new models, tell the cluster, re-create
    /// recently used models on other peers and wait for them (bounded by `--shutdown-timeout`),
    /// then drop this peer's copy records so routing stops sending it work. Requests keep being
    /// served throughout; the HTTP server drains afterwards.
    func leave() async {
        let started = ContinuousClock.now
        shuttingDown.store(true, ordering: .relaxed)
        local.stopAcceptingLoads()
        do {
            try await membership.update { $0.shuttingDown = true }
        } catch {
            logger.warning("could not mark this peer as shutting down in etcd", metadata: ["error": "\(error)"])
        }
        let (moved, failed) = await migrateModels(deadline: started + configuration.shutdownTimeout)
        await local.dropCopyRecords()
        logger.info("left the mesh", metadata: [
            "migrated": "\(moved)", "not_migrated": "\(failed)", "took": "\(ContinuousClock.now - started)",
        ])
    }

    /// Makes sure every model used here within `--migrate-used-within` has a loaded copy on
    /// another peer, most recently used first, a few at a time.
    func migrateModels(deadline: ContinuousClock.Instant) async -> (moved: Int, failed: Int) {
        let recent = local.recentlyUsed(since: clock.now - configuration.migrateUsedWithin)
        guard !recent.isEmpty else { return (0, 0) }
        logger.info("moving recently used models to other peers before shutting down", metadata: ["models": "\(recent.count)"])
        let call = RESTLoadCall(forwarder: forwarder, peerID: peerID)
        return await withTaskGroup(of: Bool.self) { group in
            var moved = 0
            var failed = 0
            var next = recent.makeIterator()
            func schedule(_ group: inout TaskGroup<Bool>) {
                guard let model = next.next() else { return }
                group.addTask {
                    do {
                        _ = try await self.router.route(call, model: model, hop: .external, excluded: [self.peerID], deadline: deadline)
                        return true
                    } catch {
                        self.logger.warning("could not move a model before shutting down", metadata: ["model": "\(model)", "error": "\(error)"])
                        return false
                    }
                }
            }
            for _ in 0..<4 { schedule(&group) }
            for await success in group {
                if success { moved += 1 } else { failed += 1 }
                // Progress in the log, about ten lines however many models move.
                let done = moved + failed
                if done == recent.count || done % max(1, recent.count / 10) == 0 {
                    logger.info("shutdown migration progress", metadata: ["done": "\(done)/\(recent.count)", "moved": "\(moved)", "failed": "\(failed)"])
                }
                schedule(&group)
            }
            return (moved, failed)
        }
    }

    public var isReady: Bool {
        membership.isRegistered && mirror.isSynced && mirror.knows(peerID) && !shuttingDown.load(ordering: .relaxed)
    }

    var serverMetadata: ServerMetadata {
        ServerMetadata(name: "swift-model-mesh", version: configuration.version, extensions: ["model_repository", "binary_tensor_data"])
    }

    // MARK: Request plumbing

    /// Runs one REST handler: parses routing headers, maps errors to statuses, records metrics.
    func handle(
        route: String, request: Request, context: MeshRequestContext, modelParameter: String? = "model",
        _ body: (String, inout Request, HopContext) async throws -> (ModelID?, HTTPReply)
    ) async -> Response {
        var request = request
        let headers = request.headers
        let name = modelParameter.flatMap { context.parameters.get($0) } ?? ""
        return await answer(route: route, header: { headers.value($0) }, on: context.channel.eventLoop) { hop in
            try await body(name, &request, hop)
        }.response
    }

    /// The part of a REST data-plane call common to every way it arrives (Hummingbird's router,
    /// or ``InferFastPath`` on the channel): routing headers, errors as statuses, the load report
    /// a hop carries back, metrics.
    func answer(
        route: String, header: (String) -> String?, on loop: any EventLoop,
        _ body: (HopContext) async throws -> (ModelID?, HTTPReply)
    ) async -> HTTPReply {
        let started = ContinuousClock.now
        let result: Result<(ModelID?, HTTPReply), any Error>
        do {
            let hop = try HopContext(header: header, defaultTimeout: configuration.requestTimeout)
            // On the connection's event loop, where the hop's connection is chosen too.
            result = .success(try await eventLoops.run(on: loop) { try await body(hop) })
        } catch {
            result = .failure(error)
        }
        return reply(to: route, header: header, started: started, result)
    }

    /// The reply to a REST data-plane call that ended with `result`: errors as statuses, the
    /// load report a hop carries back, and the call's metrics.
    func reply(
        to route: String, header: (String) -> String?, started: ContinuousClock.Instant, _ result: Result<(ModelID?, HTTPReply), any Error>
    ) -> HTTPReply {
        var model: ModelID?
        var reply: HTTPReply
        switch result {
        case .success(let answer):
            (model, reply) = answer
        case .failure(let error):
            let (meshError, expected) = MeshError.from(error)
            if !expected { logger.error("unexpected error", metadata: ["route": "\(route)", "error": "\(error)"]) }
            reply = .error(meshError, peer: peerID)
        }
        // Hops carry this peer's load back to the sender.
        if header(MeshHeaders.hop) != nil, let load = gossip.headerValue { reply.headers.append((MeshHeaders.load, load)) }
        let handling = reply.header(MeshHeaders.servedBy).map { $0 == peerID.rawValue ? "local" : "forwarded" } ?? "none"
        metrics.request(route: route, model: model, handling: handling, code: String(reply.status), duration: .now - started)
        return reply
    }
}

/// Registers the peer once the server listens, keeps its lease alive, and on graceful shutdown
/// leaves the cluster before the HTTP server stops.
final class PeerLifecycle: Service, Sendable {
    let node: PeerNode
    private let failed = Mutex<(any Error)?>(nil)

    init(node: PeerNode) {
        self.node = node
    }

    var failure: (any Error)? { failed.withLock { $0 } }

    func run() async throws {
        do {
            try await node.register()
        } catch is CancellationError {
            return
        } catch {
            failed.withLock { $0 = error }
            node.logger.critical("cannot join the mesh", metadata: ["error": "\(error)"])
            return
        }
        // Serve until SIGTERM, then leave before anything else stops.
        try? await gracefulShutdown()
        await node.leave()
    }
}

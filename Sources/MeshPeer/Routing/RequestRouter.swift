import Logging
import MeshCore
import ModelRuntimes
import OpenInference

/// Carries out MeshCore's ``RequestRoute`` for one call: asks it for the next action (serve
/// here, forward, load here, wait for the view), does it, and reports how it went, until the
/// call is served or the route gives up. REST and gRPC calls, copy additions (scaling,
/// minCopies, vmodel transitions) and shutdown migration all go through ``drive``.
public struct RequestRouter: Sendable {
    public let peerID: PeerID
    let settings: RequestRoute.Settings
    let mirror: ClusterMirror
    let local: LocalModels
    let health: PeerHealth
    let clock: any PeerClock
    let logger: Logger
    /// Abandons hops to peers that stop answering (nil: a hop waits for its deadline).
    var watchdog: HopWatchdog?

    public init(peerID: PeerID, settings: RequestRoute.Settings, mirror: ClusterMirror, local: LocalModels, health: PeerHealth,
                clock: any PeerClock, logger: Logger) {
        self.peerID = peerID
        self.settings = settings
        self.mirror = mirror
        self.local = local
        self.health = health
        self.clock = clock
        self.logger = logger
    }

    /// Resolves a name a client used: a model id, or a vmodel id (its active model).
    public func resolve(_ name: String) async throws -> ModelID {
        let id = try MeshError.parseID(name)
        if try await mirror.model(id) != nil { return id }
        if let vmodel = try await mirror.vmodel(id) { return vmodel.activeModel }
        throw MeshError.notFound("model \(id) is not registered")
    }

    /// Resolves `name` and routes `call` to its model. A vmodel that retires its old model does so
    /// as it switches, so a request that resolved the name just before may find that model gone:
    /// the vmodel is then read again and, if it now points elsewhere, the call is routed there once.
    /// A hop names the model its sender chose and is not resolved: whether that model is
    /// registered is the route's to answer, with a decline the sender can act on.
    public func route<Call: RoutedCall>(
        _ call: Call, name: String, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant
    ) async throws -> (ModelID, Call.Reply) {
        let model = hop == .external ? try await resolve(name) : try MeshError.parseID(name)
        do {
            return (model, try await route(call, model: model, hop: hop, excluded: excluded, deadline: deadline))
        } catch let error as MeshError where error.kind == .notFound && model.rawValue != name {
            guard let vmodel = try? ModelID(name), let moved = await currentModel(of: vmodel, insteadOf: model) else { throw error }
            return (moved, try await route(call, model: moved, hop: hop, excluded: excluded, deadline: deadline))
        }
    }

    /// The model `vmodel` points at now, if not `model`. Read from the store, not the view: the
    /// view that resolved the vmodel to a model just retired may still lag behind the switch.
    func currentModel(of vmodel: ModelID, insteadOf model: ModelID) async -> ModelID? {
        guard let current = try? await mirror.store.vmodel(vmodel).record, current.activeModel != model else { return nil }
        return current.activeModel
    }

    /// Routes `call` for `model`. For hops from other peers (`hop` not `.external`) there is one
    /// decision (plus the serve after a load), and a failure is thrown as a decline
    /// (``MeshError/decline``) for the sender to act on.
    public func route<Call: RoutedCall>(
        _ call: Call, model: ModelID, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant
    ) async throws -> Call.Reply {
        try await MeshTracing.span("mesh.route", attributes: ["mesh.model": model.rawValue, "mesh.hop": hop.rawValue]) {
            var route = makeRoute(model: model, hop: hop, goal: .serve, excluded: excluded, deadline: deadline)
            guard let reply = try await drive(&route, call: call, deadline: deadline) else {
                throw MeshError.internalError("routing \(model) ended without an answer")
            }
            return reply
        }
    }

    /// Loads one more copy of `model` on a peer that holds none (the placement policy's
    /// choice, or `preferred` first), to grow a model to a number of copies. Returns the peer
    /// once the copy is claimed there (a local load goes on in the background) or loaded (a
    /// remote one).
    func addCopy(of model: ModelID, preferring preferred: PeerID? = nil, forwarder: PeerForwarder, deadline: ContinuousClock.Instant) async throws -> PeerID {
        try await addCopy(of: model, preferring: preferred, call: RESTLoadCall(forwarder: forwarder, peerID: peerID), deadline: deadline)
    }

    /// ``addCopy(of:preferring:forwarder:deadline:)`` with the call that asks a peer to load.
    func addCopy<Call: RoutedCall>(of model: ModelID, preferring preferred: PeerID?, call: Call, deadline: ContinuousClock.Instant) async throws -> PeerID {
        var route = makeRoute(model: model, hop: .external, goal: .addCopy(preferring: preferred), excluded: [], deadline: deadline)
        _ = try await drive(&route, call: call, deadline: deadline)
        guard case .finished(let peer) = route.conclusion else {
            throw MeshError.internalError("adding a copy of \(model) ended without a peer")
        }
        return peer
    }

    private func makeRoute(model: ModelID, hop: Hop, goal: RequestRoute.Goal, excluded: Set<PeerID>, deadline: ContinuousClock.Instant) -> RequestRoute {
        RequestRoute(
            model: model, hop: hop, goal: goal, me: peerID, excluded: excluded.union(health.unreachable(at: clock.now)),
            deadline: clock.now + (deadline - .now), settings: settings
        )
    }

    /// The loop: one action at a time, until the call is served, the goal reached, or the
    /// route gives up. Returns nil only for a finished ``RequestRoute/Goal/addCopy``.
    private func drive<Call: RoutedCall>(
        _ route: inout RequestRoute, call: Call, deadline: ContinuousClock.Instant
    ) async throws -> Call.Reply? {
        var random = SystemRandomNumberGenerator()
        let model = route.model
        // A load this route started here: if it fails before the route serves from it, the
        // route learns why (the view may still show the copy for a moment).
        var ownLoad: Promise<any LoadedModel>?
        while true {
            if let load = ownLoad, case .failure(let error)? = load.result {
                route.record(.local(error as? CopyFailure ?? .loadFailed(model, message: "\(error)")))
                ownLoad = nil
            }
            let record = try await mirror.model(model)
            let view = mirror.view
            let local = RoutePlanner.Local(
                peer: peerID, copy: self.local.state(of: model), inFlight: self.local.inFlight, outstanding: health.outstanding
            )
            switch route.next(record: record, view: view, local: local, now: clock.now, using: &random) {
            case .serveHere:
                do {
                    // Queueing: waiting for a copy being loaded here.
                    let use = try await MeshTracing.span("mesh.queue") { try await self.local.acquire(model, until: deadline) }
                    do {
                        let started = ContinuousClock.now
                        let reply = try await MeshTracing.span("mesh.infer", attributes: ["mesh.model": model.rawValue]) {
                            try await InferenceThreads.$deadline.withValue(deadline) { try await call.serve(use.instance, modelID: model) }
                        }
                        watchdog?.budgets.observe(model, .now - started)
                        await self.local.release(use)
                        return reply
                    } catch let gone as ModelGoneFromRuntime {
                        // The runtime server lost it: the copy goes, and the request goes on elsewhere (or loads again).
                        await self.local.release(use)
                        await self.local.runtimeLost(model, gone)
                        throw CopyFailure.removed(model)
                    } catch {
                        await self.local.release(use)
                        throw error
                    }
                } catch let failure as CopyFailure {
                    route.record(.local(failure))
                }

            case .forward(let target, let hop):
                guard let peerRecord = view.peers[target] else { continue }
                let excluded = route.excluded
                let liveness = watchdog?.liveness(of: target, at: peerRecord, model: model)
                let started = ContinuousClock.now
                let result: Result<HopResult<Call.Reply>, any Error>
                do {
                    result = .success(try await MeshTracing.span("mesh.hop", kind: .client, attributes: ["mesh.peer": target.rawValue, "mesh.hop": hop.rawValue]) {
                        try await health.trackOutstanding(at: target) {
                            try await call.forward(to: target, at: peerRecord, hop: hop, modelID: model, excluded: excluded,
                                                   deadline: deadline, liveness: liveness)
                        }
                    })
                } catch {
                    result = .failure(error)
                }
                if let reply = try settle(result, of: hop, to: target, started: started, call: call, route: &route) { return reply }

            case .loadHere:
                guard let record else { continue }
                do {
                    let priority: CopyLedger<any LoadedModel>.Priority = route.goal == .serve ? .request : .background
                    ownLoad = try await MeshTracing.span("mesh.claim", attributes: ["mesh.model": model.rawValue]) {
                        try await self.local.load(model, record: record, view: view, priority: priority, until: deadline)
                    }
                    route.record(.loadStarted)
                } catch let failure as CopyFailure {
                    route.record(.local(failure))
                }

            case .waitForView(let revision):
                await mirror.waitFor(revision: revision)

            case .finished:
                return nil

            case .fail(let error):
                throw error
            }
        }
    }

    /// Records in `route` how a hop to `target` went: returns the reply when it served the call,
    /// nil when the route goes on (declined, unreachable, or a copy added), and throws what ends
    /// the route.
    func settle<Call: RoutedCall>(
        _ result: Result<HopResult<Call.Reply>, any Error>, of hop: Hop, to target: PeerID, started: ContinuousClock.Instant,
        call: Call, route: inout RequestRoute
    ) throws -> Call.Reply? {
        do {
            switch try result.get() {
            case .served(let reply):
                // Only served hops say how long the model takes (a decline answers at once).
                if hop == .hitOnly { watchdog?.budgets.observe(route.model, .now - started) }
                if case .addCopy = route.goal {
                    route.record(call.addedCopy(reply, by: target))
                    return nil
                }
                return reply
            case .declined(let decline, let message):
                route.record(.declined(target, decline.outcome, message: message, revision: decline.revision))
                return nil
            }
        } catch let error as PeerUnreachable {
            if error.refused { health.markUnreachable(target, now: clock.now) }
            if call.atMostOnce, error.mayHaveRun {
                throw MeshError.unavailable(
                    "peer \(target) failed after the request was sent to it (\(error.reason)), so it may or may not have run; "
                        + "not retried elsewhere because the request set \(MeshHeaders.atMostOnce)"
                )
            }
            route.record(.unreachable(target, reason: error.reason, refused: error.refused))
            logger.info("peer unreachable; trying elsewhere", metadata: ["peer": "\(target)", "model": "\(route.model)", "reason": "\(error.reason)"])
            return nil
        }
    }

    // MARK: A first step taken from a channel handler

    /// The first step of a client's call, for a handler that takes it on its event loop without
    /// a task: serving from the copy here, or a hop, made there and handed to
    /// ``resume(_:call:deadline:)`` only when it does not serve the call
    /// (``settle(_:of:to:started:call:route:)``).
    enum FirstStep: Sendable {
        case serveHere
        case hop(PlannedHop)
    }

    struct PlannedHop: Sendable {
        var route: RequestRoute
        let target: PeerID
        let record: PeerRecord
        let hop: Hop
    }

    /// The first step of serving a client's call for `model` (registered as `record`, and in
    /// `copy` state here); nil when the route does something else first (the caller then routes
    /// the call as usual).
    func firstStep(model: ModelID, record: ModelRecord, copy: LocalCache.State?, excluded: Set<PeerID>,
                   deadline: ContinuousClock.Instant) -> FirstStep? {
        var route = makeRoute(model: model, hop: .external, goal: .serve, excluded: excluded, deadline: deadline)
        var random = SystemRandomNumberGenerator()
        let view = mirror.view
        let here = RoutePlanner.Local(peer: peerID, copy: copy, inFlight: local.inFlight, outstanding: health.outstanding)
        switch route.next(record: record, view: view, local: here, now: clock.now, using: &random) {
        case .serveHere:
            return .serveHere
        case .forward(let target, let hop):
            return view.peers[target].map { .hop(PlannedHop(route: route, target: target, record: $0, hop: hop)) }
        default:
            return nil
        }
    }

    /// Goes on with a route after ``settle(_:of:to:started:call:route:)`` recorded its hop.
    func resume<Call: RoutedCall>(_ route: RequestRoute, call: Call, deadline: ContinuousClock.Instant) async throws -> Call.Reply {
        var route = route
        guard let reply = try await drive(&route, call: call, deadline: deadline) else {
            throw MeshError.internalError("routing \(route.model) ended without an answer")
        }
        return reply
    }
}

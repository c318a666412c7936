import MeshCore
import ModelRuntimes
import NIOCore

extension PeerNode {
    /// Answers a client's ``FastInferRequest`` from `loop` itself, with no task, when its route
    /// starts with a hop (written and its answer relayed by the channels' handlers, as a proxy
    /// would) or with serving from a copy here whose runtime server takes requests from the loop
    /// (``LoadedModel/relay(json:on:then:)``); `completion` runs on `loop`. A task goes on with
    /// the route only when the hop does not serve the call (declined, unreachable) or the
    /// runtime server lost the model.
    /// False when the request takes the usual way: a hop or peer-only request (the gate's), an
    /// in-process or loading copy here, a model whose record is not cached, a protobuf body,
    /// binary outputs, or input the usual way answers with an error.
    func answerAtOnce(_ request: FastInferRequest, body: ByteBuffer, on loop: any EventLoop,
                      then completion: @escaping @Sendable (HTTPReply) -> Void) -> Bool {
        let started = ContinuousClock.now
        let fields = request.head.headerFields
        let header: @Sendable (String) -> String? = { fields.value($0) }
        guard header(MeshHeaders.hop) == nil, header(MeshHeaders.excluded) == nil, let model = try? ModelID(request.name) else { return false }
        let copy = local.copy(of: model)
        if let copy, copy.state != .loaded || !copy.relaysFromEventLoop { return false }
        if access.isEnforced,
           case .failure(let refusal) = access.checkREST(access.policy.required(restPath: request.path), authorization: header("authorization")) {
            completion(refusal.reply)
            return true
        }
        let contentType = header("content-type")
        guard !MeshHeaders.isProtobufInfer(contentType), let record = mirror.cachedModel(model),
              let context = try? HopContext(header: header, defaultTimeout: configuration.requestTimeout),
              case .success(let jsonLength) = Result(catching: { try DataPlaneRoutes.jsonLength(header("inference-header-content-length")) }),
              let step = router.firstStep(model: model, record: record, copy: copy?.state, excluded: context.excluded, deadline: context.deadline)
        else { return false }
        let call = RESTInferCall(body: body, jsonLength: jsonLength, contentType: contentType, forwarder: forwarder, metrics: metrics,
                                 peerID: peerID, atMostOnce: MeshHeaders.asksAtMostOnce(header(MeshHeaders.atMostOnce)))
        let answered = { @Sendable (result: Result<HTTPReply, any Error>) in
            completion(self.reply(to: "infer", header: header, started: started, result.map { (model, $0) }))
        }
        switch step {
        case .hop(let planned):
            metrics.hoppedFromChannel()
            hopAtOnce(planned, call: call, model: model, deadline: context.deadline, on: loop, send: { liveness, done in
                call.forward(to: planned.target, at: planned.record, hop: planned.hop, modelID: model, excluded: planned.route.excluded,
                             deadline: context.deadline, liveness: liveness, on: loop, then: done)
            }, then: answered)
            return true
        case .serveHere:
            guard relayHere(call, model: model, context: context, on: loop, then: answered) else { return false }
            metrics.relayedFromChannel()
            return true
        }
    }

    /// Makes a route's first hop from `loop` with `send` (which completes on `loop`); when it
    /// does not serve the call, a task goes on with the route.
    func hopAtOnce<Call: RoutedCall>(
        _ planned: RequestRouter.PlannedHop, call: Call, model: ModelID, deadline: ContinuousClock.Instant, on loop: any EventLoop,
        send: (HopLiveness?, @escaping @Sendable (Result<HopResult<Call.Reply>, any Error>) -> Void) -> Void,
        then completion: @escaping @Sendable (Result<Call.Reply, any Error>) -> Void
    ) {
        let liveness = router.watchdog?.liveness(of: planned.target, at: planned.record, model: model)
        let started = ContinuousClock.now
        health.beginOutstanding(at: planned.target)
        send(liveness) { result in
            self.health.endOutstanding(at: planned.target)
            var route = planned.route
            do {
                if let reply = try self.router.settle(result, of: planned.hop, to: planned.target, started: started, call: call, route: &route) {
                    return completion(.success(reply))
                }
            } catch {
                return completion(.failure(error))
            }
            // Declined or unreachable: the route goes on as the router's loop would.
            Task(executorPreference: self.eventLoops.executor(for: loop)) { [route] in
                do {
                    completion(.success(try await self.router.resume(route, call: call, deadline: deadline)))
                } catch {
                    completion(.failure(error))
                }
            }
        }
    }

    /// Serves a JSON request from the ready copy here by relaying it, checked as
    /// ``RESTInferCall/serve(_:modelID:)`` checks it, to the runtime server that holds the model,
    /// on a connection of `loop`. False when the request needs the usual way (binary parts, a
    /// body that does not read, no copy ready now). When the server no longer holds the model,
    /// the copy goes and a task routes the request again, as the router does.
    private func relayHere(
        _ call: RESTInferCall, model: ModelID, context: HopContext, on loop: any EventLoop,
        then completion: @escaping @Sendable (Result<HTTPReply, any Error>) -> Void
    ) -> Bool {
        guard let (_, relayable) = try? call.checked(Array(call.body.readableBytesView)), relayable, let use = local.acquireNow(model)
        else { return false }
        let started = ContinuousClock.now
        use.instance.relay(json: call.body, on: loop) { result in
            self.local.releaseNow(use)
            switch result {
            case .success(let answer):
                self.metrics.invoke(model: model, duration: .now - started)
                self.router.watchdog?.budgets.observe(model, .now - started)
                completion(.success(call.relayed(answer)))
            case .failure(let gone as ModelGoneFromRuntime):
                Task(executorPreference: self.eventLoops.executor(for: loop)) {
                    await self.local.runtimeLost(model, gone)
                    do {
                        completion(.success(try await self.router.route(call, model: model, hop: .external, excluded: context.excluded,
                                                                        deadline: context.deadline)))
                    } catch {
                        completion(.failure(error))
                    }
                }
            case .failure(let error):
                completion(.failure(error))
            }
        }
        return true
    }
}

import HTTPTypes
import MeshCore
import NIOCore

/// An inference request that ``InferFastPath`` answers from the channel: `POST
/// /v2/models/{m}/infer` or `/v2/models/{m}/versions/{v}/infer`, spelled plainly, with a
/// `Content-Length` small enough to read without a body reservation. Anything else (a query,
/// an encoded or empty segment, a chunked or large body, `Expect`, `Connection: close`) is left
/// to the router, which answers it the same way with more machinery.
struct FastInferRequest: Sendable {
    let head: HTTPRequest
    let path: String
    /// The model (or vmodel) name, as the router's `:model` parameter would read it.
    let name: String

    init?(_ head: HTTPRequest, maxBodyBytes: Int) {
        guard head.method == .post, let path = head.path, let name = Self.modelName(inInferPath: path) else { return nil }
        let fields = head.headerFields
        guard let length = fields[.contentLength].flatMap(Int.init), (0...maxBodyBytes).contains(length),
              fields[.transferEncoding] == nil, fields[.expect] == nil, fields[.connection]?.lowercased().contains("close") != true
        else { return nil }
        self.head = head
        self.path = path
        self.name = name
    }

    /// `{m}` of `/v2/models/{m}/infer` or `/v2/models/{m}/versions/{v}/infer`, with no empty
    /// segment, query or percent-encoding; read byte by byte, as every request asks it.
    static func modelName(inInferPath path: String) -> String? {
        let prefix = "/v2/models/".utf8, suffix = "/infer".utf8
        let utf8 = path.utf8
        guard utf8.count > prefix.count + suffix.count, utf8.starts(with: prefix), utf8.reversed().starts(with: suffix.reversed()),
              !utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") })
        else { return nil }
        let middle = path[utf8.index(utf8.startIndex, offsetBy: prefix.count)..<utf8.index(utf8.endIndex, offsetBy: -suffix.count)]
        guard let slash = middle.utf8.firstIndex(of: UInt8(ascii: "/")) else { return String(middle) }
        // The only longer spelling: `{m}/versions/{v}`, `{v}` one segment and not empty.
        let versions = "/versions/".utf8
        let tail = middle.utf8[slash...]
        guard slash > middle.startIndex, tail.count > versions.count, tail.starts(with: versions),
              !tail.dropFirst(versions.count).contains(UInt8(ascii: "/"))
        else { return nil }
        return String(middle[..<slash])
    }
}

extension PeerNode {
    /// Answers a ``FastInferRequest`` as the router would: the peer gate and the access check of
    /// its middleware, then the infer route's own handling.
    func answer(_ request: FastInferRequest, body: ByteBuffer, channel: any Channel) async -> HTTPReply {
        let fields = request.head.headerFields
        let header = { (name: String) in fields.value(name) }
        if let refusal = await gate.refusal(method: "POST", path: request.path, header: header,
                                            remoteHost: channel.remoteAddress?.ipAddress, channel: channel) {
            return refusal
        }
        // Hops were admitted as a peer's by the gate and carry no token.
        if access.isEnforced, header(MeshHeaders.hop) == nil, header(MeshHeaders.excluded) == nil,
           case .failure(let refusal) = access.checkREST(access.policy.required(restPath: request.path), authorization: header("authorization")) {
            return refusal.reply
        }
        return await answer(route: "infer", header: header, on: channel.eventLoop) { hop in
            try await DataPlaneRoutes.infer(request.name, hop: hop, header: header, node: self) { _ in body }
        }
    }

    /// Answers a client's ``FastInferRequest`` whose route starts with a hop from `loop` itself,
    /// with no task: the hop is written and its answer relayed by the channels' handlers, as a
    /// proxy would. Only when the hop does not serve the call (declined, unreachable) does a
    /// task go on with the route. Nil when the request takes the usual way: a hop or peer-only
    /// request (the gate's), a model this peer holds or whose record is not cached, a protobuf
    /// body, or headers the usual way answers with an error.
    func forwardAtOnce(_ request: FastInferRequest, body: ByteBuffer, on loop: any EventLoop) -> EventLoopFuture<HTTPReply>? {
        let started = ContinuousClock.now
        let fields = request.head.headerFields
        let header: @Sendable (String) -> String? = { fields.value($0) }
        guard header(MeshHeaders.hop) == nil, header(MeshHeaders.excluded) == nil else { return nil }
        if access.isEnforced,
           case .failure(let refusal) = access.checkREST(access.policy.required(restPath: request.path), authorization: header("authorization")) {
            return loop.makeSucceededFuture(refusal.reply)
        }
        let contentType = header("content-type")
        guard !MeshHeaders.isProtobufInfer(contentType),
              let context = try? HopContext(header: header, defaultTimeout: configuration.requestTimeout),
              case .success(let jsonLength) = Result(catching: { try DataPlaneRoutes.jsonLength(header("inference-header-content-length")) }),
              let model = try? ModelID(request.name), let record = mirror.cachedModel(model),
              let planned = router.plannedHop(model: model, record: record, excluded: context.excluded, deadline: context.deadline)
        else { return nil }
        let call = RESTInferCall(body: body, jsonLength: jsonLength, contentType: contentType, forwarder: forwarder, metrics: metrics,
                                 peerID: peerID, atMostOnce: MeshHeaders.asksAtMostOnce(header(MeshHeaders.atMostOnce)))
        metrics.hoppedFromChannel()
        let promise = loop.makePromise(of: HTTPReply.self)
        let finish = { @Sendable (result: Result<HTTPReply, any Error>) in
            promise.succeed(self.reply(to: "infer", header: header, started: started, result.map { (model, $0) }))
        }
        let liveness = router.watchdog?.liveness(of: planned.target, at: planned.record, model: model)
        let hopStarted = ContinuousClock.now
        health.beginOutstanding(at: planned.target)
        call.forward(to: planned.target, at: planned.record, hop: planned.hop, modelID: model, excluded: planned.route.excluded,
                     deadline: context.deadline, liveness: liveness, on: loop).whenComplete { result in
            self.health.endOutstanding(at: planned.target)
            var route = planned.route
            do {
                if let reply = try self.router.settle(result, of: planned.hop, to: planned.target, started: hopStarted, call: call, route: &route) {
                    return finish(.success(reply))
                }
            } catch {
                return finish(.failure(error))
            }
            // Declined or unreachable: the route goes on as the router's loop would.
            Task(executorPreference: self.eventLoops.executor(for: loop)) { [route] in
                do {
                    finish(.success(try await self.router.resume(route, call: call, deadline: context.deadline)))
                } catch {
                    finish(.failure(error))
                }
            }
        }
        return promise.futureResult
    }
}

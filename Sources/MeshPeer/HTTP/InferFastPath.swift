import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers inference requests (``FastInferRequest``) on the HTTP/1.1 channel itself: the
/// request's parts are gathered here; a client's request whose route starts with a hop or a
/// runtime server's copy here is answered from the connection's event loop
/// (``PeerNode/answerAtOnce(_:body:on:then:)``), any other routed by one task on that loop; then
/// the reply is written as three parts. Everything else goes on to Hummingbird, whose
/// per-request machinery (the async inbound and outbound streams, the request and response
/// objects, the router and its middleware) costs a hop or a local hit more than the mesh's own
/// work (BENCHMARKS.md).
///
/// Responses leave in the order requests came: a request is taken here only when Hummingbird
/// owes no response on the connection, and while one is answered here whatever arrives next
/// waits (and reading stops once something does) until its response is written.
final class InferFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// Inside a request passed to Hummingbird: its parts follow it.
        case passing
        /// Gathering the body of a request answered here.
        case reading(FastInferRequest, ByteBuffer)
        /// Answering it; what arrives meanwhile is held.
        case answering
    }

    /// What arrived while a request was being answered, in order.
    private enum Held {
        case part(HTTPRequestPart)
        case error(any Error)
        case event(Any)
    }

    private let node: PeerNode
    private let maxBodyBytes: Int
    private var state = State.idle
    /// Responses Hummingbird has still to write for requests passed to it.
    private var responsesOwed = 0
    private var held = CircularBuffer<Held>()
    private var readWanted = false
    private var removed = false

    init(node: PeerNode) {
        self.node = node
        self.maxBodyBytes = min(node.configuration.maxBodyBytes, node.bodyBudget.smallBytes)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .answering = state {
            held.append(.part(part))
        } else {
            receive(part, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch state {
        case .answering:
            held.append(.error(error))
        case .reading:
            // A broken request is Hummingbird's to answer (it closes the connection).
            state = .idle
            context.fireErrorCaught(error)
        case .idle, .passing:
            context.fireErrorCaught(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch state {
        case .answering:
            held.append(.event(event))
        case .reading:
            // The input ended inside the request: it will never be whole.
            state = .idle
            context.fireUserInboundEventTriggered(event)
        case .idle, .passing:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        // Reading goes on while a request is answered, so that a client's next request finds the
        // socket still watched (stopping and resuming costs two system calls a request); it
        // stops once something waits behind the answer, which bounds what is held to a read.
        if case .answering = state, !held.isEmpty {
            readWanted = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { responsesOwed = max(0, responsesOwed - 1) }
        context.write(data, promise: promise)
    }

    private func receive(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            // Traced requests take the router's way, where the tracing middleware is.
            if responsesOwed == 0, !MeshTracing.isEnabled, let request = FastInferRequest(head, maxBodyBytes: maxBodyBytes) {
                state = .reading(request, ByteBuffer())
                return
            }
            responsesOwed += 1
            state = .passing
            context.fireChannelRead(wrapInboundOut(part))
        case (.passing, .end):
            state = .idle
            context.fireChannelRead(wrapInboundOut(part))
        case (.idle, _), (.passing, _):
            context.fireChannelRead(wrapInboundOut(part))
        case (.reading(let request, var body), .body(let chunk)):
            state = .answering  // not holding `body` twice while it grows
            if body.readableBytes == 0 { body = chunk } else { body.writeImmutableBuffer(chunk) }
            state = .reading(request, body)
        case (.reading(let request, let body), .end):
            state = .answering
            answer(request, body: body, context: context)
        case (.reading, .head), (.answering, .head):
            // The parser never starts a request inside another (and parts that arrive while
            // answering are held): should it, the unfinished one is dropped.
            state = .idle
            receive(part, context: context)
        case (.answering, _):
            break
        }
    }

    private func answer(_ request: FastInferRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        let node = self.node
        let channel = context.channel
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        node.metrics.answeredOnChannel()
        let answeredHere = node.answerAtOnce(request, body: body, on: loop) { reply in
            bound.value.handler.finish(reply, context: bound.value.context)
        }
        if answeredHere { return }
        Task(executorPreference: node.eventLoops.executor(for: loop)) {
            let reply = await node.answer(request, body: body, channel: channel)
            if loop.inEventLoop {
                bound.value.handler.finish(reply, context: bound.value.context)
            } else {
                loop.execute { bound.value.handler.finish(reply, context: bound.value.context) }
            }
        }
    }

    private func finish(_ reply: HTTPReply, context: ChannelHandlerContext) {
        guard !removed else { return }
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields[.contentLength] = String(reply.body.readableBytes)
        fields[.date] = HTTPDate.now
        fields[.server] = "swift-model-mesh"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: reply.status), headerFields: fields))), promise: nil)
        if reply.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(reply.body)), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        state = .idle
        // What waited goes on, until another request is taken here; what reaches Hummingbird
        // needs a read-complete too (its stream passes on reads in batches, at each one).
        let waited = !held.isEmpty
        defer { if waited, !removed { context.fireChannelReadComplete() } }
        while !removed, let next = held.popFirst() {
            switch next {
            case .part(let part): receive(part, context: context)
            case .error(let error): errorCaught(context: context, error: error)
            case .event(let event): userInboundEventTriggered(context: context, event: event)
            }
            if case .answering = state { return }
        }
        if readWanted, !removed {
            readWanted = false
            context.read()
        }
    }
}

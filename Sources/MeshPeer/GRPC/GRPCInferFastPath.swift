import NIOCore
import NIOHPACK
import NIOHTTP2
import OpenInferenceGRPC

/// Answers `ModelInfer` calls on their HTTP/2 stream: the call's frames are gathered here and
/// a client's call whose route starts with a hop is relayed from the stream's event loop
/// (``PeerNode/answerGRPCInferAtOnce(metadata:message:on:then:)``), any other routed by one task
/// on that loop (``PeerNode/answerGRPCInfer(metadata:message:channel:)``), then the answer is
/// written as frames. grpc-swift's per-call machinery (its stream state
/// machine, the async request and response sequences, the interceptors, the router, the tasks
/// between them) cost a local hit four times a REST one (BENCHMARKS.md).
///
/// Only a plainly spelled call is taken: `POST`, `application/grpc[+proto]`, no compression, and
/// one uncompressed message of at most `maxMessageBytes` ending the stream. Anything else (and
/// every other method) goes on to grpc-swift unchanged, with the frames held so far, which
/// answers it as before; grpc-swift's task for a stream taken here ends quietly when the stream
/// closes, having never seen its headers.
final class GRPCInferFastPath: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    static let path = "/" + Inference_GRPCInferenceService.Method.ModelInfer.descriptor.fullyQualifiedMethod

    private enum State {
        /// Before the request's headers.
        case start
        /// Everything goes on to grpc-swift.
        case passing
        /// Gathering a call answered here; `held` is what grpc-swift gets should it not be.
        case gathering(headers: HPACKHeaders, held: [HTTP2Frame.FramePayload], body: ByteBuffer)
        /// Answering it.
        case answering
    }

    private let node: PeerNode
    private let maxMessageBytes: Int
    private var state = State.start
    private var answer: Task<Void, Never>?
    private var closed = false

    init(node: PeerNode, maxMessageBytes: Int) {
        self.node = node
        self.maxMessageBytes = maxMessageBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch (state, frame) {
        case (.start, .headers(let headers)):
            if !headers.endStream, Self.takes(headers.headers) {
                state = .gathering(headers: headers.headers, held: [frame], body: ByteBuffer())
            } else {
                state = .passing
                context.fireChannelRead(data)
            }
        case (.gathering(let headers, var held, var body), .data(let payload)):
            guard case .byteBuffer(let chunk) = payload.data, body.readableBytes + chunk.readableBytes <= maxMessageBytes + 5 else {
                return passOn(held + [frame], context: context)
            }
            state = .answering  // not holding `held` and `body` twice while they grow
            held.append(frame)
            if body.readableBytes == 0 { body = chunk } else { body.writeImmutableBuffer(chunk) }
            guard payload.endStream else {
                state = .gathering(headers: headers, held: held, body: body)
                return
            }
            guard let message = Self.onlyMessage(in: body) else { return passOn(held, context: context) }
            start(headers: headers, message: message, context: context)
        case (.gathering(let headers, var held, let body), .windowUpdate), (.gathering(let headers, var held, let body), .priority):
            // The client's flow control and priorities: the stream channel's business.
            state = .answering
            held.append(frame)
            state = .gathering(headers: headers, held: held, body: body)
        case (.gathering(_, let held, _), _):
            // Trailers from the client, a reset, anything unusual: grpc-swift's to handle.
            passOn(held + [frame], context: context)
        case (.answering, .rstStream):
            answer?.cancel()
        case (.answering, _):
            break
        case (.start, _), (.passing, _):
            state = .passing
            context.fireChannelRead(data)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        answer?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closed = true
    }

    /// Whether the request's headers are a plain `ModelInfer` call this path answers.
    static func takes(_ headers: HPACKHeaders) -> Bool {
        guard headers.first(name: ":path") == path, headers.first(name: ":method") == "POST",
              let scheme = headers.first(name: ":scheme"), scheme == "http" || scheme == "https",
              let type = headers.first(name: "content-type"), type == "application/grpc" || type == "application/grpc+proto"
        else { return false }
        let encoding = headers.first(name: "grpc-encoding")
        return encoding == nil || encoding == "identity"
    }

    /// The one message a unary request's body holds, when it holds exactly one, uncompressed.
    static func onlyMessage(in body: ByteBuffer) -> [UInt8]? {
        guard let flag = body.getInteger(at: body.readerIndex, as: UInt8.self), flag == 0,
              let length = body.getInteger(at: body.readerIndex + 1, as: UInt32.self),
              Int(length) == body.readableBytes - 5
        else { return nil }
        return body.getBytes(at: body.readerIndex + 5, length: Int(length))
    }

    private func passOn(_ frames: [HTTP2Frame.FramePayload], context: ChannelHandlerContext) {
        state = .passing
        for frame in frames { context.fireChannelRead(wrapInboundOut(frame)) }
    }

    private func start(headers: HPACKHeaders, message: [UInt8], context: ChannelHandlerContext) {
        state = .answering
        let node = self.node
        let channel = context.channel
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let metadata = GRPCStreamReply.metadata(of: headers)
        node.metrics.answeredOnGRPCStream()
        let answeredHere = node.answerGRPCInferAtOnce(metadata: metadata, message: message, on: loop) { reply in
            bound.value.handler.finish(reply, context: bound.value.context)
        }
        if answeredHere { return }
        answer = Task(executorPreference: node.eventLoops.executor(for: loop)) {
            let reply = await node.answerGRPCInfer(metadata: metadata, message: message, channel: channel)
            if loop.inEventLoop {
                bound.value.handler.finish(reply, context: bound.value.context)
            } else {
                loop.execute { bound.value.handler.finish(reply, context: bound.value.context) }
            }
        }
    }

    private func finish(_ reply: GRPCStreamReply, context: ChannelHandlerContext) {
        answer = nil
        guard !closed else { return }
        switch reply {
        case .message(let headers, let message, let trailers):
            context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
            var framed = context.channel.allocator.buffer(capacity: message.count + 5)
            framed.writeInteger(UInt8(0))
            framed.writeInteger(UInt32(message.count))
            framed.writeBytes(message)
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        case .status(let trailers):
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        }
    }
}

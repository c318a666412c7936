import NIOCore
import NIOHTTP1

/// A whole request: head and body, written as one.
struct FullRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
}

/// A whole response: head and body.
struct FullResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
}

/// One request at a time on a kept-alive connection: writes the request as its HTTP parts and
/// gathers the response into the request's promise. One handler where a writer, an aggregator,
/// a size check and a request-response queue would each add a step to every part.
final class ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = (FullRequest, EventLoopPromise<FullResponse>)
    typealias OutboundOut = HTTPClientRequestPart

    private let maxResponseBytes: Int
    private var pending: EventLoopPromise<FullResponse>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    init(maxResponseBytes: Int) {
        self.maxResponseBytes = maxResponseBytes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let (request, response) = unwrapOutboundIn(data)
        guard pending == nil else {
            response.fail(KeepAliveHTTPClient.Failure(kind: .closed, description: "the connection is busy with another request", refused: false))
            promise?.fail(ChannelError.inappropriateOperationForState)
            return
        }
        pending = response
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            // An informational answer (100 Continue) precedes the real one.
            guard responseHead.status.code >= 200 || responseHead.status == .switchingProtocols else { return }
            if let declared = responseHead.headers.first(name: "content-length").flatMap(Int.init), declared > maxResponseBytes {
                return fail(tooLarge(), context: context)
            }
            head = responseHead
            body.clear()
        case .body(var chunk):
            guard head != nil else { return }
            guard body.readableBytes + chunk.readableBytes <= maxResponseBytes else { return fail(tooLarge(), context: context) }
            if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
        case .end:
            guard let responseHead = head else { return }
            let response = FullResponse(head: responseHead, body: body)
            head = nil
            body = ByteBuffer()
            let promise = pending
            pending = nil
            promise?.succeed(response)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let promise = pending
        pending = nil
        promise?.fail(KeepAliveHTTPClient.Failure(kind: .closed, description: "the connection closed before the response", refused: false))
        context.fireChannelInactive()
    }

    private func tooLarge() -> KeepAliveHTTPClient.Failure {
        KeepAliveHTTPClient.Failure(kind: .tooLarge, description: "the response is larger than \(maxResponseBytes) bytes", refused: false)
    }

    /// Fails the request in flight and closes the connection: what remains of the response
    /// cannot be told from the next one.
    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        let promise = pending
        pending = nil
        head = nil
        body = ByteBuffer()
        promise?.fail(error)
        context.close(promise: nil)
    }
}

import NIOCore
import NIOHTTP1
import NIOPosix

/// The least a SwiftNIO relay can do per hop, as a floor beside nginx for the mesh's hop: each
/// accepted connection gets one kept-alive connection to the upstream on the same event loop,
/// and every part is passed on as it comes, with no task, routing, aggregation or header
/// rewriting. In `.http` mode both sides go through NIO's HTTP/1.1 codecs (what any HTTP relay
/// on NIO pays); in `.tcp` mode bytes are spliced with no parsing at all (what NIO's channels
/// and the kernel alone cost).
public enum NIORelay {
    public enum Mode: String, Sendable, CaseIterable {
        case http, tcp
    }

    /// Relays connections accepted on `host:port` to `upstreamHost:upstreamPort` until cancelled.
    public static func run(host: String, port: Int, upstreamHost: String, upstreamPort: Int, mode: Mode) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                // The upstream connection is made before the client's first read, on its loop.
                ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: upstreamHost, port: upstreamPort)
                    .flatMapThrowing { outbound in
                        let inboundHandlers = inbound.pipeline.syncOperations, outboundHandlers = outbound.pipeline.syncOperations
                        switch mode {
                        case .http:
                            try inboundHandlers.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
                            try inboundHandlers.addHandler(RequestRelay(upstream: outbound))
                            try outboundHandlers.addHTTPClientHandlers()
                            try outboundHandlers.addHandler(ResponseRelay(downstream: inbound))
                        case .tcp:
                            try inboundHandlers.addHandler(ByteRelay(to: outbound))
                            try outboundHandlers.addHandler(ByteRelay(to: inbound))
                        }
                    }
            }
            .bind(host: host, port: port)
            .get()
        try await withTaskCancellationHandler {
            try await server.closeFuture.get()
        } onCancel: {
            server.close(promise: nil)
        }
    }
}

/// Client → upstream: each request part re-encoded for the upstream, flushed once per read.
private final class RequestRelay: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    let upstream: any Channel

    init(upstream: any Channel) { self.upstream = upstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): upstream.write(HTTPClientRequestPart.head(head), promise: nil)
        case .body(let bytes): upstream.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil)
        case .end(let trailers): upstream.write(HTTPClientRequestPart.end(trailers), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { upstream.flush() }
    func channelInactive(context: ChannelHandlerContext) { upstream.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// Upstream → client: each response part re-encoded for the client, flushed once per read.
private final class ResponseRelay: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let downstream: any Channel

    init(downstream: any Channel) { self.downstream = downstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): downstream.write(HTTPServerResponsePart.head(head), promise: nil)
        case .body(let bytes): downstream.write(HTTPServerResponsePart.body(.byteBuffer(bytes)), promise: nil)
        case .end(let trailers): downstream.write(HTTPServerResponsePart.end(trailers), promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { downstream.flush() }
    func channelInactive(context: ChannelHandlerContext) { downstream.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// Bytes from one connection written to the other as read, flushed once per read.
private final class ByteRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let other: any Channel

    init(to other: any Channel) { self.other = other }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        other.write(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { other.flush() }
    func channelInactive(context: ChannelHandlerContext) { other.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

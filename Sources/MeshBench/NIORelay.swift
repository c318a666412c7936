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
    public enum Mode: String, Sendable {
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
                            try inboundHandlers.addHandler(PartRelay<HTTPServerRequestPart, HTTPClientRequestPart>(encodingFor: outbound))
                            try outboundHandlers.addHTTPClientHandlers()
                            try outboundHandlers.addHandler(PartRelay<HTTPClientResponsePart, HTTPServerResponsePart>(encodingFor: inbound))
                        case .tcp:
                            try inboundHandlers.addHandler(PartRelay(splicingTo: outbound))
                            try outboundHandlers.addHandler(PartRelay(splicingTo: inbound))
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

/// Each part read on one connection written to the other as `forward` makes it, flushed once per
/// read; either side closing closes both.
private final class PartRelay<In, Out: Sendable>: ChannelInboundHandler {
    typealias InboundIn = In
    let other: any Channel
    let forward: (In) -> Out

    init(to other: any Channel, forward: @escaping (In) -> Out) {
        self.other = other
        self.forward = forward
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        other.write(forward(unwrapInboundIn(data)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { other.flush() }
    func channelInactive(context: ChannelHandlerContext) { other.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

extension PartRelay where In == ByteBuffer, Out == ByteBuffer {
    /// Bytes as read.
    convenience init(splicingTo other: any Channel) {
        self.init(to: other) { $0 }
    }
}

extension PartRelay {
    /// HTTP parts as one side's decoder gives them, re-encoded for the other side: requests from
    /// the client to the upstream, responses from the upstream to the client.
    convenience init<Head: Sendable>(encodingFor other: any Channel) where In == HTTPPart<Head, ByteBuffer>, Out == HTTPPart<Head, IOData> {
        self.init(to: other) { part in
            switch part {
            case .head(let head): .head(head)
            case .body(let bytes): .body(.byteBuffer(bytes))
            case .end(let trailers): .end(trailers)
            }
        }
    }
}

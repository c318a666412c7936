import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on a loopback port in front of an upstream server that can go silent: after
/// ``stall()`` it forwards nothing more in either direction, on open connections and new ones,
/// and closes nothing. To both ends this looks like a half-open connection, or a server that
/// froze: writes succeed and no answer ever comes.
public final class StallingProxy: Sendable {
    public let port: Int
    private let channel: any Channel
    private let state: StallState

    public var endpointURL: String { "http://127.0.0.1:\(port)" }

    public static func start(upstreamPort: Int) async throws -> StallingProxy {
        let state = StallState()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .channelInitializer { upstream in
                        upstream.eventLoop.makeCompletedFuture {
                            try upstream.pipeline.syncOperations.addHandler(StallableForwarder(partner: client, state: state))
                        }
                    }
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMapThrowing { upstream in
                        try client.pipeline.syncOperations.addHandler(StallableForwarder(partner: upstream, state: state))
                    }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSupportError("proxy has no local port") }
        return StallingProxy(port: port, channel: channel, state: state)
    }

    private init(port: Int, channel: any Channel, state: StallState) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    /// From now on nothing passes; connections stay open.
    public func stall() {
        state.stalled.store(true, ordering: .relaxed)
    }

    public var isStalled: Bool { state.stalled.load(ordering: .relaxed) }

    public func stop() async {
        try? await channel.close()
    }
}

private final class StallState: Sendable {
    let stalled = Atomic<Bool>(false)
}

/// Forwards what one side reads to the other until the proxy stalls; then drops it.
private final class StallableForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let partner: any Channel
    let state: StallState

    init(partner: any Channel, state: StallState) {
        self.partner = partner
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.stalled.load(ordering: .relaxed) else { return }
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

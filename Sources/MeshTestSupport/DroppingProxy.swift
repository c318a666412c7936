import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on a loopback port that forwards to an upstream server and, for the next
/// ``dropsRemaining`` connections that get that far, cuts the connection after
/// `dropAfterBodyBytes` bytes of response body: a download dropped in the middle.
///
/// Body bytes are counted from the end of the first response head on a connection; small
/// responses (listings) pass untouched, a large object is cut.
public final class DroppingProxy: Sendable {
    public let port: Int
    public let dropAfterBodyBytes: Int
    private let channel: any Channel
    private let drops: Mutex<Int>
    private let dropped = Atomic<Int>(0)

    public var endpointURL: String { "http://127.0.0.1:\(port)" }
    /// Connections cut so far.
    public var droppedConnections: Int { dropped.load(ordering: .relaxed) }

    public static func start(upstreamPort: Int, dropAfterBodyBytes: Int, drops: Int) async throws -> DroppingProxy {
        let state = DropState()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .channelInitializer { upstream in
                        upstream.eventLoop.makeCompletedFuture {
                            try upstream.pipeline.syncOperations.addHandler(
                                Forwarder(partner: client, dropAfter: dropAfterBodyBytes, state: state)
                            )
                        }
                    }
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMapThrowing { upstream in
                        try client.pipeline.syncOperations.addHandler(Forwarder(partner: upstream, dropAfter: nil, state: state))
                    }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSupportError("proxy has no local port") }
        let proxy = DroppingProxy(port: port, dropAfterBodyBytes: dropAfterBodyBytes, channel: channel, drops: drops)
        state.proxy.withLock { $0 = proxy }
        return proxy
    }

    private init(port: Int, dropAfterBodyBytes: Int, channel: any Channel, drops: Int) {
        self.port = port
        self.dropAfterBodyBytes = dropAfterBodyBytes
        self.channel = channel
        self.drops = Mutex(drops)
    }

    public var dropsRemaining: Int {
        get { drops.withLock { $0 } }
    }

    public func setDrops(_ count: Int) {
        drops.withLock { $0 = count }
    }

    /// Claims one drop for a connection that reached the threshold.
    fileprivate func claimDrop() -> Bool {
        let claimed = drops.withLock { remaining in
            guard remaining > 0 else { return false }
            remaining -= 1
            return true
        }
        if claimed { dropped.wrappingAdd(1, ordering: .relaxed) }
        return claimed
    }

    public func stop() async {
        try? await channel.close()
    }
}

private final class DropState: Sendable {
    let proxy = Mutex<DroppingProxy?>(nil)
}

/// Forwards what one side reads to the other; on the upstream side it counts body bytes.
private final class Forwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let partner: any Channel
    /// Set on the upstream side only.
    let dropAfter: Int?
    let state: DropState
    private var headEnded = false
    private var recent: [UInt8] = []
    private var bodyBytes = 0
    private var passedThreshold = false

    init(partner: any Channel, dropAfter: Int?, state: DropState) {
        self.partner = partner
        self.dropAfter = dropAfter
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let dropAfter, !passedThreshold else {
            partner.writeAndFlush(buffer, promise: nil)
            return
        }
        let bodyStart = headEnded ? 0 : findBodyStart(in: buffer)
        guard let bodyStart else {
            partner.writeAndFlush(buffer, promise: nil)
            return
        }
        let bodyInChunk = buffer.readableBytes - bodyStart
        if bodyBytes + bodyInChunk < dropAfter {
            bodyBytes += bodyInChunk
            partner.writeAndFlush(buffer, promise: nil)
            return
        }
        passedThreshold = true
        guard state.proxy.withLock({ $0 })?.claimDrop() == true else {
            partner.writeAndFlush(buffer, promise: nil)
            return
        }
        // Forward exactly up to the threshold, then cut both connections.
        let keep = bodyStart + (dropAfter - bodyBytes)
        let slice = buffer.readSlice(length: keep) ?? buffer
        let partner = self.partner
        partner.writeAndFlush(slice).whenComplete { _ in partner.close(promise: nil) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The offset where the body starts in `buffer`, once the head's blank line has been seen.
    private func findBodyStart(in buffer: ByteBuffer) -> Int? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        for (offset, byte) in buffer.readableBytesView.enumerated() {
            recent.append(byte)
            if recent.count > 4 { recent.removeFirst() }
            if recent == terminator {
                headEnded = true
                return offset + 1
            }
        }
        return nil
    }
}

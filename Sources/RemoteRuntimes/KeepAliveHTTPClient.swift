import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import Synchronization

/// HTTP/1.1 to one server beside the peer, over keep-alive NIO channels kept idle between
/// requests: a request is one write of a whole message and one aggregated response, with no
/// connection-pool state machine or per-request task in between. A runtime server is on
/// loopback and every inference goes to it, so its hop must cost little (AsyncHTTPClient's
/// general-purpose pool cost about a millisecond per request here).
final class KeepAliveHTTPClient: Sendable {
    let host: String
    let port: Int
    let maxResponseBytes: Int
    private let idle = Mutex<[any Channel]>([])
    private let closed = Atomic<Bool>(false)
    /// Connections kept idle at most; more are closed after their request.
    static let maxIdle = 16

    struct Response: Sendable {
        var status: Int
        var body: ByteBuffer
    }

    /// The connection closed, or the response was refused, before the response came.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// Nothing was sent on a fresh connection: it never opened.
        let refused: Bool
        let underlying: (any Error)?
    }

    init(host: String, port: Int, maxResponseBytes: Int) {
        self.host = host
        self.port = port
        self.maxResponseBytes = maxResponseBytes
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?, timeout: Duration) async throws -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if body != nil { head.headers.add(name: "Content-Type", value: "application/json") }
        let request = FullRequest(head: head, body: body.map { ByteBuffer(bytes: $0) })
        // A kept connection the server closed meanwhile (its idle timeout) fails before any answer:
        // once, the request goes again on a new connection.
        if let channel = takeIdle() {
            do {
                return try await exchange(request, on: channel, timeout: timeout)
            } catch is NIOExtrasErrors.ClosedBeforeReceivingResponse {
                // Fall through to a fresh connection.
            }
        }
        return try await exchange(request, on: try await connect(), timeout: timeout)
    }

    func close() {
        closed.store(true, ordering: .relaxed)
        for channel in idle.withLock({ channels in defer { channels.removeAll() }; return channels }) { channel.close(promise: nil) }
    }

    private func takeIdle() -> (any Channel)? {
        idle.withLock { channels in
            while let channel = channels.popLast() {
                if channel.isActive { return channel }
            }
            return nil
        }
    }

    private func giveBack(_ channel: any Channel) {
        let kept = !closed.load(ordering: .relaxed) && idle.withLock { channels in
            guard channels.count < Self.maxIdle else { return false }
            channels.append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    private func connect() async throws -> any Channel {
        let limit = maxResponseBytes
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHTTPClientHandlers()
                    try handlers.addHandlers([
                        NIOHTTPClientResponseAggregator(maxContentLength: limit),
                        OversizeResponse(limit: limit),
                        FullRequestWriter(),
                        RequestResponseHandler<FullRequest, NIOHTTPClientResponseFull>(),
                    ])
                }
            }
        do {
            return try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw Failure(description: "cannot connect to \(host):\(port): \(error)", refused: ServerHTTP.isRefused(error), underlying: error)
        }
    }

    /// Sends `request` on `channel` and waits for its response; the channel goes back to the
    /// idle list if the server keeps it, and is closed on a timeout, a cancellation or an error.
    private func exchange(_ request: FullRequest, on channel: any Channel, timeout: Duration) async throws -> Response {
        let promise = channel.eventLoop.makePromise(of: NIOHTTPClientResponseFull.self)
        // Past the timeout the channel is closed, which fails the request's promise.
        let timedOut = TimeoutFlag()
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            timedOut.value.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        let full: NIOHTTPClientResponseFull
        do {
            full = try await withTaskCancellationHandler {
                channel.writeAndFlush((request, promise), promise: nil)
                return try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            if timedOut.value.load(ordering: .relaxed) {
                throw Failure(description: "no response from \(host):\(port) within \(timeout)", refused: false, underlying: nil)
            }
            throw error
        }
        timer.cancel()
        if full.head.isKeepAlive { giveBack(channel) } else { channel.close(promise: nil) }
        return Response(status: Int(full.head.status.code), body: full.body ?? ByteBuffer())
    }
}

final class TimeoutFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// A whole request: head and body, written as one.
struct FullRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
}

/// Writes a ``FullRequest`` as its HTTP parts.
final class FullRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = FullRequest
    typealias OutboundOut = HTTPClientRequestPart

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }
}

/// Turns the aggregator's "response too long" event into an error that fails the request.
final class OversizeResponse: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOHTTPClientResponseFull
    typealias InboundOut = NIOHTTPClientResponseFull
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? NIOHTTPObjectAggregatorEvent, event == .httpFrameTooLong {
            context.fireErrorCaught(KeepAliveHTTPClient.Failure(description: "the response is larger than \(limit) bytes", refused: false, underlying: nil))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

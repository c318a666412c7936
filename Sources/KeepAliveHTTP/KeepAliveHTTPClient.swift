import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// HTTP/1.1 over keep-alive NIO channels kept idle between requests: a request is one write of
/// a whole message and one aggregated response, with no connection-pool state machine or
/// per-request task in between. Used where every request pays for the client: hops between
/// peers, and the runtime server beside a peer.
///
/// A request whose task runs on an event loop (as the peer's data-plane handlers do) uses only
/// connections of that loop, opening one when none is idle, so that writing, reading and
/// resuming the task happen on one thread.
public final class KeepAliveHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Largest response body accepted; a longer one fails the request.
        public var maxResponseBytes: Int
        public var connectTimeout: Duration = .seconds(2)
        /// Connections kept idle per server at most; more are closed after their request.
        public var maxIdlePerServer = 16
        /// Idle connections older than this are closed instead of reused (below the servers'
        /// own idle timeout, so a request seldom meets a connection the server is closing).
        public var idleTimeout: Duration = .seconds(60)
        /// When a reused connection closes before any response, send the request again once on
        /// a new one. Only for requests that are safe to repeat.
        public var retryWhenReusedConnectionCloses = false
        /// TLS for every connection (the server's name, or its IP address, is verified).
        public var tls: NIOSSLContext?

        public init(maxResponseBytes: Int) {
            self.maxResponseBytes = maxResponseBytes
        }
    }

    public struct Server: Hashable, Sendable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct Request: Sendable {
        public var method: HTTPMethod
        public var path: String
        public var headers: HTTPHeaders
        public var body: ByteBuffer?

        public init(method: HTTPMethod, path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
            self.method = method
            self.path = path
            self.headers = headers
            self.body = body
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    public struct Failure: Error, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// No connection could be made (refused, timed out, unresolvable): nothing was sent.
            case connect
            /// No response within the request's timeout.
            case timeout
            /// The connection closed, or broke, after the request was (perhaps) sent.
            case closed
            /// The response is larger than ``Configuration/maxResponseBytes``.
            case tooLarge
            /// The server failed its ``LivenessWatch`` while the request waited.
            case unresponsive
        }
        public let kind: Kind
        public let description: String
        /// Nothing listens at the address (ECONNREFUSED).
        public let refused: Bool
    }

    /// Tells a frozen server from a slow one while a request waits: after `interval`, and again
    /// every `interval` while it still waits, `isAlive` is asked; when it answers false, the
    /// request fails as ``Failure/Kind/unresponsive`` and its connection is closed. Until the
    /// first interval passes a watch costs a timer on the connection's loop and nothing more.
    public struct LivenessWatch: Sendable {
        public var interval: Duration
        public var isAlive: @Sendable () async -> Bool

        public init(interval: Duration, isAlive: @escaping @Sendable () async -> Bool) {
            self.interval = interval
            self.isAlive = isAlive
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let idle = Mutex<[Server: [IdleConnection]]>([:])
    private let closed = Atomic<Bool>(false)

    private struct IdleConnection {
        var channel: any Channel
        var since: NIODeadline
    }

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    /// What a request without a task is answered with, on its connection's event loop.
    public typealias Completion = @Sendable (Result<Response, any Error>) -> Void

    /// Sends `request` to `server` and waits at most `timeout` for the whole response, while
    /// `watch` (if any) says the server lives. Cancelling the task closes the connection.
    public func send(_ request: Request, to server: Server, timeout: Duration, watch: LivenessWatch? = nil) async throws -> Response {
        let cancellation = ExchangeCancellation()
        let preferred = MultiThreadedEventLoopGroup.currentEventLoop
        do {
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { continuation in
                    start(request, to: server, timeout: timeout, watch: watch, preferring: preferred, cancellation: cancellation) {
                        continuation.resume(with: $0)
                    }
                }
            } onCancel: {
                cancellation.cancel()
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// ``send(_:to:timeout:watch:)`` without a task, for callers on an event loop: the exchange
    /// uses a connection of `loop` (opening one when none is idle) and `completion` runs there,
    /// so a handler can relay the answer without leaving its thread.
    public func send(_ request: Request, to server: Server, timeout: Duration, watch: LivenessWatch? = nil,
                     on loop: any EventLoop, then completion: @escaping Completion) {
        start(request, to: server, timeout: timeout, watch: watch, preferring: loop, cancellation: nil, then: completion)
    }

    private func start(
        _ request: Request, to server: Server, timeout: Duration, watch: LivenessWatch?, preferring preferred: (any EventLoop)?,
        cancellation: ExchangeCancellation?, then completion: @escaping Completion
    ) {
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path, headers: request.headers)
        if !head.headers.contains(name: "host") { head.headers.add(name: "host", value: "\(server.host):\(server.port)") }
        head.headers.replaceOrAdd(name: "content-length", value: String(request.body?.readableBytes ?? 0))
        let message = FullRequest(head: head, body: request.body)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let loop = preferred ?? group.next()
        let fresh = { @Sendable () in
            self.connect(to: server, on: loop, deadline: deadline).whenComplete { connected in
                switch connected {
                case .success(let channel):
                    self.exchange(message, on: channel, server: server, deadline: deadline, watch: watch, cancellation: cancellation, then: completion)
                case .failure(let error):
                    completion(.failure(error))
                }
            }
        }
        guard let channel = takeIdle(for: server, preferring: preferred) else { return fresh() }
        guard configuration.retryWhenReusedConnectionCloses else {
            return exchange(message, on: channel, server: server, deadline: deadline, watch: watch, cancellation: cancellation, then: completion)
        }
        exchange(message, on: channel, server: server, deadline: deadline, watch: watch, cancellation: cancellation) { result in
            if case .failure(let failure as Failure) = result, failure.kind == .closed, cancellation?.isCancelled != true {
                return fresh()
            }
            completion(result)
        }
    }

    /// Closes the idle connections; requests in flight finish, and their connections are closed.
    public func close() {
        closed.store(true, ordering: .relaxed)
        let channels = idle.withLock { pools in
            defer { pools.removeAll() }
            return pools.values.flatMap { $0.map(\.channel) }
        }
        for channel in channels { channel.close(promise: nil) }
    }

    private func takeIdle(for server: Server, preferring loop: (any EventLoop)?) -> (any Channel)? {
        let oldest = NIODeadline.now() - TimeAmount(configuration.idleTimeout)
        var expired: [any Channel] = []
        let taken: (any Channel)? = idle.withLock { pools in
            guard var connections = pools[server] else { return nil }
            defer { pools[server] = connections.isEmpty ? nil : connections }
            connections.removeAll { connection in
                let stale = !connection.channel.isActive || connection.since < oldest
                if stale { expired.append(connection.channel) }
                return stale
            }
            // A request running on a loop takes only that loop's connections: one of another
            // loop would cost a wake-up of that loop's thread to write, one to time, and one of
            // this thread for the answer, on every request (a new connection here costs once).
            let index = loop.map { loop in connections.lastIndex { $0.channel.eventLoop === loop } } ?? connections.indices.last
            return index.map { connections.remove(at: $0).channel }
        }
        for channel in expired { channel.close(promise: nil) }
        return taken
    }

    private func giveBack(_ channel: any Channel, to server: Server) {
        let kept = !closed.load(ordering: .relaxed) && idle.withLock { pools in
            guard pools[server, default: []].count < configuration.maxIdlePerServer else { return false }
            pools[server, default: []].append(IdleConnection(channel: channel, since: .now()))
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    private func connect(to server: Server, on loop: any EventLoop, deadline: NIODeadline) -> EventLoopFuture<any Channel> {
        let limit = configuration.maxResponseBytes
        let tls = configuration.tls
        // A TLS server is verified by name, or by the IP address it is reached at (no SNI then).
        let serverName = tls != nil && !Self.isIPAddress(server.host) ? server.host : nil
        let connectTimeout = min(TimeAmount(configuration.connectTimeout), max(.milliseconds(1), deadline - .now()))
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    if let tls { try handlers.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try handlers.addHTTPClientHandlers()
                    try handlers.addHandler(ExchangeHandler(maxResponseBytes: limit))
                }
            }
        return bootstrap.connect(host: server.host, port: server.port).flatMapErrorThrowing { error in
            throw Failure(kind: .connect, description: "cannot connect to \(server.host):\(server.port): \(error)", refused: Self.isRefused(error))
        }
    }

    /// Sends `request` on `channel` and completes with its response; the channel goes back to
    /// the idle list if the server keeps it, and is closed on a timeout, a failed liveness check,
    /// a cancellation or an error.
    private func exchange(
        _ request: FullRequest, on channel: any Channel, server: Server, deadline: NIODeadline, watch: LivenessWatch?,
        cancellation: ExchangeCancellation?, then completion: @escaping Completion
    ) {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: FullResponse.self)
        // The deadline, a failed check and a cancellation end the wait by closing the channel,
        // which fails the request's promise.
        let wait = WatchedWait(on: loop, deadline: deadline, watch: watch) { _ in channel.close(promise: nil) }
        cancellation?.watch(channel)
        // A write that never reaches the exchange handler (the connection closed on the way)
        // fails the request instead of leaving it waiting.
        let written = loop.makePromise(of: Void.self)
        written.futureResult.whenFailure { promise.fail($0) }
        channel.writeAndFlush((request, promise), promise: written)
        promise.futureResult.whenComplete { result in
            switch result {
            case .success(let full):
                // A check that failed as the answer came has closed the channel: the answer still counts.
                let answeredFirst = wait.end(.answered)
                if answeredFirst && full.head.isKeepAlive { self.giveBack(channel, to: server) } else { channel.close(promise: nil) }
                completion(.success(Response(status: Int(full.head.status.code), headers: full.head.headers, body: full.body)))
            case .failure(let error):
                let ended = wait.end(.failed) ? nil : wait.ended
                channel.close(promise: nil)
                completion(.failure(Self.failure(error, ended: ended, server: server)))
            }
        }
    }

    /// What a failed exchange tells its caller: how the wait ended, when the deadline or a check
    /// ended it, else how the connection failed.
    private static func failure(_ error: any Error, ended: WatchedWait.End?, server: Server) -> any Error {
        switch ended {
        case .deadline:
            return Failure(kind: .timeout, description: "no response from \(server.host):\(server.port) in time", refused: false)
        case .unresponsive:
            return Failure(kind: .unresponsive, description: "\(server.host):\(server.port) stopped answering its liveness check while the request waited",
                           refused: false)
        default:
            if let failure = error as? Failure { return failure }
            return Failure(kind: .closed, description: "the connection to \(server.host):\(server.port) closed before the response (\(error))",
                           refused: false)
        }
    }

    /// Whether `error` says nothing listens at the address.
    public static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { isRefused($0.error) }
        }
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        return "\(error)".lowercased().contains("connection refused")
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

#if canImport(Glibc)
import Glibc
#endif

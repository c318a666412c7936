import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The peer's gRPC server (HTTP/2 on SwiftNIO) as a Service: listens until graceful shutdown,
/// then stops taking calls and finishes those in flight.
final class GRPCServerService: Service, Sendable {
    let host: String
    let port: Int
    let logger: Logger
    /// Succeeds once the server listens (the peer registers only then), fails if it cannot.
    let listening: Promise<Void>
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let transport: HTTP2ServerTransport.Posix
    /// When set, every connection and call runs on its one loop (``PeerConfiguration/grpcOneLoop``).
    private let oneLoop: MultiThreadedEventLoopGroup?

    /// `maxMessageBytes` is the largest request message accepted: a larger one is refused with
    /// RESOURCE_EXHAUSTED from its length prefix (``OversizeMessageGuard``), before it is read.
    /// The transport's own bound, a backstop (it resets the stream without a status), is twice
    /// that, which also bounds decompressed messages.
    init(host: String, port: Int, maxMessageBytes: Int, idleTimeout: Duration = .seconds(120), peer: String, services: [any RegistrableRPCService],
         interceptors: [any ServerInterceptor] = [], transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity = .plaintext,
         oneLoop: MultiThreadedEventLoopGroup? = nil, inferFastPath: (@Sendable () -> GRPCInferFastPath)? = nil,
         listening: Promise<Void>, logger: Logger) {
        self.oneLoop = oneLoop
        self.listening = listening
        self.host = host
        self.port = port
        self.logger = logger
        transport = HTTP2ServerTransport.Posix(
            address: host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port),
            transportSecurity: transportSecurity,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = Self.transportLimit(maxMessageBytes)
                config.connection.maxIdleTime = idleTimeout
                config.http2.maxConcurrentStreams = 1024
                config.connection.flushCoalescing = nil
                config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
                    let addGuard: @Sendable () throws -> Void = {
                        let pipeline = channel.pipeline.syncOperations
                        if let inferFastPath { try pipeline.addHandler(inferFastPath(), position: .first) }
                        try pipeline.addHandler(OversizeMessageGuard(limit: maxMessageBytes, peer: peer), position: .first)
                    }
                    // Called on the stream's loop: adding it there spares a scheduled task per call.
                    guard channel.eventLoop.inEventLoop else { return channel.eventLoop.submit(addGuard) }
                    return channel.eventLoop.makeCompletedFuture(withResultOf: addGuard)
                }
            },
            eventLoopGroup: oneLoop ?? .singletonMultiThreadedEventLoopGroup
        )
        server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
    }

    static func transportLimit(_ maxMessageBytes: Int) -> Int {
        let (doubled, overflow) = maxMessageBytes.multipliedReportingOverflow(by: 2)
        return overflow ? Int(UInt32.max) : min(doubled, Int(UInt32.max))
    }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    do {
                        // The tasks the transport starts per connection and per call inherit
                        // the preference: they run on the loop their channels belong to.
                        if let loop = self.oneLoop?.next() {
                            try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) { try await self.server.serve() }
                        } else {
                            try await withTaskExecutorPreference(LoopFollowingTaskExecutor(group: .singleton)) { try await self.server.serve() }
                        }
                    } catch {
                        throw GRPCListenError(host: self.host, port: self.port, cause: error)
                    }
                }
                do {
                    let address = try await transport.listeningAddress
                    logger.info("gRPC server listening", metadata: ["address": "\(address)"])
                    listening.succeed(())
                } catch {
                    listening.fail(GRPCListenError(host: host, port: port, cause: error))
                }
            }
        } onGracefulShutdown: {
            self.server.beginGracefulShutdown()
        }
    }
}

struct GRPCListenError: Error, CustomStringConvertible {
    let host: String
    let port: Int
    let cause: any Error

    var description: String {
        var reason = "\(cause)"
        if let error = cause as? RuntimeError, let inner = error.cause { reason = "\(inner)" }
        return "cannot serve gRPC on \(host):\(port) (--grpc-port): \(reason)"
    }
}

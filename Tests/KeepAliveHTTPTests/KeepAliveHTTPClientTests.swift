import KeepAliveHTTP
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The keep-alive client against a small HTTP server on loopback that counts its connections.
@Suite struct KeepAliveHTTPClientTests {
    @Test func sequentialRequestsShareOneConnectionAndRelayHeadersAndBody() async throws {
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20))
            defer { client.close() }
            for index in 0..<3 {
                var request = KeepAliveHTTPClient.Request(method: .POST, path: "/echo", body: ByteBuffer(string: "body \(index)"))
                request.headers.add(name: "x-test", value: "\(index)")
                let response = try await client.send(request, to: server.address, timeout: .seconds(30))
                #expect(response.status == 200)
                #expect(String(buffer: response.body) == "body \(index)")
                #expect(response.headers.first(name: "x-echoed") == "\(index)")
            }
            #expect(server.connections == 1)
        }
    }

    @Test func aResponseLargerThanTheLimitFailsAsTooLarge() async throws {
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1000))
            defer { client.close() }
            await #expect { try await client.send(.init(method: .GET, path: "/big"), to: server.address, timeout: .seconds(30)) } throws: { error in
                (error as? KeepAliveHTTPClient.Failure)?.kind == .tooLarge
            }
        }
    }

    @Test func noAnswerInTimeFailsAsATimeoutAndTheNextRequestGetsANewConnection() async throws {
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20))
            defer { client.close() }
            await #expect { try await client.send(.init(method: .GET, path: "/never"), to: server.address, timeout: .milliseconds(200)) } throws: { error in
                (error as? KeepAliveHTTPClient.Failure)?.kind == .timeout
            }
            let response = try await client.send(.init(method: .POST, path: "/echo", body: ByteBuffer(string: "after")), to: server.address, timeout: .seconds(30))
            #expect(String(buffer: response.body) == "after")
            #expect(server.connections == 2)
        }
    }

    @Test func aServerThatFailsItsLivenessCheckFailsTheRequestAsUnresponsiveLongBeforeTheTimeout() async throws {
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20))
            defer { client.close() }
            let checks = CountedCheck(answer: false)
            let started = ContinuousClock.now
            await #expect {
                try await client.send(.init(method: .GET, path: "/never"), to: server.address, timeout: .seconds(30), watch: checks.watch(every: .milliseconds(50)))
            } throws: { error in
                (error as? KeepAliveHTTPClient.Failure)?.kind == .unresponsive
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(checks.asked == 1)
            // The abandoned connection is closed, not reused.
            let response = try await client.send(.init(method: .POST, path: "/echo", body: ByteBuffer(string: "after")), to: server.address, timeout: .seconds(30))
            #expect(String(buffer: response.body) == "after")
            #expect(server.connections == 2)
        }
    }

    @Test func aSlowAnswerFromALiveServerIsWaitedForAndTheChecksStopWithIt() async throws {
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20))
            defer { client.close() }
            let checks = CountedCheck(answer: true)
            let watch = checks.watch(every: .milliseconds(40))
            // The answer is held until two checks were asked (not for a fixed time: a test run
            // whose concurrency pool is busy with other tests may start a check seconds late).
            async let answer = client.send(.init(method: .GET, path: "/held"), to: server.address, timeout: .seconds(60), watch: watch)
            let patience = ContinuousClock.now + .seconds(30)
            while checks.asked < 2, ContinuousClock.now < patience { try await Task.sleep(for: .milliseconds(20)) }
            server.releaseHeld()
            let response = try await answer
            #expect(String(buffer: response.body) == "held")
            #expect(checks.asked >= 2)
            // A check already started when the answer came may still finish; none starts after.
            try await Task.sleep(for: .milliseconds(100))
            let asked = checks.asked
            try await Task.sleep(for: .milliseconds(200))
            #expect(checks.asked == asked)
            _ = try await client.send(.init(method: .GET, path: "/echo"), to: server.address, timeout: .seconds(30), watch: watch)
            #expect(server.connections == 1)
        }
    }

    @Test func nothingListeningFailsAsARefusedConnect() async throws {
        let port = try await unusedLoopbackPort()
        let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20))
        defer { client.close() }
        await #expect { try await client.send(.init(method: .GET, path: "/"), to: .init(host: "127.0.0.1", port: port), timeout: .seconds(30)) } throws: { error in
            guard let failure = error as? KeepAliveHTTPClient.Failure else { return false }
            return failure.kind == .connect && failure.refused
        }
    }

    @Test func aConnectionTheServerClosesOrThatIdledTooLongIsNotReused() async throws {
        try await withServer { server in
            var configuration = KeepAliveHTTPClient.Configuration(maxResponseBytes: 1 << 20)
            configuration.idleTimeout = .milliseconds(100)
            let client = KeepAliveHTTPClient(configuration: configuration)
            defer { client.close() }
            _ = try await client.send(.init(method: .GET, path: "/close"), to: server.address, timeout: .seconds(30))
            _ = try await client.send(.init(method: .GET, path: "/echo"), to: server.address, timeout: .seconds(30))
            #expect(server.connections == 2)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.send(.init(method: .GET, path: "/echo"), to: server.address, timeout: .seconds(30))
            #expect(server.connections == 3)
        }
    }

    /// A handler on an event loop sends without a task: each loop's requests share a connection
    /// of that loop, the answer arrives there, and a timeout fails the request as one.
    @Test func requestsSentFromALoopUseThatLoopsConnectionAndCompleteOnIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20), group: group)
            defer { client.close() }
            let loops = Array(group.makeIterator())
            for round in 0..<2 {
                for (index, loop) in loops.enumerated() {
                    let request = KeepAliveHTTPClient.Request(method: .POST, path: "/echo", body: ByteBuffer(string: "\(round) \(index)"))
                    let answered: (String, Bool) = try await withCheckedThrowingContinuation { continuation in
                        client.send(request, to: server.address, timeout: .seconds(30), on: loop) { result in
                            continuation.resume(with: result.map { (String(buffer: $0.body), loop.inEventLoop) })
                        }
                    }
                    #expect(answered.0 == "\(round) \(index)")
                    #expect(answered.1, "the answer completed off the request's loop")
                }
            }
            #expect(server.connections == loops.count)
            let late: Result<KeepAliveHTTPClient.Response, any Error> = await withCheckedContinuation { continuation in
                client.send(.init(method: .GET, path: "/never"), to: server.address, timeout: .milliseconds(200), on: loops[0]) {
                    continuation.resume(returning: $0)
                }
            }
            #expect(throws: KeepAliveHTTPClient.Failure.self) { try late.get() }
            if case .failure(let failure as KeepAliveHTTPClient.Failure) = late { #expect(failure.kind == .timeout) }
        }
        try await group.shutdownGracefully()
    }

    @Test func cancellingTheWaitingTaskClosesItsConnection() async throws {
        try await withServer { server in
            let client = KeepAliveHTTPClient(configuration: .init(maxResponseBytes: 1 << 20))
            defer { client.close() }
            let waiting = Task { try await client.send(.init(method: .GET, path: "/never"), to: server.address, timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            let started = ContinuousClock.now
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(ContinuousClock.now - started < .seconds(10))
            // The cancelled request's connection was closed, not handed to the next request.
            let response = try await client.send(.init(method: .POST, path: "/echo", body: ByteBuffer(string: "next")), to: server.address, timeout: .seconds(30))
            #expect(String(buffer: response.body) == "next")
            #expect(server.connections == 2)
        }
    }
}

private final class ConnectionCounter: Sendable {
    let count = Atomic<Int>(0)
}

/// Runs `body` with an HTTP/1.1 server on 127.0.0.1: `/echo` answers with the request's body
/// and its `x-test` header as `x-echoed`, `/big` with 2,000 bytes, `/close` closes after
/// answering, `/held` answers `held` once the test calls
/// ``TestServerHandle/releaseHeld()``, `/never` never answers.
func withServer(_ body: (TestServerHandle) async throws -> Void) async throws {
    let counter = ConnectionCounter()
    let held = HeldAnswers()
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            counter.count.add(1, ordering: .relaxed)
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(TestResponder(held: held))
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let handle = TestServerHandle(channel: channel, counter: counter, held: held)
    do {
        try await body(handle)
    } catch {
        try? await channel.close()
        throw error
    }
    try await channel.close()
}

struct TestServerHandle: Sendable {
    let channel: any Channel
    fileprivate let counter: ConnectionCounter
    fileprivate let held: HeldAnswers
    var address: KeepAliveHTTPClient.Server { .init(host: "127.0.0.1", port: channel.localAddress!.port!) }
    var connections: Int { counter.count.load(ordering: .relaxed) }

    /// Answers the `/held` requests waiting so far.
    func releaseHeld() { held.releaseAll() }
}

/// `/held` requests waiting for their answer.
private final class HeldAnswers: Sendable {
    private let waiting = Mutex<[@Sendable () -> Void]>([])

    func hold(_ answer: @escaping @Sendable () -> Void) {
        waiting.withLock { $0.append(answer) }
    }

    func releaseAll() {
        let answers = waiting.withLock { waiting in
            defer { waiting.removeAll() }
            return waiting
        }
        for answer in answers { answer() }
    }
}

private final class TestResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let held: HeldAnswers
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(held: HeldAnswers) {
        self.held = held
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            var headers = HTTPHeaders()
            var reply = ByteBuffer()
            switch head.uri {
            case "/never": return
            case "/held":
                let loop = context.eventLoop
                let loopBound = NIOLoopBound((self, context), eventLoop: loop)
                held.hold {
                    loop.execute {
                        let (responder, context) = loopBound.value
                        responder.respond(ByteBuffer(string: "held"), headers: HTTPHeaders(), close: false, context: context)
                    }
                }
                return
            case "/big": reply = ByteBuffer(repeating: UInt8(ascii: "x"), count: 2000)
            case "/close": headers.add(name: "connection", value: "close")
            default:
                reply = body
                if let test = head.headers.first(name: "x-test") { headers.add(name: "x-echoed", value: test) }
            }
            respond(reply, headers: headers, close: head.uri == "/close", context: context)
        }
    }

    private func respond(_ reply: ByteBuffer, headers: HTTPHeaders, close: Bool, context: ChannelHandlerContext) {
        var headers = headers
        headers.add(name: "content-length", value: String(reply.readableBytes))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(reply))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if close { context.close(promise: nil) }
        }
    }
}

/// A loopback port nothing listens on: bound, then closed.
func unusedLoopbackPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}

/// A liveness check that always gives the same answer and counts how often it was asked.
final class CountedCheck: Sendable {
    let answer: Bool
    private let count = Atomic<Int>(0)

    init(answer: Bool) { self.answer = answer }

    var asked: Int { count.load(ordering: .relaxed) }

    func watch(every interval: Duration) -> KeepAliveHTTPClient.LivenessWatch {
        .init(interval: interval) {
            self.count.add(1, ordering: .relaxed)
            return self.answer
        }
    }
}

import AsyncHTTPClient
import KeepAliveHTTP
import Logging
import MeshCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OpenInference
import OpenInferenceGRPC
import Synchronization

/// Sends hops to other peers over keep-alive HTTP/1.1 connections of their own (TLS when the
/// mesh runs it) and relays the bytes; gossip, registration and liveness probes use
/// AsyncHTTPClient (``peers``, ``probes``).
public final class PeerForwarder: Sendable {
    /// Hops: a lean client on NIO channels, whose connections are kept per event loop so that a
    /// request handled on a loop makes its hop on that loop (``EventLoopExecutors``).
    let hops: KeepAliveHTTPClient
    let peers: PeerHTTP
    /// For liveness probes of peers (``PeerProbe``) only.
    let probes: PeerHTTP
    let selfID: PeerID
    let loadReports: PiggybackedLoadReports
    let credentials: PeerCredentials
    let clock: any PeerClock

    init(selfID: PeerID, maxResponseBytes: Int, loadReports: PiggybackedLoadReports, credentials: PeerCredentials, clock: any PeerClock,
         tls: (configuration: TLSConfiguration, context: NIOSSLContext)? = nil, connectTimeout: Duration = .seconds(1)) {
        var hopConfiguration = KeepAliveHTTPClient.Configuration(maxResponseBytes: maxResponseBytes)
        hopConfiguration.connectTimeout = connectTimeout
        hopConfiguration.maxIdlePerServer = 64
        hopConfiguration.tls = tls?.context
        hops = KeepAliveHTTPClient(configuration: hopConfiguration)
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls?.configuration
        configuration.httpVersion = .http1Only
        configuration.timeout.connect = .milliseconds(connectTimeout.milliseconds)
        // A refused connection must surface at once so the router can exclude the peer.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.connectionPool.idleTimeout = .seconds(60)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        // Hops are traced by the router's span and the traceparent put below; the client's own
        // spans would also trace gossip and probes as traces of their own.
        configuration.tracing.tracer = nil
        let scheme = tls == nil ? "http" : "https"
        self.peers = PeerHTTP(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), scheme: scheme)
        // Liveness probes get connections of their own: behind busy hops in the same pool they
        // would wait for a connection and time out, and a live peer would look frozen.
        self.probes = PeerHTTP(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), scheme: scheme)
        self.selfID = selfID
        self.loadReports = loadReports
        self.credentials = credentials
        self.clock = clock
    }

    public func shutdown() async throws {
        hops.close()
        try await peers.client.shutdown()
        try await probes.client.shutdown()
    }

    /// Relays one call to `peer` as a hop.
    func send(
        to peer: PeerID, at record: PeerRecord, method: HTTPMethod, path: String, headers: [(String, String)],
        body: ByteBuffer?, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant, liveness: HopLiveness?
    ) async throws -> HopResult<HTTPReply> {
        let (request, server) = try hopRequest(to: peer, at: record, method: method, path: path, headers: headers, body: body,
                                               hop: hop, excluded: excluded, deadline: deadline)
        do {
            let response = try await hops.send(request, to: server, timeout: max(.milliseconds(1), deadline - .now), watch: liveness?.watch)
            return result(of: response, from: peer)
        } catch let failure as KeepAliveHTTPClient.Failure {
            throw Self.error(for: failure, peer: peer)
        }
    }

    /// ``send(to:at:method:path:headers:body:hop:excluded:deadline:liveness:)`` without a task,
    /// from a handler on `loop`: the hop uses a connection of that loop and `completion` runs
    /// there.
    func send(
        to peer: PeerID, at record: PeerRecord, method: HTTPMethod, path: String, headers: [(String, String)],
        body: ByteBuffer?, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant, liveness: HopLiveness?,
        on loop: any EventLoop, then completion: @escaping @Sendable (Result<HopResult<HTTPReply>, any Error>) -> Void
    ) {
        let request: KeepAliveHTTPClient.Request, server: KeepAliveHTTPClient.Server
        do {
            (request, server) = try hopRequest(to: peer, at: record, method: method, path: path, headers: headers, body: body,
                                               hop: hop, excluded: excluded, deadline: deadline)
        } catch {
            return completion(.failure(error))
        }
        hops.send(request, to: server, timeout: max(.milliseconds(1), deadline - .now), watch: liveness?.watch, on: loop) { answered in
            completion(answered.map { self.result(of: $0, from: peer) }.mapError { error in
                (error as? KeepAliveHTTPClient.Failure).map { Self.error(for: $0, peer: peer) } ?? error
            })
        }
    }

    /// The hop's request: the call's headers and the routing headers, signed when the mesh
    /// has a secret, with the time left to its deadline.
    private func hopRequest(
        to peer: PeerID, at record: PeerRecord, method: HTTPMethod, path: String, headers: [(String, String)],
        body: ByteBuffer?, hop: Hop, excluded: Set<PeerID>, deadline: ContinuousClock.Instant
    ) throws -> (KeepAliveHTTPClient.Request, KeepAliveHTTPClient.Server) {
        guard let (host, port) = GRPCAddress.split(record.httpAddress) else {
            throw PeerUnreachable(peer: peer, reason: "its address \(record.httpAddress) is not host:port", refused: true)
        }
        var request = KeepAliveHTTPClient.Request(method: method, path: path, body: body)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: MeshHeaders.hop, value: hop.rawValue)
        let excludedText = excluded.isEmpty ? nil : excluded.map(\.rawValue).sorted().joined(separator: ",")
        if let excludedText { request.headers.replaceOrAdd(name: MeshHeaders.excluded, value: excludedText) }
        let parts = PeerOnlyRequest.restParts(method: method.rawValue, path: path, hop: hop.rawValue, excluded: excludedText)
        if let signature = credentials.sign(parts, peer: selfID, now: clock.now) {
            request.headers.replaceOrAdd(name: PeerCredentials.header, value: signature)
        }
        request.headers.replaceOrAdd(name: MeshHeaders.timeoutMillis, value: String(max(1, (deadline - .now).milliseconds)))
        MeshTracing.inject(into: &request.headers)
        return (request, .init(host: host, port: port))
    }

    /// What the peer's answer is: served, or declined with the reason its headers give. The
    /// load report it carries is delivered on the way.
    private func result(of response: KeepAliveHTTPClient.Response, from peer: PeerID) -> HopResult<HTTPReply> {
        loadReports.deliver(response.headers.first(name: MeshHeaders.load), from: peer)
        let replyHeaders = response.headers.filter { $0.name.lowercased() != MeshHeaders.load }.map { ($0.name.lowercased(), $0.value) }
        let reply = HTTPReply(status: response.status, headers: replyHeaders, body: response.body)
        if let outcome = reply.header(MeshHeaders.route).flatMap(HopDecline.Outcome.init(rawValue:)) {
            let revision = reply.header(MeshHeaders.revision).flatMap(Int64.init)
            return .declined(HopDecline(outcome: outcome, revision: revision), message: reply.errorMessage)
        }
        return .served(reply)
    }

    private static func error(for failure: KeepAliveHTTPClient.Failure, peer: PeerID) -> any Error {
        switch failure.kind {
        case .timeout:
            return MeshError.deadlineExceeded("peer \(peer) did not answer before the request's deadline")
        case .connect:
            return PeerUnreachable(peer: peer, reason: failure.refused ? "connection refused" : failure.description, refused: true)
        case .closed:
            return PeerUnreachable(peer: peer, reason: "connection closed before the answer", refused: false)
        case .tooLarge:
            return PeerUnreachable(peer: peer, reason: failure.description, refused: false)
        case .unresponsive:
            return PeerUnreachable(peer: peer, reason: HopLiveness.frozenReason, refused: true, mayHaveRun: true)
        }
    }
}
